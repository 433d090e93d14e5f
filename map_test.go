package waggle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

func newTestMap(t *testing.T, spec *ebpf.MapSpec) *Map {
	t.Helper()
	m, err := NewMapWithOptions(spec, MapOptions{CPUs: 4})
	if err != nil {
		t.Fatalf("NewMap(%s): %v", spec.Type, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// pair is a struct without padding, so it is marshalled from its memory.
type pair struct {
	A uint32
	B uint16
	C [2]uint8
}

// padded has padding, so it goes through encoding/binary (8 bytes, not 12).
type padded struct {
	A uint16
	B uint32
	C uint16
}

// text implements encoding.BinaryMarshaler and BinaryUnmarshaler.
type text struct{ s string }

func (t text) MarshalBinary() ([]byte, error) {
	b := make([]byte, 8)
	copy(b, t.s)
	return b, nil
}

func (t *text) UnmarshalBinary(b []byte) error {
	t.s = string(bytes.TrimRight(b, "\x00"))
	return nil
}

func TestMapAccessors(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Name: "counts", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16, Flags: maps.FlagNoPrealloc})
	if m.Name() != "counts" || m.Type() != ebpf.Hash || m.KeySize() != 4 || m.ValueSize() != 8 ||
		m.MaxEntries() != 16 || m.Flags() != maps.FlagNoPrealloc || m.CPUs() != 4 {
		t.Fatalf("accessors: %s %v %d %d %d %#x %d", m.Name(), m.Type(), m.KeySize(), m.ValueSize(), m.MaxEntries(), m.Flags(), m.CPUs())
	}
	if !strings.Contains(m.String(), "counts") {
		t.Errorf("String() = %q", m.String())
	}
	d, err := NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.CPUs() < 1 {
		t.Fatalf("default CPUs = %d", d.CPUs())
	}
}

func TestNewMapErrors(t *testing.T) {
	tests := []struct {
		spec  *ebpf.MapSpec
		errno errno.Errno
		msg   string
	}{
		{&ebpf.MapSpec{Type: ebpf.Array, KeySize: 8, ValueSize: 8, MaxEntries: 1}, errno.EINVAL, "key_size"},
		{&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8}, errno.EINVAL, "max_entries"},
		{&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 1000}, errno.EINVAL, "power of 2"},
		{&ebpf.MapSpec{Type: ebpf.CPUMap, KeySize: 4, ValueSize: 4, MaxEntries: 1}, errno.EINVAL, "CPUMap"},
		{&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2,
			Contents: []ebpf.MapKV{{Key: uint32(5), Value: uint64(1)}}}, errno.E2BIG, "contents"},
	}
	for _, tt := range tests {
		_, err := NewMap(tt.spec)
		if !errors.Is(err, tt.errno) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want %v mentioning %q", tt.spec.Type, err, tt.errno, tt.msg)
		}
	}
	if _, err := NewMap(nil); err == nil {
		t.Error("NewMap(nil) succeeded")
	}
	if _, err := NewMapWithOptions(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}, MapOptions{CPUs: -1}); err == nil {
		t.Error("negative CPUs accepted")
	}
}

