package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sort"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

func TestArraySemantics(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 6, MaxEntries: 3})
	v := []byte{1, 2, 3, 4, 5, 6}
	w := []byte{9, 9, 9, 9, 9, 9}
	zero := make([]byte, 6)
	runSteps(t, m, []step{
		{op: "lookup", key: u32(0), want: zero},
		{op: "lookup", key: u32(3)},
		{op: "lookupUser", key: u32(2), want: zero},
		{op: "lookupUser", key: u32(3), err: errno.ENOENT},
		{op: "update", key: u32(1), val: v},
		{op: "lookup", key: u32(1), want: v},
		{op: "updateUser", key: u32(1), val: w, flags: UpdateExist},
		{op: "lookupUser", key: u32(1), want: w},
		{op: "update", key: u32(1), val: v, flags: UpdateNoExist, err: errno.EEXIST},
		{op: "updateUser", key: u32(1), val: v, flags: UpdateNoExist, err: errno.EEXIST},
		{op: "update", key: u32(3), val: v, err: errno.E2BIG},
		{op: "updateUser", key: u32(1 << 31), val: v, err: errno.E2BIG},
		{op: "update", key: u32(0), val: v, flags: 3, err: errno.EINVAL},
		{op: "update", key: u32(0), val: v, flags: UpdateLock, err: errno.EINVAL},
		{op: "update", key: u32(0), val: v, flags: 8, err: errno.EINVAL},
		{op: "delete", key: u32(0), err: errno.EINVAL},
		{op: "delete", key: u32(7), err: errno.EINVAL},
		{op: "next", key: nil, want: u32(0)},
		{op: "next", key: u32(0), want: u32(1)},
		{op: "next", key: u32(1), want: u32(2)},
		{op: "next", key: u32(2), err: errno.ENOENT},
		{op: "next", key: u32(3), want: u32(0)},
		{op: "next", key: u32(1 << 30), want: u32(0)},
	})
	// Values are 8-byte aligned and ValueStride apart.
	p0, p1 := m.Lookup(u32(0), 0), m.Lookup(u32(1), 0)
	if uintptr(p0)%8 != 0 || uintptr(p1)-uintptr(p0) != 8 {
		t.Fatalf("slots at %p and %p: want 8-aligned, 8 apart", p0, p1)
	}
	if rs := m.Regions(); len(rs) != 1 || rs[0].Size != 24 || !rs[0].Writable {
		t.Fatalf("Regions = %+v", rs)
	}
	it := m.(Iterable)
	var keys []uint32
	n := it.ForEach(0, func(k []byte, v unsafe.Pointer) bool {
		keys = append(keys, binary.NativeEndian.Uint32(k))
		return len(keys) < 2
	})
	if n != 2 || len(keys) != 2 || keys[1] != 1 {
		t.Fatalf("ForEach stopped after %d: %v", n, keys)
	}
}

func TestPerCPUArraySemantics(t *testing.T) {
	const cpus = 3
	m := mustNew(t, Spec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 2, CPUs: cpus})
	all := cat(u32(1), u32(0), u32(2), u32(0), u32(3), u32(0)) // 3 CPUs, stride 8
	runSteps(t, m, []step{
		{op: "lookupUser", key: u32(0), want: make([]byte, 24)},
		{op: "updateUser", key: u32(0), val: all},
		{op: "lookupUser", key: u32(0), want: all},
		{op: "lookup", key: u32(0), cpu: 0, want: u32(1)},
		{op: "lookup", key: u32(0), cpu: 2, want: u32(3)},
		{op: "lookup", key: u32(0), cpu: 3},
		{op: "update", key: u32(0), val: u32(7), cpu: 1},
		{op: "lookupUser", key: u32(0), want: cat(u32(1), u32(0), u32(7), u32(0), u32(3), u32(0))},
		{op: "update", key: u32(0), val: u32(7), cpu: 5, err: errno.EINVAL},
		{op: "update", key: u32(1), val: u32(7), flags: UpdateNoExist, err: errno.EEXIST},
	})
	var seen int
	m.(Iterable).ForEach(2, func(k []byte, v unsafe.Pointer) bool {
		if binary.NativeEndian.Uint32(k) == 0 && binary.NativeEndian.Uint32(readPtr(v, 4)) != 3 {
			t.Errorf("ForEach on CPU 2 sees %x", readPtr(v, 4))
		}
		seen++
		return true
	})
	if seen != 2 {
		t.Fatalf("ForEach visited %d elements", seen)
	}
}

