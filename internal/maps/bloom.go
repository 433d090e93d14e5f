package maps

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// bloom is BPF_MAP_TYPE_BLOOM_FILTER: push adds a value, peek answers
// ENOENT when the value was certainly never added and 0 when it may have
// been. The bit array is sized as the kernel sizes it (max_entries × hashes
// × 7/5 bits, rounded up to a power of two) and the bit of hash function i
// is the kernel's: jhash2 (values of whole 32-bit words) or jhash of the
// value with seed+i, masked to the array size; so with BPF_F_ZERO_SEED a
// filter gives exactly the kernel's answers, false positives included.
// Bits are set with atomic OR, so pushes and peeks need no lock.
type bloom struct {
	base
	size   int
	hashes uint32
	seed   uint32
	mask   uint64 // bits - 1
	bits   []atomic.Uint64
}

func newBloom(s *Spec) (Map, error) {
	// checkCommon has refused values larger than KMALLOC_MAX_SIZE.
	if err := checkFlags(s, bloomCreateFlags); err != nil {
		return nil, err
	}
	if s.KeySize != 0 {
		return nil, specErr(s, "key_size is %d, bloom filters have no keys (0)", s.KeySize)
	}
	if s.ValueSize == 0 {
		return nil, specErr(s, "value_size must not be 0")
	}
	if s.MapExtra&^0xf != 0 {
		return nil, specErr(s, "map_extra %#x: only bits 0-3 (the number of hash functions) may be set", s.MapExtra)
	}
	b := &bloom{size: int(s.ValueSize), hashes: uint32(s.MapExtra & 0xf)}
	if b.hashes == 0 {
		b.hashes = 5
	}
	nbits := uint64(s.MaxEntries) * uint64(b.hashes) / 5 * 7
	switch {
	case nbits > 1<<31:
		nbits = 1 << 32
	case nbits <= 64:
		nbits = 64
	default:
		n := uint64(64)
		for n < nbits {
			n <<= 1
		}
		nbits = n
	}
	if err := b.reserve(s, heapBytes(nbits/8), fmt.Sprintf("a bit array of %d bits", nbits)); err != nil {
		return nil, err
	}
	b.mask = nbits - 1
	b.bits = make([]atomic.Uint64, nbits/64)
	if s.Flags&FlagZeroSeed == 0 {
		b.seed = uint32(randomSeed())
	}
	b.init(s, b)
	return b, nil
}

// bit returns the bit of hash function i for value.
func (b *bloom) bit(value []byte, i uint32) uint64 {
	var h uint32
	if b.size%4 == 0 {
		h = jhash2(value[:b.size], b.seed+i)
	} else {
		h = jhash(value[:b.size], b.seed+i)
	}
	return uint64(h) & b.mask
}

// Push adds value (flags must be BPF_ANY).
func (b *bloom) Push(value []byte, flags uint64) error {
	if flags != UpdateAny {
		return Errorf(ErrInvalid, "push flags %#x: bloom filters take only BPF_ANY", flags)
	}
	for i := range b.hashes {
		n := b.bit(value, i)
		if w := &b.bits[n/64]; w.Load()&(1<<(n%64)) == 0 {
			w.Or(1 << (n % 64))
		}
	}
	return nil
}

// Peek reports whether value may have been added (nil) or certainly was
// not (ErrKeyNotExist).
func (b *bloom) Peek(value []byte) error {
	for i := range b.hashes {
		n := b.bit(value, i)
		if b.bits[n/64].Load()&(1<<(n%64)) == 0 {
			return ErrKeyNotExist
		}
	}
	return nil
}

// Pop is not supported.
func (b *bloom) Pop(value []byte) error {
	return Errorf(ErrNotSupp, "bloom filters cannot pop")
}

// Lookup returns nil: programs use peek.
func (b *bloom) Lookup(key []byte, cpu int) unsafe.Pointer { return nil }

// Update is not supported: programs use push.
func (b *bloom) Update(key, value []byte, flags uint64, cpu int) error {
	return Errorf(ErrNotSupp, "bloom filters are updated with push")
}

// Delete is not supported.
func (b *bloom) Delete(key []byte) error {
	return Errorf(ErrNotSupp, "bloom filters cannot delete")
}

// LookupUser peeks value (an input), as BPF_MAP_LOOKUP_ELEM does.
func (b *bloom) LookupUser(key, value []byte) error {
	if err := b.checkUser(key, value); err != nil {
		return err
	}
	return b.Peek(value)
}

// UpdateUser pushes value.
func (b *bloom) UpdateUser(key, value []byte, flags uint64) error {
	if err := b.checkUser(key, value); err != nil {
		return err
	}
	return b.Push(value, flags)
}

// NextKey is not supported.
func (b *bloom) NextKey(key, next []byte) error {
	return Errorf(ErrNotSupp, "bloom filters have no keys")
}

// Regions is empty.
func (b *bloom) Regions() []memory.Region { return nil }