func TestMapMarshalling(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16})
	// Keys and values of every accepted kind.
	puts := []struct {
		key, value any
	}{
		{uint32(1), uint64(10)},
		{int32(2), int64(20)},
		{[]byte{3, 0, 0, 0}, pair{A: 30, B: 1, C: [2]uint8{2, 3}}},
		{&[4]byte{4, 0, 0, 0}, &padded{A: 40, B: 0x01020304, C: 7}},
		{"\x05\x00\x00\x00", text{"fifty"}},
		{unsafe.Pointer(&[]uint32{6}[0]), []uint16{60, 0, 0, 0}},
		{[1]uint32{7}, [2]uint32{70, 0}},
	}
	for i, p := range puts {
		if err := m.Put(p.key, p.value); err != nil {
			t.Fatalf("put %d (%T, %T): %v", i, p.key, p.value, err)
		}
	}
	var u64 uint64
	if err := m.Lookup(uint32(1), &u64); err != nil || u64 != 10 {
		t.Fatalf("uint64 value: %d, %v", u64, err)
	}
	var i64 int64
	if err := m.Lookup(uint32(2), &i64); err != nil || i64 != 20 {
		t.Fatalf("int64 value: %d, %v", i64, err)
	}
	var p pair
	if err := m.Lookup(uint32(3), &p); err != nil || p != (pair{A: 30, B: 1, C: [2]uint8{2, 3}}) {
		t.Fatalf("struct value: %+v, %v", p, err)
	}
	var pd padded
	if err := m.Lookup(uint32(4), &pd); err != nil || pd != (padded{A: 40, B: 0x01020304, C: 7}) {
		t.Fatalf("padded struct value: %+v, %v", pd, err)
	}
	// encoding/binary packs padded: A is bytes 0-1, B 2-5, C 6-7.
	raw, err := m.LookupBytes(uint32(4))
	if err != nil || binary.NativeEndian.Uint16(raw) != 40 || binary.NativeEndian.Uint16(raw[6:]) != 7 {
		t.Fatalf("LookupBytes: %x, %v", raw, err)
	}
	var tx text
	if err := m.Lookup(uint32(5), &tx); err != nil || tx.s != "fifty" {
		t.Fatalf("BinaryUnmarshaler value: %q, %v", tx.s, err)
	}
	var bs []byte
	if err := m.Lookup(uint32(6), &bs); err != nil || binary.NativeEndian.Uint16(bs) != 60 || len(bs) != 8 {
		t.Fatalf("*[]byte value: %x, %v", bs, err)
	}
	out := make([]byte, 8)
	if err := m.Lookup(uint32(7), out); err != nil || binary.NativeEndian.Uint32(out) != 70 {
		t.Fatalf("[]byte value: %x, %v", out, err)
	}
	var arr [2]uint32
	if err := m.Lookup(uint32(7), unsafe.Pointer(&arr)); err != nil || arr[0] != 70 {
		t.Fatalf("unsafe.Pointer value: %v, %v", arr, err)
	}
	var s string
	if err := m.Lookup(uint32(1), &s); err != nil || len(s) != 8 {
		t.Fatalf("*string value: %q, %v", s, err)
	}

	// Wrong sizes and types are errors that name the sizes.
	bad := []struct {
		name string
		err  error
		msg  string
	}{
		{"short key", m.Put([]byte{1, 2}, uint64(1)), "key []uint8 is 2 bytes, the map's key size is 4"},
		{"long key", m.Put(uint64(1), uint64(1)), "key uint64 is 8 bytes, the map's key size is 4"},
		{"short value", m.Put(uint32(1), uint32(1)), "value uint32 is 4 bytes, the map's value size is 8"},
		{"nil key", m.Put(nil, uint64(1)), "nil key"},
		{"nil value", m.Put(uint32(1), nil), "nil value"},
		{"variable size", m.Put(uint32(1), map[int]int{}), "marshal value"},
		{"lookup into small", m.Lookup(uint32(1), new(uint32)), "*uint32 is 4 bytes, the map's value size is 8"},
		{"lookup into slice", m.Lookup(uint32(1), make([]byte, 3)), "3 bytes"},
		{"lookup into nil", m.Lookup(uint32(1), nil), "nil"},
		{"lookup into nil pointer", m.Lookup(uint32(1), (*uint64)(nil)), "nil"},
		{"lookup into value", m.Lookup(uint32(1), uint64(0)), "uint64"},
		{"nil pointer key", m.Put((*uint32)(nil), uint64(1)), "nil"},
	}
	for _, b := range bad {
		if b.err == nil || !strings.Contains(b.err.Error(), b.msg) {
			t.Errorf("%s: error %v, want one mentioning %q", b.name, b.err, b.msg)
		}
	}
}

