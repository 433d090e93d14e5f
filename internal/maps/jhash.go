package maps

import (
	"encoding/binary"
	"math/bits"
)

// jhash and jhash2 are Bob Jenkins' lookup3 hash as the kernel's
// include/linux/jhash.h computes it, so that hash-dependent behaviour (which
// values a bloom filter reports as possibly present) matches the kernel's
// for the same seed.

const jhashInitval = 0xdeadbeef

func jhashMix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

func jhashFinal(a, b, c uint32) uint32 {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// jhash hashes bytes (the kernel's jhash).
func jhash(k []byte, initval uint32) uint32 {
	length := uint32(len(k))
	a := jhashInitval + length + initval
	b, c := a, a
	for len(k) > 12 {
		a += binary.LittleEndian.Uint32(k)
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		a, b, c = jhashMix(a, b, c)
		k = k[12:]
	}
	if len(k) == 0 {
		return c
	}
	// The tail: bytes 0-3 go to a, 4-7 to b, 8-11 to c, little end first.
	var tail [12]byte
	copy(tail[:], k)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	return jhashFinal(a, b, c)
}

// jhash2 hashes 32-bit words in the host's byte order (the kernel's jhash2).
func jhash2(k []byte, initval uint32) uint32 {
	n := uint32(len(k) / 4)
	a := jhashInitval + n<<2 + initval
	b, c := a, a
	word := func(i int) uint32 { return binary.NativeEndian.Uint32(k[4*i:]) }
	for n > 3 {
		a += word(0)
		b += word(1)
		c += word(2)
		a, b, c = jhashMix(a, b, c)
		n -= 3
		k = k[12:]
	}
	switch n {
	case 3:
		c += word(2)
		fallthrough
	case 2:
		b += word(1)
		fallthrough
	case 1:
		a += word(0)
		c = jhashFinal(a, b, c)
	}
	return c
}