func TestHashSemantics(t *testing.T) {
	for _, typ := range []ebpf.MapType{ebpf.Hash, ebpf.LRUHash} {
		t.Run(typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Type: typ, KeySize: 5, ValueSize: 3, MaxEntries: 2})
			k1, k2, k3 := []byte("key01"), []byte("key02"), []byte("key03")
			a, b := []byte{1, 2, 3}, []byte{4, 5, 6}
			steps := []step{
				{op: "lookup", key: k1},
				{op: "lookupUser", key: k1, err: errno.ENOENT},
				{op: "delete", key: k1, err: errno.ENOENT},
				{op: "next", key: nil, err: errno.ENOENT},
				{op: "update", key: k1, val: a, flags: UpdateExist, err: errno.ENOENT},
				{op: "update", key: k1, val: a, flags: UpdateNoExist},
				{op: "lookup", key: k1, want: a},
				{op: "update", key: k1, val: b, flags: UpdateNoExist, err: errno.EEXIST},
				{op: "updateUser", key: k1, val: b, flags: UpdateExist},
				{op: "lookupUser", key: k1, want: b},
				{op: "updateUser", key: k2, val: a},
				{op: "update", key: k1, val: a, flags: 3, err: errno.EINVAL},
				{op: "update", key: k1, val: a, flags: UpdateLock, err: errno.EINVAL},
				{op: "updateUser", key: k1, val: a}, // replacing works when full
			}
			if typ == ebpf.Hash {
				steps = append(steps,
					step{op: "update", key: k3, val: a, err: errno.E2BIG},
					step{op: "updateUser", key: k3, val: a, flags: UpdateNoExist, err: errno.E2BIG},
					step{op: "update", key: k3, val: a, flags: UpdateExist, err: errno.ENOENT},
					step{op: "delete", key: k2},
					step{op: "lookup", key: k2},
					step{op: "update", key: k3, val: b},
					step{op: "lookup", key: k3, want: b},
				)
			}
			runSteps(t, m, steps)
		})
	}
}

// collectKeys walks NextKey from the start.
func collectKeys(t *testing.T, m Map) [][]byte {
	t.Helper()
	var keys [][]byte
	var key []byte
	for i := 0; ; i++ {
		next := make([]byte, m.Spec().KeySize)
		err := m.NextKey(key, next)
		if errors.Is(err, ErrKeyNotExist) {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > int(m.Spec().MaxEntries) {
			t.Fatal("NextKey does not end")
		}
		keys = append(keys, next)
		key = next
	}
}

func TestHashNextKey(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1000, Flags: FlagZeroSeed})
	want := map[uint32]bool{}
	for i := uint32(0); i < 1000; i += 3 {
		checkErr(t, "update", m.UpdateUser(u32(i), u64(uint64(i)), UpdateNoExist), 0)
		want[i] = true
	}
	order := collectKeys(t, m)
	if len(order) != len(want) {
		t.Fatalf("NextKey gave %d keys, want %d", len(order), len(want))
	}
	for _, k := range order {
		i := binary.NativeEndian.Uint32(k)
		if !want[i] {
			t.Fatalf("unexpected or repeated key %d", i)
		}
		delete(want, i)
	}
	// The order is stable, and a missing key restarts at the first.
	if again := collectKeys(t, m); !equalKeys(order, again) {
		t.Fatal("NextKey order changed without updates")
	}
	first := make([]byte, 4)
	checkErr(t, "next", m.NextKey(u32(1), first), 0)
	if !bytes.Equal(first, order[0]) {
		t.Fatalf("NextKey of a missing key = %x, want the first key %x", first, order[0])
	}
	// Deleting during iteration (the current key) still visits the rest.
	var key []byte
	count := 0
	for {
		next := make([]byte, 4)
		if err := m.NextKey(key, next); err != nil {
			break
		}
		if key != nil {
			checkErr(t, "delete", m.Delete(key), 0)
		}
		key = next
		count++
		if count > 2000 {
			t.Fatal("no end")
		}
	}
	checkErr(t, "delete", m.Delete(key), 0)
	if keys := collectKeys(t, m); len(keys) != 0 {
		t.Fatalf("%d keys left after deleting while iterating", len(keys))
	}
}

func equalKeys(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestPerCPUHash(t *testing.T) {
	for _, typ := range []ebpf.MapType{ebpf.PerCPUHash, ebpf.LRUCPUHash} {
		t.Run(typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 4, CPUs: 2})
			runSteps(t, m, []step{
				{op: "update", key: u32(1), val: u32(5), cpu: 1},
				{op: "lookupUser", key: u32(1), want: cat(u32(0), u32(0), u32(5), u32(0))},
				{op: "lookup", key: u32(1), cpu: 1, want: u32(5)},
				{op: "lookup", key: u32(1), cpu: 0, want: u32(0)},
				{op: "lookup", key: u32(1), cpu: 2},
				{op: "update", key: u32(1), val: u32(6), cpu: 0},
				{op: "lookupUser", key: u32(1), want: cat(u32(6), u32(0), u32(5), u32(0))},
				{op: "updateUser", key: u32(2), val: cat(u32(1), u32(0), u32(2), u32(0))},
				{op: "lookup", key: u32(2), cpu: 1, want: u32(2)},
				{op: "delete", key: u32(2)},
				// A reused slot starts from zero on the other CPUs.
				{op: "update", key: u32(3), val: u32(9), cpu: 0},
				{op: "lookupUser", key: u32(3), want: cat(u32(9), u32(0), u32(0), u32(0))},
				{op: "update", key: u32(3), val: u32(9), cpu: 2, err: errno.EINVAL},
			})
			ld := m.(LookupAndDeleter)
			buf := make([]byte, 16)
			checkErr(t, "lookup and delete", ld.LookupAndDeleteUser(u32(1), buf), 0)
			if !bytes.Equal(buf, cat(u32(6), u32(0), u32(5), u32(0))) {
				t.Fatalf("lookup and delete read %x", buf)
			}
			checkErr(t, "lookup and delete", ld.LookupAndDeleteUser(u32(1), buf), errno.ENOENT)
			sum := 0
			m.(Iterable).ForEach(0, func(k []byte, v unsafe.Pointer) bool {
				sum += int(binary.NativeEndian.Uint32(readPtr(v, 4)))
				return true
			})
			if sum != 9 {
				t.Fatalf("ForEach on CPU 0 sums %d, want 9", sum)
			}
		})
	}
}