func TestMapErrors(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	var v uint32
	err := m.Lookup(uint32(9), &v)
	if !errors.Is(err, ebpf.ErrKeyNotExist) || !errors.Is(err, errno.ENOENT) {
		t.Fatalf("missing key: %v", err)
	}
	if b, err := m.LookupBytes(uint32(9)); b != nil || err != nil {
		t.Fatalf("LookupBytes of a missing key: %x, %v", b, err)
	}
	if err := m.Update(uint32(1), uint32(1), ebpf.UpdateNoExist); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(uint32(1), uint32(1), ebpf.UpdateNoExist); !errors.Is(err, ebpf.ErrKeyExist) {
		t.Fatalf("existing key: %v", err)
	}
	if err := m.Update(uint32(2), uint32(1), ebpf.UpdateExist); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("update exist: %v", err)
	}
	if err := m.Put(uint32(2), uint32(2)); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(uint32(3), uint32(3)); !errors.Is(err, errno.E2BIG) {
		t.Fatalf("full: %v", err)
	}
	if err := m.Delete(uint32(3)); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("delete missing: %v", err)
	}
	if err := m.Update(uint32(1), uint32(1), ebpf.UpdateLock); !errors.Is(err, errno.EINVAL) {
		t.Fatalf("BPF_F_LOCK: %v", err)
	}
	// LookupAndDelete on a hash map.
	if err := m.LookupAndDelete(uint32(2), &v); err != nil || v != 2 {
		t.Fatalf("lookup and delete: %d, %v", v, err)
	}
	if err := m.LookupAndDelete(uint32(2), &v); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("lookup and delete missing: %v", err)
	}
	// After Close.
	m.Close()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(uint32(1), uint32(1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
	if err := m.Lookup(uint32(1), &v); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("lookup after close: %v", err)
	}
}

func TestMapArray(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 3,
		Contents: []ebpf.MapKV{{Key: uint32(1), Value: uint32(11)}, {Key: uint32(2), Value: []byte{22, 0, 0, 0}}}})
	var v uint32
	if err := m.Lookup(uint32(2), &v); err != nil || v != 22 {
		t.Fatalf("contents: %d, %v", v, err)
	}
	if err := m.Delete(uint32(0)); !errors.Is(err, errno.EINVAL) {
		t.Fatalf("array delete: %v", err)
	}
	if err := m.Put(uint32(3), uint32(0)); !errors.Is(err, errno.E2BIG) {
		t.Fatalf("array index: %v", err)
	}
	var k, next uint32
	if err := m.NextKey(nil, &next); err != nil || next != 0 {
		t.Fatalf("first key: %d, %v", next, err)
	}
	k = 2
	if err := m.NextKey(k, &next); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("after the last key: %v", err)
	}
	if b, err := m.NextKeyBytes(uint32(0)); err != nil || binary.NativeEndian.Uint32(b) != 1 {
		t.Fatalf("NextKeyBytes: %x, %v", b, err)
	}
	if b, err := m.NextKeyBytes(uint32(2)); err != nil || b != nil {
		t.Fatalf("NextKeyBytes at the end: %x, %v", b, err)
	}
	var keys, vals []uint32
	it := m.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
		vals = append(vals, v)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys, vals) != "[0 1 2] [0 11 22]" {
		t.Fatalf("Iterate: %v %v", keys, vals)
	}
}

