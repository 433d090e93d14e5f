package verifier

import (
	"fmt"
	"math/bits"
)

// tnum is a tracked number: every bit is known to be 0 or 1 (mask bit 0,
// value bit the bit) or unknown (mask bit 1, value bit 0). The set of
// values a tnum stands for is {x : x &^ m == v}.
type tnum struct {
	v, m uint64
}

var tnumUnknown = tnum{0, ^uint64(0)}

func tnumConst(v uint64) tnum { return tnum{v, 0} }

// tnumRange is the smallest tnum holding every value of [min, max].
func tnumRange(min, max uint64) tnum {
	chi := min ^ max
	n := bits.Len64(chi)
	if n > 63 {
		return tnumUnknown
	}
	delta := uint64(1)<<n - 1
	return tnum{min &^ delta, delta}
}

func (a tnum) isConst() bool { return a.m == 0 }

// contains reports whether x is one of a's values.
func (a tnum) contains(x uint64) bool { return x&^a.m == a.v }

// in reports whether every value of b is a value of a.
func (a tnum) in(b tnum) bool {
	if b.m&^a.m != 0 {
		return false
	}
	return a.v == b.v&^a.m
}

func (a tnum) lsh(s uint8) tnum { return tnum{a.v << s, a.m << s} }
func (a tnum) rsh(s uint8) tnum { return tnum{a.v >> s, a.m >> s} }

func (a tnum) arsh(s uint8) tnum {
	return tnum{uint64(int64(a.v) >> s), uint64(int64(a.m) >> s)}
}

// arsh32 shifts the low 32 bits arithmetically; the result is 32 bits.
func (a tnum) arsh32(s uint8) tnum {
	return tnum{uint64(uint32(int32(uint32(a.v)) >> s)), uint64(uint32(int32(uint32(a.m)) >> s))}
}

func (a tnum) add(b tnum) tnum {
	sm := a.m + b.m
	sv := a.v + b.v
	sigma := sm + sv
	chi := sigma ^ sv
	mu := chi | a.m | b.m
	return tnum{sv &^ mu, mu}
}

func (a tnum) sub(b tnum) tnum {
	dv := a.v - b.v
	alpha := dv + a.m
	beta := dv - b.m
	chi := alpha ^ beta
	mu := chi | a.m | b.m
	return tnum{dv &^ mu, mu}
}

func (a tnum) and(b tnum) tnum {
	alpha := a.v | a.m
	beta := b.v | b.m
	v := a.v & b.v
	return tnum{v, alpha & beta &^ v}
}

func (a tnum) or(b tnum) tnum {
	v := a.v | b.v
	mu := a.m | b.m
	return tnum{v, mu &^ v}
}

func (a tnum) xor(b tnum) tnum {
	v := a.v ^ b.v
	mu := a.m | b.m
	return tnum{v &^ mu, mu}
}

// mul multiplies by long multiplication: for every bit of b that is 1 or
// unknown, a shifted copy of a is added, unknown as a whole when the bit
// is unknown.
func (a tnum) mul(b tnum) tnum {
	acc := tnumConst(a.v * b.v)
	// Partial products from a's unknown bits times b's possible bits.
	for m, v := a.m, b.v|b.m; m != 0; m, v = m>>1, v<<1 {
		if m&1 != 0 {
			acc = acc.add(tnum{0, v})
		}
	}
	// From b's unknown bits times a's known bits.
	for m, v := b.m, a.v; m != 0; m, v = m>>1, v<<1 {
		if m&1 != 0 {
			acc = acc.add(tnum{0, v})
		}
	}
	return acc
}

// intersect is the tnum of the values in both a and b. ok is false when
// they have no value in common.
func (a tnum) intersect(b tnum) (tnum, bool) {
	if (a.v^b.v)&^a.m&^b.m != 0 {
		return tnum{}, false
	}
	v := a.v | b.v
	mu := a.m & b.m
	return tnum{v &^ mu, mu}, true
}

// union is the smallest tnum holding the values of a and of b.
func (a tnum) union(b tnum) tnum {
	mu := a.m | b.m | (a.v ^ b.v)
	return tnum{a.v &^ mu, mu}
}

// cast keeps the low size bytes.
func (a tnum) cast(size int) tnum {
	if size >= 8 {
		return a
	}
	mask := uint64(1)<<(8*size) - 1
	return tnum{a.v & mask, a.m & mask}
}

// sext sign-extends the low size bytes.
func (a tnum) sext(size int) tnum {
	if size >= 8 {
		return a
	}
	s := uint8(64 - 8*size)
	return tnum{a.v << s, a.m << s}.arsh(s)
}

func (a tnum) subreg() tnum      { return a.cast(4) }
func (a tnum) clearSubreg() tnum { return a.rsh(32).lsh(32) }

// withSubreg replaces the low 32 bits of a with those of sub.
func (a tnum) withSubreg(sub tnum) tnum { return a.clearSubreg().or(sub.cast(4)) }

func (a tnum) isAligned(size uint64) bool {
	if size == 0 {
		return true
	}
	return (a.v|a.m)&(size-1) == 0
}

// bswap reverses the order of the low size bytes (2, 4 or 8); the result
// has size bytes. Byte swapping moves bits without combining them, so it
// is exact on tnums.
func (a tnum) bswap(size int) tnum {
	switch size {
	case 2:
		return tnum{uint64(bits.ReverseBytes16(uint16(a.v))), uint64(bits.ReverseBytes16(uint16(a.m)))}
	case 4:
		return tnum{uint64(bits.ReverseBytes32(uint32(a.v))), uint64(bits.ReverseBytes32(uint32(a.m)))}
	}
	return tnum{bits.ReverseBytes64(a.v), bits.ReverseBytes64(a.m)}
}

// min and max are the smallest and largest values, unsigned.
func (a tnum) umin() uint64 { return a.v }
func (a tnum) umax() uint64 { return a.v | a.m }

func (a tnum) String() string { return fmt.Sprintf("(%#x; %#x)", a.v, a.m) }