func TestLRUEviction(t *testing.T) {
	const n = 8
	m := mustNew(t, Spec{Type: ebpf.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: n})
	for i := range uint32(n) {
		checkErr(t, "update", m.Update(u32(i), u64(uint64(i)), UpdateNoExist, 0), 0)
	}
	// The first eviction clears every reference bit (all were set by
	// the inserts). From then on, keys that programs look up between
	// inserts survive them.
	checkErr(t, "update", m.Update(u32(100), u64(1), UpdateAny, 0), 0)
	hot := []uint32{2, 4, 6}
	for round := range uint32(3) {
		for _, i := range hot {
			if m.Lookup(u32(i), 0) == nil {
				t.Fatalf("round %d: hot key %d was evicted", round, i)
			}
		}
		checkErr(t, "update", m.Update(u32(101+round), u64(1), UpdateAny, 0), 0)
	}
	for _, i := range hot {
		if m.Lookup(u32(i), 0) == nil {
			t.Fatalf("hot key %d was evicted", i)
		}
	}
	keys := collectKeys(t, m)
	if len(keys) != n {
		t.Fatalf("LRU map holds %d keys, want %d", len(keys), n)
	}
	// The map never fails when full, even with distinct new keys only.
	for i := uint32(1000); i < 1100; i++ {
		checkErr(t, "update", m.UpdateUser(u32(i), u64(1), UpdateNoExist), 0)
	}
	if got := len(collectKeys(t, m)); got != n {
		t.Fatalf("LRU map holds %d keys, want %d", got, n)
	}
	checkErr(t, "update", m.UpdateUser(u32(1099), u64(1), UpdateNoExist), errno.EEXIST)
}

func TestHashForEach(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 64})
	for i := range uint64(50) {
		checkErr(t, "update", m.UpdateUser(u64(i), u64(i*10), UpdateAny), 0)
	}
	var seen []uint64
	n := m.(Iterable).ForEach(0, func(k []byte, v unsafe.Pointer) bool {
		i := binary.NativeEndian.Uint64(k)
		if got := binary.NativeEndian.Uint64(readPtr(v, 8)); got != i*10 {
			t.Errorf("key %d: value %d", i, got)
		}
		seen = append(seen, i)
		// Deleting the visited element from the callback is allowed.
		if err := m.Delete(k); err != nil {
			t.Errorf("delete in ForEach: %v", err)
		}
		return true
	})
	sort.Slice(seen, func(i, j int) bool { return seen[i] < seen[j] })
	if n != 50 || len(seen) != 50 || seen[0] != 0 || seen[49] != 49 {
		t.Fatalf("ForEach visited %d: %v", n, seen)
	}
	if len(collectKeys(t, m)) != 0 {
		t.Fatal("elements left")
	}
}

func TestHashLongKeys(t *testing.T) {
	// Keys that are not a multiple of 8 bytes, and keys that differ only
	// in their tail, stay distinct.
	for _, ks := range []int{1, 7, 9, 16, 17, 64} {
		m := mustNew(t, Spec{Type: ebpf.Hash, KeySize: uint32(ks), ValueSize: 8, MaxEntries: 300})
		for i := range 256 {
			k := make([]byte, ks)
			k[ks-1] = byte(i)
			checkErr(t, "update", m.UpdateUser(k, u64(uint64(i)), UpdateNoExist), 0)
		}
		for i := range 256 {
			k := make([]byte, ks)
			k[ks-1] = byte(i)
			p := m.Lookup(k, 0)
			if p == nil || binary.NativeEndian.Uint64(readPtr(p, 8)) != uint64(i) {
				t.Fatalf("key size %d: key %d lost", ks, i)
			}
		}
		keys := collectKeys(t, m)
		if len(keys) != 256 {
			t.Fatalf("key size %d: %d keys", ks, len(keys))
		}
	}
}