func TestMapIterate(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: 16, MaxEntries: 100})
	type val struct{ A, B uint64 }
	for i := range uint64(50) {
		if err := m.Put(i, val{i, i * i}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		k    uint64
		v    val
		seen []uint64
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		if v.A != k || v.B != k*k {
			t.Fatalf("key %d: value %+v", k, v)
		}
		seen = append(seen, k)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	if len(seen) != 50 || seen[0] != 0 || seen[49] != 49 {
		t.Fatalf("Iterate saw %v", seen)
	}
	if it.Next(&k, &v) {
		t.Fatal("Next after the end")
	}
	// Wrong key output: the iteration stops with an error.
	it = m.Iterate()
	var small uint32
	if it.Next(&small, &v) || it.Err() == nil {
		t.Fatal("iterating into a 4-byte key succeeded")
	}
	// Deleting every key while iterating ends the iteration.
	it = m.Iterate()
	n := 0
	for it.Next(&k, &v) {
		if err := m.Delete(k); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if it.Err() != nil || n != 50 {
		t.Fatalf("deleting while iterating: %d keys, %v", n, it.Err())
	}
}

func TestMapPerCPU(t *testing.T) {
	for _, typ := range []ebpf.MapType{ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash} {
		t.Run(typ.String(), func(t *testing.T) {
			m := newTestMap(t, &ebpf.MapSpec{Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 4})
			if err := m.Put(uint32(1), []uint32{1, 2, 3, 4}); err != nil {
				t.Fatal(err)
			}
			var got []uint32
			if err := m.Lookup(uint32(1), &got); err != nil || fmt.Sprint(got) != "[1 2 3 4]" {
				t.Fatalf("per-CPU lookup: %v, %v", got, err)
			}
			// A slice of the right length works too; fewer CPUs on
			// update are zero.
			if err := m.Put(uint32(1), []uint32{5}); err != nil {
				t.Fatal(err)
			}
			got = make([]uint32, 4)
			if err := m.Lookup(uint32(1), got); err != nil || fmt.Sprint(got) != "[5 0 0 0]" {
				t.Fatalf("per-CPU lookup: %v, %v", got, err)
			}
			// Pointer elements, structs.
			type v4 struct{ A [2]uint16 }
			if err := m.Put(uint32(2), []v4{{[2]uint16{1, 2}}, {[2]uint16{3, 4}}}); err != nil {
				t.Fatal(err)
			}
			var ptrs []*v4
			if err := m.Lookup(uint32(2), &ptrs); err != nil || len(ptrs) != 4 || ptrs[1].A[1] != 4 || ptrs[3].A[0] != 0 {
				t.Fatalf("per-CPU pointers: %v, %v", ptrs, err)
			}
			// Raw bytes: each CPU's value padded to 8 bytes.
			raw, err := m.LookupBytes(uint32(1))
			if err != nil || len(raw) != 32 || binary.NativeEndian.Uint32(raw) != 5 {
				t.Fatalf("LookupBytes: %x, %v", raw, err)
			}
			// Errors.
			if err := m.Put(uint32(1), uint32(1)); err == nil || !strings.Contains(err.Error(), "slice") {
				t.Fatalf("non-slice per-CPU value: %v", err)
			}
			if err := m.Put(uint32(1), make([]uint32, 5)); err == nil || !strings.Contains(err.Error(), "4 CPUs") {
				t.Fatalf("too many CPUs: %v", err)
			}
			if err := m.Put(uint32(1), []uint64{1}); err == nil || !strings.Contains(err.Error(), "8 bytes") {
				t.Fatalf("wrong element size: %v", err)
			}
			if err := m.Lookup(uint32(1), make([]uint32, 3)); err == nil || !strings.Contains(err.Error(), "want 4") {
				t.Fatalf("short slice: %v", err)
			}
			var one uint32
			if err := m.Lookup(uint32(1), &one); err == nil {
				t.Fatal("per-CPU lookup into a scalar succeeded")
			}
			// Iterate gives slices.
			it := m.Iterate()
			var k uint32
			var vals []uint32
			n := 0
			for it.Next(&k, &vals) {
				n++
				if len(vals) != 4 {
					t.Fatalf("Iterate value %v", vals)
				}
			}
			if it.Err() != nil || n < 2 {
				t.Fatalf("Iterate: %d, %v", n, it.Err())
			}
		})
	}
}

func TestMapQueue(t *testing.T) {
	for _, typ := range []ebpf.MapType{ebpf.Queue, ebpf.Stack} {
		m := newTestMap(t, &ebpf.MapSpec{Type: typ, ValueSize: 4, MaxEntries: 2})
		for i := uint32(1); i <= 2; i++ {
			if err := m.Update(nil, i, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Update(nil, uint32(3), 0); !errors.Is(err, errno.E2BIG) {
			t.Fatalf("push on full: %v", err)
		}
		var v uint32
		if err := m.Lookup(nil, &v); err != nil {
			t.Fatal(err)
		}
		want := map[ebpf.MapType][]uint32{ebpf.Queue: {1, 2}, ebpf.Stack: {2, 1}}[typ]
		if v != want[0] {
			t.Fatalf("%s peek = %d", typ, v)
		}
		for _, w := range want {
			if err := m.LookupAndDelete(nil, &v); err != nil || v != w {
				t.Fatalf("%s pop = %d, %v; want %d", typ, v, err, w)
			}
		}
		if err := m.LookupAndDelete(nil, &v); !errors.Is(err, ebpf.ErrKeyNotExist) {
			t.Fatalf("pop empty: %v", err)
		}
		if err := m.Update(uint32(1), uint32(1), 0); err == nil {
			t.Fatal("queue with a key")
		}
	}
	a := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	var v uint32
	if err := a.LookupAndDelete(uint32(0), &v); !errors.Is(err, errno.EOPNOTSUPP) {
		t.Fatalf("array lookup and delete: %v", err)
	}
}

func TestMapBloomFilter(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.BloomFilter, ValueSize: 8, MaxEntries: 100})
	for i := range uint64(100) {
		if err := m.Update(nil, i, ebpf.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	for i := range uint64(100) {
		v := i
		if err := m.Lookup(nil, &v); err != nil {
			t.Fatalf("value %d missing: %v", i, err)
		}
	}
	misses := 0
	for i := range uint64(1000) {
		v := 1<<32 + i
		if errors.Is(m.Lookup(nil, &v), ebpf.ErrKeyNotExist) {
			misses++
		}
	}
	if misses < 800 {
		t.Fatalf("only %d of 1000 absent values are reported absent", misses)
	}
}

func TestMapLPMTrie(t *testing.T) {
	type key struct {
		Prefix uint32
		Addr   [4]byte
	}
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 8, Flags: maps.FlagNoPrealloc})
	if err := m.Put(key{8, [4]byte{10}}, uint32(8)); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(key{16, [4]byte{10, 1}}, uint32(16)); err != nil {
		t.Fatal(err)
	}
	var v uint32
	if err := m.Lookup(key{32, [4]byte{10, 1, 2, 3}}, &v); err != nil || v != 16 {
		t.Fatalf("lookup: %d, %v", v, err)
	}
	if err := m.Lookup(key{32, [4]byte{10, 2, 2, 3}}, &v); err != nil || v != 8 {
		t.Fatalf("lookup: %d, %v", v, err)
	}
	var keys []key
	var k key
	it := m.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	if it.Err() != nil || len(keys) != 2 || keys[0].Prefix != 16 {
		t.Fatalf("Iterate: %v, %v", keys, it.Err())
	}
}

func TestMapOfMaps(t *testing.T) {
	innerSpec := &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}
	for _, typ := range []ebpf.MapType{ebpf.ArrayOfMaps, ebpf.HashOfMaps} {
		t.Run(typ.String(), func(t *testing.T) {
			outer := newTestMap(t, &ebpf.MapSpec{Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: innerSpec})
			inner := newTestMap(t, innerSpec)
			if err := inner.Put(uint32(1), uint64(42)); err != nil {
				t.Fatal(err)
			}
			if err := outer.Put(uint32(0), inner); err != nil {
				t.Fatal(err)
			}
			wrong := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 2})
			if err := outer.Put(uint32(1), wrong); !errors.Is(err, errno.EINVAL) {
				t.Fatalf("mismatched inner map: %v", err)
			}
			if err := outer.Put(uint32(1), uint32(5)); err == nil {
				t.Fatal("stored a number in a map of maps")
			}
			var got *Map
			if err := outer.Lookup(uint32(0), &got); err != nil {
				t.Fatal(err)
			}
			var v uint64
			if err := got.Lookup(uint32(1), &v); err != nil || v != 42 {
				t.Fatalf("inner map lookup: %d, %v", v, err)
			}
			// Closing the looked-up Map does not close the inner map.
			got.Close()
			if err := inner.Lookup(uint32(1), &v); err != nil {
				t.Fatal(err)
			}
			if err := outer.Lookup(uint32(1), &got); !errors.Is(err, ebpf.ErrKeyNotExist) {
				t.Fatalf("empty slot: %v", err)
			}
			var wrongOut uint32
			if err := outer.Lookup(uint32(0), &wrongOut); err == nil {
				t.Fatal("read a map into a uint32")
			}
			var n int
			var k uint32
			it := outer.Iterate()
			for it.Next(&k, &got) {
				n++
				got.Close()
			}
			if it.Err() != nil || n != 1 {
				t.Fatalf("Iterate: %d, %v", n, it.Err())
			}
			if err := outer.Delete(uint32(0)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// prog stands for the loader's program type in a prog_array.
type prog struct{ name string }

func TestMapProgramArray(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	p := &prog{"tail"}
	if err := m.Put(uint32(2), p); err != nil {
		t.Fatal(err)
	}
	var got *prog
	if err := m.Lookup(uint32(2), &got); err != nil || got != p {
		t.Fatalf("lookup: %v, %v", got, err)
	}
	if err := m.Lookup(uint32(1), &got); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("empty slot: %v", err)
	}
	other := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err := m.Put(uint32(1), other); err == nil {
		t.Fatal("stored a map in a prog_array")
	}
	if err := m.Update(uint32(1), p, ebpf.UpdateNoExist); !errors.Is(err, errno.EINVAL) {
		t.Fatalf("prog_array flags: %v", err)
	}
	if err := m.Put(uint32(9), p); !errors.Is(err, errno.E2BIG) {
		t.Fatalf("prog_array index: %v", err)
	}
	var s string
	if err := m.Lookup(uint32(2), &s); err == nil {
		t.Fatal("read a program into a string")
	}
	if err := m.Delete(uint32(2)); err != nil {
		t.Fatal(err)
	}
}

func TestMapConcurrentUse(t *testing.T) {
	m := newTestMap(t, &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range uint32(200) {
				k := uint32(w)<<16 | i
				if err := m.Put(k, uint64(k)); err != nil {
					t.Error(err)
					return
				}
				var v uint64
				if err := m.Lookup(k, &v); err != nil || v != uint64(k) {
					t.Errorf("lookup %d: %d, %v", k, v, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			var k uint32
			var v uint64
			it := m.Iterate()
			for it.Next(&k, &v) {
			}
			if err := it.Err(); err != nil && !errors.Is(err, ebpf.ErrIterationAborted) {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	var keys []uint32
	var k uint32
	var v uint64
	for it := m.Iterate(); it.Next(&k, &v); {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	if len(keys) != 800 {
		t.Fatalf("%d keys", len(keys))
	}
}

// TestProgramArrayOfPrograms fills a prog_array from Go: a tail call
// through it reaches the program on both engines, and the array refuses a
// program of another type, as the kernel's does.
func TestProgramArrayOfPrograms(t *testing.T) {
	for _, engine := range []Engine{EngineInterpreter, EngineJIT} {
		if engine == EngineJIT && !jit.Supported {
			continue
		}
		t.Run(engine.String(), func(t *testing.T) {
			pa := newTestMap(t, &ebpf.MapSpec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 2})
			load := func(typ ebpf.ProgramType, src string) *Program {
				insns, err := assembler.Assemble(strings.ReplaceAll(fmt.Sprintf(src, pa.impl.Handle()), ";", "\n"))
				if err != nil {
					t.Fatal(err)
				}
				p, err := NewProgramWithOptions(&ProgramSpec{Name: "p", Type: typ, Instructions: insns}, ProgramOptions{Engine: engine})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			caller := load(ebpf.XDP, "lddw %%r2, %#x; mov %%r3, 0; call 12; mov %%r0, 1; exit")
			target := load(ebpf.XDP, "mov %%r0, 7; exit # %#x")
			other := load(ebpf.SchedCLS, "mov %%r0, 7; exit # %#x")
			pkt := make([]byte, 64)
			if ret, err := caller.Run(&RunOptions{Data: pkt}); err != nil || ret != 1 {
				t.Fatalf("empty slot: r0 %d, %v; want 1", ret, err)
			}
			if err := pa.Put(uint32(0), target); err != nil {
				t.Fatal(err)
			}
			if ret, err := caller.Run(&RunOptions{Data: pkt}); err != nil || ret != 7 {
				t.Fatalf("tail call: r0 %d, %v; want 7", ret, err)
			}
			if err := pa.Put(uint32(1), other); !errors.Is(err, errno.EINVAL) {
				t.Fatalf("a tc program in an XDP program array: %v, want EINVAL", err)
			}
		})
	}
}
