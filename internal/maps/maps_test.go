package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func mustNew(t testing.TB, s Spec) Map {
	t.Helper()
	m, err := New(&s)
	if err != nil {
		t.Fatalf("New(%+v): %v", s, err)
	}
	t.Cleanup(m.Close)
	return m
}

// checkErr fails unless err has errno want (0: no error).
func checkErr(t testing.TB, what string, err error, want errno.Errno) {
	t.Helper()
	switch {
	case want == 0 && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != 0 && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want %v (%d)", what, err, want, want)
	}
}

// readPtr reads n bytes at p.
func readPtr(p unsafe.Pointer, n int) []byte {
	b := make([]byte, n)
	copyFromValue(b, p)
	return b
}

func TestNewValidation(t *testing.T) {
	inner := &Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	tests := []struct {
		name  string
		spec  Spec
		errno errno.Errno
		msg   string // a part of the message
	}{
		{"array ok", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 3, MaxEntries: 10}, 0, ""},
		{"array key 8", Spec{Type: ebpf.Array, KeySize: 8, ValueSize: 8, MaxEntries: 10}, errno.EINVAL, "key_size"},
		{"array value 0", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 0, MaxEntries: 10}, errno.EINVAL, "value_size"},
		{"array max 0", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8}, errno.EINVAL, "max_entries"},
		{"array no prealloc", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc}, errno.EINVAL, "flags"},
		{"array mmapable", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagMmapable}, 0, ""},
		{"array rdonly+wronly prog", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdOnlyProg | FlagWrOnlyProg}, errno.EINVAL, "flags"},
		{"array map_extra", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, MapExtra: 1}, errno.EINVAL, "map_extra"},
		{"percpu array no CPUs", Spec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1}, errno.EINVAL, "CPUs"},
		{"percpu array huge value", Spec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 40000, MaxEntries: 1, CPUs: 2}, errno.E2BIG, "value_size"},
		{"percpu array mmapable", Spec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1, CPUs: 2, Flags: FlagMmapable}, errno.EINVAL, "MMAPABLE"},
		{"array too big", Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 1 << 20, MaxEntries: 1 << 20}, errno.ENOMEM, "bytes"},
		{"hash ok", Spec{Type: ebpf.Hash, KeySize: 3, ValueSize: 5, MaxEntries: 7}, 0, ""},
		{"hash no prealloc", Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 7, Flags: FlagNoPrealloc | FlagZeroSeed}, 0, ""},
		{"hash key 0", Spec{Type: ebpf.Hash, KeySize: 0, ValueSize: 8, MaxEntries: 7}, errno.EINVAL, "key_size"},
		{"hash value 0", Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 0, MaxEntries: 7}, errno.EINVAL, "value_size"},
		{"hash mmapable", Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 7, Flags: FlagMmapable}, errno.EINVAL, "flags"},
		{"hash common lru", Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 7, Flags: FlagNoCommonLRU}, errno.EINVAL, "NO_COMMON_LRU"},
		{"hash huge", Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4 << 20, MaxEntries: 7}, errno.E2BIG, "too large"},
		{"hash too many", Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1<<31 + 1}, errno.E2BIG, "max_entries"},
		{"lru no prealloc", Spec{Type: ebpf.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 7, Flags: FlagNoPrealloc}, errno.EOPNOTSUPP, "PREALLOC"},
		{"lru common", Spec{Type: ebpf.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 7, Flags: FlagNoCommonLRU}, 0, ""},
		{"lru percpu ok", Spec{Type: ebpf.LRUCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 7, CPUs: 3}, 0, ""},
		{"percpu hash numa", Spec{Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 7, CPUs: 3, Flags: FlagNUMANode}, errno.EINVAL, "NUMA"},
		{"lpm ok", Spec{Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 7, Flags: FlagNoPrealloc}, 0, ""},
		{"lpm prealloc", Spec{Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 7}, errno.EINVAL, "NO_PREALLOC"},
		{"lpm key 4", Spec{Type: ebpf.LPMTrie, KeySize: 4, ValueSize: 8, MaxEntries: 7, Flags: FlagNoPrealloc}, errno.EINVAL, "key_size"},
		{"lpm key 261", Spec{Type: ebpf.LPMTrie, KeySize: 261, ValueSize: 8, MaxEntries: 7, Flags: FlagNoPrealloc}, errno.EINVAL, "key_size"},
		{"lpm value 0", Spec{Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 0, MaxEntries: 7, Flags: FlagNoPrealloc}, errno.EINVAL, "value_size"},
		{"queue ok", Spec{Type: ebpf.Queue, ValueSize: 8, MaxEntries: 7}, 0, ""},
		{"queue key", Spec{Type: ebpf.Queue, KeySize: 4, ValueSize: 8, MaxEntries: 7}, errno.EINVAL, "key_size"},
		{"stack value 0", Spec{Type: ebpf.Stack, MaxEntries: 7}, errno.EINVAL, "value_size"},
		{"stack zero seed", Spec{Type: ebpf.Stack, ValueSize: 8, MaxEntries: 7, Flags: FlagZeroSeed}, errno.EINVAL, "flags"},
		{"ringbuf ok", Spec{Type: ebpf.RingBuf, MaxEntries: 4096}, 0, ""},
		{"ringbuf not pow2", Spec{Type: ebpf.RingBuf, MaxEntries: 3 * 4096}, errno.EINVAL, "power of 2"},
		{"ringbuf small", Spec{Type: ebpf.RingBuf, MaxEntries: 2048}, errno.EINVAL, "page size"},
		{"ringbuf key", Spec{Type: ebpf.RingBuf, KeySize: 4, MaxEntries: 4096}, errno.EINVAL, "key_size"},
		{"ringbuf value", Spec{Type: ebpf.RingBuf, ValueSize: 4, MaxEntries: 4096}, errno.EINVAL, "value_size"},
		{"ringbuf flags", Spec{Type: ebpf.RingBuf, MaxEntries: 4096, Flags: FlagRdOnlyProg}, errno.EINVAL, "flags"},
		{"bloom ok", Spec{Type: ebpf.BloomFilter, ValueSize: 8, MaxEntries: 100, MapExtra: 3}, 0, ""},
		{"bloom key", Spec{Type: ebpf.BloomFilter, KeySize: 4, ValueSize: 8, MaxEntries: 100}, errno.EINVAL, "key_size"},
		{"bloom extra", Spec{Type: ebpf.BloomFilter, ValueSize: 8, MaxEntries: 100, MapExtra: 0x10}, errno.EINVAL, "map_extra"},
		{"bloom value 0", Spec{Type: ebpf.BloomFilter, MaxEntries: 100}, errno.EINVAL, "value_size"},
		{"prog array ok", Spec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 8}, 0, ""},
		{"prog array value 8", Spec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 8, MaxEntries: 8}, errno.EINVAL, "value_size"},
		{"prog array rdonly prog", Spec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 8, Flags: FlagRdOnlyProg}, errno.EINVAL, "flags"},
		{"array of maps ok", Spec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 8, InnerMap: inner}, 0, ""},
		{"array of maps no inner", Spec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 8}, errno.EINVAL, "InnerMap"},
		{"array of maps nested", Spec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 8,
			InnerMap: &Spec{Type: ebpf.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1}}, errno.EINVAL, "InnerMap"},
		{"hash of maps ok", Spec{Type: ebpf.HashOfMaps, KeySize: 12, ValueSize: 4, MaxEntries: 8, InnerMap: inner}, 0, ""},
		{"hash of maps value 8", Spec{Type: ebpf.HashOfMaps, KeySize: 12, ValueSize: 8, MaxEntries: 8, InnerMap: inner}, errno.EINVAL, "value_size"},
		{"unsupported", Spec{Type: ebpf.CPUMap, KeySize: 4, ValueSize: 4, MaxEntries: 8}, errno.EINVAL, "CPUMap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			m, err := New(&s)
			if m != nil {
				defer m.Close()
			}
			checkErr(t, "New", err, tt.errno)
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
			if err == nil && m.Spec().Type != tt.spec.Type {
				t.Errorf("Spec().Type = %v", m.Spec().Type)
			}
		})
	}
	if _, err := New(nil); !errors.Is(err, errno.EINVAL) {
		t.Errorf("New(nil) = %v", err)
	}
}

