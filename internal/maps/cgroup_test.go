package maps

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

func TestCgroupArray(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want string // "" for success
	}{
		{"ok", Spec{Name: "cg", Type: ebpf.CGroupArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, ""},
		{"value size", Spec{Name: "cg", Type: ebpf.CGroupArray, KeySize: 4, ValueSize: 8, MaxEntries: 2}, "4-byte keys and values, not 4 and 8"},
		{"flags", Spec{Name: "cg", Type: ebpf.CGroupArray, KeySize: 4, ValueSize: 4, MaxEntries: 2, Flags: FlagRdOnlyProg}, "not supported by CGroupArray maps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(&tc.spec)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			key := func(i uint32) []byte { return binary.NativeEndian.AppendUint32(nil, i) }
			val := key(7)
			steps := []struct {
				what string
				err  error
				want error
			}{
				{"update 0", m.UpdateUser(key(0), val, 0), nil},
				{"update 2 (past max_entries)", m.UpdateUser(key(2), val, 0), ErrFull},
				{"update with BPF_NOEXIST", m.UpdateUser(key(1), val, UpdateNoExist), ErrInvalid},
				{"lookup from Go", m.LookupUser(key(0), make([]byte, 4)), ErrNotSupp},
				{"update from a program", m.Update(key(0), val, 0, 0), ErrNotSupp},
				{"delete 0", m.Delete(key(0)), nil},
				{"delete 0 again", m.Delete(key(0)), ErrKeyNotExist},
			}
			for _, s := range steps {
				if !errors.Is(s.err, s.want) && s.err != s.want {
					t.Errorf("%s: %v, want %v", s.what, s.err, s.want)
				}
			}
			if p := m.Lookup(key(0), 0); p != nil {
				t.Error("a program can address a cgroup array's value")
			}
			next := make([]byte, 4)
			var keys []uint32
			for k := []byte(nil); m.NextKey(k, next) == nil; k = append([]byte(nil), next...) {
				keys = append(keys, binary.NativeEndian.Uint32(next))
			}
			if len(keys) != 2 || keys[0] != 0 || keys[1] != 1 {
				t.Errorf("keys %v, want [0 1]", keys)
			}
		})
	}
}
