package maps

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// values is a map's value memory: slots of slotSize bytes (a multiple of
// 8) in one block that is 8-byte aligned, allocated once.
type values struct {
	mem      []uint64
	base     unsafe.Pointer
	slotSize uintptr
}

// newValues allocates n slots of slotSize bytes. The caller has charged
// them to the map's budget (base.reserve), which covers no more than Go
// can allocate.
func newValues(n, slotSize uint64) values {
	v := values{slotSize: uintptr(slotSize)}
	if total := n * slotSize; total > 0 {
		v.mem = make([]uint64, total/8)
		v.base = unsafe.Pointer(unsafe.SliceData(v.mem))
	}
	return v
}

// slot returns the address of slot i.
func (v *values) slot(i uint32) unsafe.Pointer {
	return unsafe.Add(v.base, uintptr(i)*v.slotSize)
}

// bytes returns the whole value memory.
func (v *values) bytes() []byte {
	if v.base == nil {
		return nil
	}
	return unsafe.Slice((*byte)(v.base), len(v.mem)*8)
}

// regions is the value memory as a writable region.
func (v *values) regions() []memory.Region {
	if v.base == nil {
		return nil
	}
	return []memory.Region{memory.NewRegion(v.bytes(), true, memory.KindMapValue)}
}

// copyFromValue copies len(dst) bytes of value memory at src into dst. Value
// memory may be written by programs at the same time (as in the kernel); the
// race detector is not told about these accesses, see the package doc.
//
//go:norace
func copyFromValue(dst []byte, src unsafe.Pointer) {
	n := len(dst)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.NativeEndian.PutUint64(dst[i:i+8], *(*uint64)(unsafe.Add(src, i)))
	}
	for ; i < n; i++ {
		dst[i] = *(*byte)(unsafe.Add(src, i))
	}
}

// copyToValue copies src into value memory at dst.
//
//go:norace
func copyToValue(dst unsafe.Pointer, src []byte) {
	n := len(src)
	i := 0
	for ; i+8 <= n; i += 8 {
		*(*uint64)(unsafe.Add(dst, i)) = binary.NativeEndian.Uint64(src[i : i+8])
	}
	for ; i < n; i++ {
		*(*byte)(unsafe.Add(dst, i)) = src[i]
	}
}

// zeroValue clears n bytes (a multiple of 8) of value memory at dst.
//
//go:norace
func zeroValue(dst unsafe.Pointer, n uintptr) {
	for i := uintptr(0); i < n; i += 8 {
		*(*uint64)(unsafe.Add(dst, i)) = 0
	}
}

// Hashing. Keys are hashed with a seeded 64-bit multiply-mix hash over
// 8-byte words (a folded 128-bit product per word, in the style of wyhash).
// It is not cryptographic: the random seed only keeps one map's bucket
// layout from being predictable, as the kernel's hashrnd does.
const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
	hashK2 = 0x8ebc6af09c88c6e3
)

// mix folds the 128-bit product of a and b.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashBytes hashes b with seed.
func hashBytes(seed uint64, b []byte) uint64 {
	h := seed ^ hashK0 ^ uint64(len(b))*hashK2
	for len(b) >= 8 {
		h = mix(h^binary.LittleEndian.Uint64(b)^hashK1, hashK2^h>>32)
		b = b[8:]
	}
	if len(b) > 0 {
		h = mix(h^tailWord(b)^hashK1, hashK2^h>>32)
	}
	return mix(h^hashK0, h^hashK1)
}

// hash8 is hashBytes for an 8-byte key given as a little-endian word.
func hash8(seed, w uint64) uint64 {
	n := uint64(8)
	h := seed ^ hashK0 ^ n*hashK2
	h = mix(h^w^hashK1, hashK2^h>>32)
	return mix(h^hashK0, h^hashK1)
}

// hashTail is hashBytes for a key of n < 8 bytes given as a little-endian
// word (tailWord).
func hashTail(seed, n, w uint64) uint64 {
	h := seed ^ hashK0 ^ n*hashK2
	h = mix(h^w^hashK1, hashK2^h>>32)
	return mix(h^hashK0, h^hashK1)
}

// tailWord reads the last 1-7 bytes of a key as a little-endian word.
func tailWord(b []byte) uint64 {
	switch len(b) {
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	}
	var w uint64
	for i, c := range b {
		w |= uint64(c) << (8 * i)
	}
	return w
}

// randomSeed is a seed for a new map.
func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// align8 rounds n up to a multiple of 8.
func align8(n uint64) uint64 { return (n + 7) &^ 7 }