func TestHandles(t *testing.T) {
	a := mustNew(t, Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	b := mustNew(t, Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if a.Handle() == b.Handle() {
		t.Fatal("two maps share a handle")
	}
	if ByHandle(a.Handle()) != a || ByHandle(b.Handle()) != b {
		t.Fatal("ByHandle does not find the maps")
	}
	h := a.Handle()
	a.Close()
	a.Close() // twice is fine
	if ByHandle(h) != nil {
		t.Fatal("a closed map is still registered")
	}
	if ByHandle(b.Handle()) != b {
		t.Fatal("closing a unregistered b")
	}
}

func TestErrorMatching(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	err := m.Delete(u32(1))
	if !errors.Is(err, errno.ENOENT) || !errors.Is(err, ebpf.ErrKeyNotExist) || errors.Is(err, ebpf.ErrKeyExist) {
		t.Fatalf("missing key: %v does not match ENOENT/ErrKeyNotExist only", err)
	}
	checkErr(t, "update", m.UpdateUser(u32(1), u64(1), UpdateAny), 0)
	err = m.UpdateUser(u32(1), u64(1), UpdateNoExist)
	if !errors.Is(err, errno.EEXIST) || !errors.Is(err, ebpf.ErrKeyExist) {
		t.Fatalf("existing key: %v does not match EEXIST/ErrKeyExist", err)
	}
	// Wrong sizes from Go code are EINVAL, not a panic.
	checkErr(t, "short key", m.UpdateUser(u32(1)[:3], u64(1), UpdateAny), errno.EINVAL)
	checkErr(t, "long value", m.UpdateUser(u32(1), make([]byte, 9), UpdateAny), errno.EINVAL)
	checkErr(t, "short value", m.LookupUser(u32(1), make([]byte, 7)), errno.EINVAL)
	checkErr(t, "next key size", m.NextKey(nil, make([]byte, 8)), errno.EINVAL)
	a := mustNew(t, Spec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 1, CPUs: 2})
	checkErr(t, "per-CPU value", a.LookupUser(u32(0), make([]byte, 8)), errno.EINVAL)
	checkErr(t, "per-CPU value", a.LookupUser(u32(0), make([]byte, 16)), 0)
}

// step is one operation of a semantics table.
type step struct {
	op    string // update, updateUser, lookup, lookupUser, delete, next
	key   []byte
	val   []byte
	flags uint64
	cpu   int
	err   errno.Errno
	want  []byte // value read or next key; for lookup nil means a nil pointer
}

func runSteps(t *testing.T, m Map, steps []step) {
	t.Helper()
	for i, s := range steps {
		var err error
		switch s.op {
		case "update":
			err = m.Update(s.key, s.val, s.flags, s.cpu)
		case "updateUser":
			err = m.UpdateUser(s.key, s.val, s.flags)
		case "delete":
			err = m.Delete(s.key)
		case "lookup":
			p := m.Lookup(s.key, s.cpu)
			if (p == nil) != (s.want == nil) {
				t.Fatalf("step %d: lookup(%x) = %v, want nil: %v", i, s.key, p, s.want == nil)
			}
			if p != nil {
				if got := readPtr(p, len(s.want)); !bytes.Equal(got, s.want) {
					t.Fatalf("step %d: lookup(%x) reads %x, want %x", i, s.key, got, s.want)
				}
				if !inRegions(m, p, len(s.want)) {
					t.Fatalf("step %d: lookup(%x) points outside the map's regions", i, s.key)
				}
			}
			continue
		case "lookupUser":
			buf := make([]byte, len(s.want))
			if s.err != 0 {
				buf = make([]byte, valueBytes(m))
			}
			err = m.LookupUser(s.key, buf)
			if err == nil && !bytes.Equal(buf, s.want) {
				t.Fatalf("step %d: lookupUser(%x) = %x, want %x", i, s.key, buf, s.want)
			}
		case "next":
			buf := make([]byte, m.Spec().KeySize)
			err = m.NextKey(s.key, buf)
			if err == nil && !bytes.Equal(buf, s.want) {
				t.Fatalf("step %d: next(%x) = %x, want %x", i, s.key, buf, s.want)
			}
		default:
			t.Fatalf("step %d: unknown op %q", i, s.op)
		}
		checkErr(t, s.op, err, s.err)
	}
}

// valueBytes is the size of a user-side value.
func valueBytes(m Map) int {
	s := m.Spec()
	if IsPerCPU(s.Type) {
		return s.CPUs * int(ValueStride(s.ValueSize))
	}
	return int(s.ValueSize)
}

// inRegions reports whether n bytes at p lie in one of m's regions.
func inRegions(m Map, p unsafe.Pointer, n int) bool {
	for _, r := range m.Regions() {
		if r.Pointer(uint64(uintptr(p)), uint64(n)) != nil {
			return r.Writable
		}
	}
	return false
}

// cat concatenates byte slices.
func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
