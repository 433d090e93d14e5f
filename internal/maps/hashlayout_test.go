package maps

import (
	"encoding/binary"
	"math/bits"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
)

// lookupByLayout finds key (4 or 8 bytes) in the tables HashLayoutOf
// describes, as compiled code does, or returns nil.
func lookupByLayout(l *HashLayout, key []byte) unsafe.Pointer {
	var w uint64
	if len(key) == 4 {
		w = uint64(binary.LittleEndian.Uint32(key))
	} else {
		w = binary.LittleEndian.Uint64(key)
	}
	mix := func(a, b uint64) uint64 { hi, lo := bits.Mul64(a, b); return hi ^ lo }
	h1 := mix(w^l.HashXor, l.HashMul)
	hv := uint32(mix(h1^l.HashK0, h1^l.HashK1))
	b := hv & l.Mask
	n := *(*uint32)(unsafe.Add(l.Buckets, 4*uintptr(b)))
	for n != 0 {
		s := uintptr(n - 1)
		slot := unsafe.Add(l.Slots, s*l.SlotSize)
		if *(*uint32)(unsafe.Add(slot, l.SlotHash)) == hv && *(*uint64)(unsafe.Add(l.Keys, 8*s)) == w {
			return unsafe.Add(l.Values, s*l.ValueStride)
		}
		n = *(*uint32)(unsafe.Add(slot, l.SlotNext))
	}
	return nil
}

// TestHashLayout checks HashLayoutOf against Lookup: every key present,
// absent and deleted, in maps whose chains are long (more keys than the
// table's buckets would like), with 4- and 8-byte keys.
func TestHashLayout(t *testing.T) {
	for _, keySize := range []uint32{4, 8} {
		m, err := New(&Spec{Name: "h", Type: ebpf.Hash, KeySize: keySize, ValueSize: 8, MaxEntries: 64, CPUs: 1})
		if err != nil {
			t.Fatal(err)
		}
		l, ok := HashLayoutOf(m)
		if !ok {
			t.Fatalf("no layout for a hash map with %d-byte keys", keySize)
		}
		key := func(i int) []byte {
			k := make([]byte, keySize)
			binary.LittleEndian.PutUint32(k, uint32(i*2654435761))
			return k
		}
		for i := range 64 {
			if err := m.Update(key(i), make([]byte, 8), UpdateAny, 0); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 64; i += 3 {
			if err := m.Delete(key(i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 200 {
			if got, want := lookupByLayout(&l, key(i)), m.Lookup(key(i), 0); got != want {
				t.Errorf("%d-byte key %d: by layout %p, Lookup %p", keySize, i, got, want)
			}
		}
		m.Close()
	}
	for _, spec := range []Spec{
		{Type: ebpf.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4, CPUs: 2},
		{Type: ebpf.Hash, KeySize: 16, ValueSize: 8, MaxEntries: 4},
	} {
		spec.CPUs = max(spec.CPUs, 1)
		m, err := New(&spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := HashLayoutOf(m); ok {
			t.Errorf("%s with %d-byte keys has a layout for compiled code", spec.Type, spec.KeySize)
		}
		m.Close()
	}
}
