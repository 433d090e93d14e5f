package maps

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

func TestStackTraceSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want string // "" for success
	}{
		{"ok", Spec{Type: ebpf.StackTrace, KeySize: 4, ValueSize: 8 * 127, MaxEntries: 100}, ""},
		{"build IDs", Spec{Type: ebpf.StackTrace, KeySize: 4, ValueSize: 64, MaxEntries: 1, Flags: FlagStackBuildID}, ""},
		{"key size", Spec{Type: ebpf.StackTrace, KeySize: 8, ValueSize: 8, MaxEntries: 1}, "4-byte keys"},
		{"value not a multiple of 8", Spec{Type: ebpf.StackTrace, KeySize: 4, ValueSize: 12, MaxEntries: 1}, "multiple of 8"},
		{"too deep", Spec{Type: ebpf.StackTrace, KeySize: 4, ValueSize: 8 * 128, MaxEntries: 1}, "128 frames, more than perf_event_max_stack (127)"},
		{"build ID entries", Spec{Type: ebpf.StackTrace, KeySize: 4, ValueSize: 40, MaxEntries: 1, Flags: FlagStackBuildID}, "whole 32-byte entries"},
		{"flags", Spec{Type: ebpf.StackTrace, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdOnlyProg}, "not supported by StackTrace maps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Name = "stacks"
			m, err := New(&tc.spec)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				m.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v, want EINVAL containing %q", err, tc.want)
			}
		})
	}
}

// TestStackTraceIDs: IDs are stable, listed by NextKey, freed by Delete;
// the user cannot store stacks.
func TestStackTraceIDs(t *testing.T) {
	m, err := New(&Spec{Name: "stacks", Type: ebpf.StackTrace, KeySize: 4, ValueSize: 16, MaxEntries: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st := m.(*StackTrace)
	ids := map[uint32][]uint64{}
	for _, ips := range [][]uint64{{1, 2}, {3}, {4, 5}} {
		id, e := st.StackID(ips, 0)
		if e != nil {
			t.Fatal(e)
		}
		if again, e := st.StackID(ips, 0); e != nil || again != id {
			t.Errorf("stack %v: ID %d then %d, %v", ips, id, again, e)
		}
		ids[id] = ips
	}
	if _, e := st.StackID(nil, 0); e == nil || e.Errno != 14 {
		t.Errorf("empty stack: %v, want EFAULT", e)
	}
	var listed int
	key := []byte(nil)
	next := make([]byte, 4)
	for m.NextKey(key, next) == nil {
		id := binary.NativeEndian.Uint32(next)
		ips, ok := ids[id]
		if !ok {
			t.Fatalf("NextKey gave %d, not an ID of the stacks stored", id)
		}
		v := make([]byte, 16)
		if err := m.LookupUser(next, v); err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 16)
		for i, ip := range ips {
			binary.NativeEndian.PutUint64(want[8*i:], ip)
		}
		if string(v) != string(want) {
			t.Errorf("stack %d: %x, want %x", id, v, want)
		}
		listed++
		key = append([]byte(nil), next...)
	}
	if listed != len(ids) {
		t.Errorf("NextKey listed %d stacks, want %d", listed, len(ids))
	}
	for id := range ids {
		k := binary.NativeEndian.AppendUint32(nil, id)
		if err := m.Delete(k); err != nil {
			t.Fatal(err)
		}
		if err := m.Delete(k); !errors.Is(err, ErrKeyNotExist) {
			t.Errorf("second delete of %d: %v, want ENOENT", id, err)
		}
	}
	if err := m.UpdateUser(make([]byte, 4), make([]byte, 16), 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("user update: %v, want EINVAL", err)
	}
}
