package verifier

import (
	"math"
	"math/bits"
)

// scalar is the abstract value of a number: a tnum and signed and unsigned
// bounds of the whole 64 bits and of the low 32 bits. Every field is an
// over-approximation of the possible values; sync makes each field as
// tight as the others allow. A value of the set satisfies all of them at
// once.
type scalar struct {
	t              tnum
	smin, smax     int64
	umin, umax     uint64
	s32min, s32max int32
	u32min, u32max uint32
}

const lo32 = uint64(math.MaxUint32)

func unknownScalar() scalar {
	s := scalar{t: tnumUnknown}
	s.unbound64()
	s.unbound32()
	return s
}

func constScalar(v uint64) scalar {
	return scalar{
		t:    tnumConst(v),
		smin: int64(v), smax: int64(v),
		umin: v, umax: v,
		s32min: int32(v), s32max: int32(v),
		u32min: uint32(v), u32max: uint32(v),
	}
}

// rangeScalar is the scalar of the unsigned range [min, max].
func rangeScalar(min, max uint64) scalar {
	s := unknownScalar()
	s.umin, s.umax = min, max
	s.sync()
	return s
}

// signedRangeScalar is the scalar of the signed range [min, max].
func signedRangeScalar(min, max int64) scalar {
	s := unknownScalar()
	s.smin, s.smax = min, max
	s.sync()
	return s
}

func (s *scalar) unbound64() {
	s.smin, s.smax = math.MinInt64, math.MaxInt64
	s.umin, s.umax = 0, math.MaxUint64
}

func (s *scalar) unbound32() {
	s.s32min, s.s32max = math.MinInt32, math.MaxInt32
	s.u32min, s.u32max = 0, math.MaxUint32
}

func (s scalar) isConst() bool   { return s.t.m == 0 }
func (s scalar) isConst32() bool { return uint32(s.t.m) == 0 }

// isUnknown reports whether the scalar may be any value.
func (s scalar) isUnknown() bool {
	return s.t == tnumUnknown && s.smin == math.MinInt64 && s.smax == math.MaxInt64 &&
		s.umin == 0 && s.umax == math.MaxUint64 && s.s32min == math.MinInt32 &&
		s.s32max == math.MaxInt32 && s.u32min == 0 && s.u32max == math.MaxUint32
}

// valid reports whether the bounds are consistent: false means no value
// satisfies them (a branch that cannot be taken).
func (s scalar) valid() bool {
	return s.smin <= s.smax && s.umin <= s.umax && s.s32min <= s.s32max && s.u32min <= s.u32max &&
		s.t.v&s.t.m == 0 && s.umin <= s.t.umax() && s.umax >= s.t.umin()
}

// within reports whether every value of o is a value of s (s is at least
// as wide as o in every respect).
func (s scalar) within(o scalar) bool {
	return s.smin <= o.smin && o.smax <= s.smax && s.umin <= o.umin && o.umax <= s.umax &&
		s.s32min <= o.s32min && o.s32max <= s.s32max && s.u32min <= o.u32min && o.u32max <= s.u32max &&
		s.t.in(o.t)
}

// withLow32 is the scalar with its low 32 bits known to be v and its upper
// 32 bits as before (the kernel's __mark_reg32_known), bounds tightened;
// not valid when no value of s has those low bits.
func (s scalar) withLow32(v uint32) scalar {
	s.t = tnum{v: s.t.v&^lo32 | uint64(v), m: s.t.m &^ lo32}
	s.s32min, s.s32max = int32(v), int32(v)
	s.u32min, s.u32max = v, v
	s.sync()
	return s
}

// sync tightens every field with what the others say, as the kernel's
// reg_bounds_sync.
func (s *scalar) sync() {
	for i := 0; i < 2; i++ {
		s.fromTnum()
		s.deduce()
		if !s.toTnum() {
			s.umin, s.umax = 1, 0 // empty
			return
		}
	}
	s.fromTnum()
	s.deduce()
}

// fromTnum tightens the bounds with the known bits.
func (s *scalar) fromTnum() {
	const sign = uint64(1) << 63
	s.umin = max(s.umin, s.t.umin())
	s.umax = min(s.umax, s.t.umax())
	s.smin = max(s.smin, int64(s.t.v|(s.t.m&sign)))
	s.smax = min(s.smax, int64(s.t.v|(s.t.m&^sign)))
	sub := s.t.subreg()
	const sign32 = uint64(1) << 31
	s.u32min = max(s.u32min, uint32(sub.v))
	s.u32max = min(s.u32max, uint32(sub.v|sub.m))
	s.s32min = max(s.s32min, int32(uint32(sub.v|(sub.m&sign32))))
	s.s32max = min(s.s32max, int32(uint32(sub.v|(sub.m&^sign32))))
}

// deduce tightens the bounds with each other.
func (s *scalar) deduce() {
	// Signed and unsigned 32-bit bounds say the same when the range does
	// not cross the sign boundary.
	if int32(s.u32min) <= int32(s.u32max) {
		s.s32min = max(s.s32min, int32(s.u32min))
		s.s32max = min(s.s32max, int32(s.u32max))
	}
	if uint32(s.s32min) <= uint32(s.s32max) {
		s.u32min = max(s.u32min, uint32(s.s32min))
		s.u32max = min(s.u32max, uint32(s.s32max))
	}
	// A signed range across zero is two unsigned ranges, [0, max] and
	// [min, 0xffffffff]: the unsigned bounds may exclude one of them.
	if s.s32min < 0 && s.s32max >= 0 {
		switch {
		case s.u32max < uint32(s.s32min):
			s.u32max = min(s.u32max, uint32(s.s32max))
			s.s32min = max(s.s32min, int32(min(s.u32min, uint32(math.MaxInt32))))
		case s.u32min > uint32(s.s32max):
			s.u32min = max(s.u32min, uint32(s.s32min))
			s.s32max = min(s.s32max, int32(max(s.u32max, uint32(1)<<31)))
		}
	}
	// The low 32 bits from the 64-bit bounds: when the upper halves of
	// the bounds are equal, the low halves range between theirs.
	s.deduce32from64(s.umin, s.umax)
	if s.smin>>32 == s.smax>>32 || (s.smin>>32)+1 == s.smax>>32 {
		s.deduce32from64(uint64(s.smin), uint64(s.smax))
	}
	// Signed and unsigned 64-bit bounds.
	if int64(s.umin) <= int64(s.umax) {
		s.smin = max(s.smin, int64(s.umin))
		s.smax = min(s.smax, int64(s.umax))
	}
	if uint64(s.smin) <= uint64(s.smax) {
		s.umin = max(s.umin, uint64(s.smin))
		s.umax = min(s.umax, uint64(s.smax))
	}
	// The same for 64 bits, as Linux 6.18.44 does (not older kernels:
	// olderNoCross64).
	if older&olderNoCross64 == 0 && s.smin < 0 && s.smax >= 0 {
		switch {
		case s.umax < uint64(s.smin):
			s.umax = min(s.umax, uint64(s.smax))
			s.smin = max(s.smin, int64(min(s.umin, uint64(math.MaxInt64))))
		case s.umin > uint64(s.smax):
			s.umin = max(s.umin, uint64(s.smin))
			s.smax = min(s.smax, int64(max(s.umax, uint64(1)<<63)))
		}
	}
	// The 64-bit bounds from the low 32 bits: a value above umin with the
	// same upper half as umin has low bits of at least u32min.
	if s.u32min <= s.u32max {
		s.umin = max(s.umin, s.umin&^lo32|uint64(s.u32min))
		s.umax = min(s.umax, s.umax&^lo32|uint64(s.u32max))
		s.smin = max(s.smin, int64(uint64(s.smin)&^lo32|uint64(s.u32min)))
		s.smax = min(s.smax, int64(uint64(s.smax)&^lo32|uint64(s.u32max)))
	}
	// A value that fits in 32 signed bits is its low half sign-extended.
	if s.smin >= math.MinInt32 && s.smax <= math.MaxInt32 && s.s32min <= s.s32max {
		s.smin = max(s.smin, int64(s.s32min))
		s.smax = min(s.smax, int64(s.s32max))
		if int64(s.umin) <= int64(s.umax) {
			s.umin = max(s.umin, uint64(s.smin))
			s.umax = min(s.umax, uint64(s.smax))
		}
	}
}

// deduce32from64 tightens the 32-bit bounds with a 64-bit range [lo, hi]
// (unsigned, or a signed range given as its two's complement bounds)
// whose upper halves are equal or consecutive.
func (s *scalar) deduce32from64(lo, hi uint64) {
	switch {
	case lo>>32 == hi>>32:
		l, h := uint32(lo), uint32(hi)
		s.u32min = max(s.u32min, l)
		s.u32max = min(s.u32max, h)
		if int32(l) <= int32(h) {
			s.s32min = max(s.s32min, int32(l))
			s.s32max = min(s.s32max, int32(h))
		}
	case uint32(lo>>32)+1 == uint32(hi>>32) && int32(uint32(lo)) < 0 && int32(uint32(hi)) >= 0:
		// The low half wraps from 0xffffffff to 0 inside the range: as
		// a signed 32-bit number it goes from negative to positive. The
		// upper halves are consecutive in 32-bit arithmetic, as the
		// kernel's __reg32_deduce_bounds compares them: 0xffffffff and 0
		// are (a signed range across zero, [-16, 15] for instance).
		s.s32min = max(s.s32min, int32(uint32(lo)))
		s.s32max = min(s.s32max, int32(uint32(hi)))
	}
}

// toTnum tightens the known bits with the bounds. It returns false when
// they contradict each other.
func (s *scalar) toTnum() bool {
	if s.umin > s.umax || s.smin > s.smax || s.u32min > s.u32max || s.s32min > s.s32max {
		return false
	}
	t, ok := s.t.intersect(tnumRange(s.umin, s.umax))
	if !ok {
		return false
	}
	if uint64(s.smin) <= uint64(s.smax) {
		if t, ok = t.intersect(tnumRange(uint64(s.smin), uint64(s.smax))); !ok {
			return false
		}
	}
	sub, ok := t.subreg().intersect(tnumRange(uint64(s.u32min), uint64(s.u32max)))
	if !ok {
		return false
	}
	if uint32(s.s32min) <= uint32(s.s32max) {
		if sub, ok = sub.intersect(tnumRange(uint64(uint32(s.s32min)), uint64(uint32(s.s32max)))); !ok {
			return false
		}
	}
	s.t = t.withSubreg(sub)
	return true
}

// zext32 is the scalar with the upper 32 bits cleared, from the 32-bit
// fields: the result of every 32-bit ALU operation.
func (s scalar) zext32() scalar {
	r := s
	r.t = s.t.subreg()
	r.umin, r.umax = uint64(s.u32min), uint64(s.u32max)
	r.smin, r.smax = int64(s.u32min), int64(s.u32max)
	r.sync()
	return r
}

// trunc keeps the low size bytes (zero-extended), as a narrow load or
// fill of the value gives.
func (s scalar) trunc(size int) scalar {
	if size >= 8 {
		return s
	}
	if size == 4 {
		return s.zext32()
	}
	n := uint(8 * size)
	mask := uint64(1)<<n - 1
	r := unknownScalar()
	r.t = s.t.cast(size)
	r.umin, r.umax = 0, mask
	switch {
	case s.umax <= mask:
		r.umin, r.umax = s.umin, s.umax
	case s.umin>>n == s.umax>>n:
		r.umin, r.umax = s.umin&mask, s.umax&mask
	}
	if s.u32min>>n == s.u32max>>n {
		r.umin = max(r.umin, uint64(s.u32min)&mask)
		r.umax = min(r.umax, uint64(s.u32max)&mask)
	}
	r.sync()
	return r
}

// sext sign-extends the low size bytes (1, 2 or 4) to 64 bits (movsx,
// ldsx), as Linux 6.18.44's verifier does: exactly when the 64-bit signed
// range keeps its bits above the narrow type and does not cross zero once
// extended (sextSameUpper); else, since the low 32 bits decide the result,
// from the source's 32-bit bounds when they suffice: a 32-bit signed range
// that lies in the narrow type stays as it is, with its unsigned 32-bit
// bounds, even across zero, and the 32-bit range is the result of a
// 32-bit extension; else the whole range of the narrow type. Under
// olderSext, older kernels' rule instead (sextOlder).
func (s scalar) sext(size int) scalar {
	if size >= 8 {
		return s
	}
	n := uint(8 * size)
	if s.isConst() {
		return constScalar(uint64(signExtend(s.t.v, n)))
	}
	if older&olderSext != 0 {
		return s.sextOlder(n)
	}
	if r, ok := s.sextSameUpper(n); ok {
		return r
	}
	if half := int32(1) << (n - 1); size == 4 || s.s32min >= -half && s.s32max <= half-1 {
		r := unknownScalar()
		r.s32min, r.s32max = s.s32min, s.s32max
		r.u32min, r.u32max = s.u32min, s.u32max
		r.smin, r.smax = int64(s.s32min), int64(s.s32max)
		r.sync()
		return r
	}
	return sextWhole(n)
}

// sextOlder is sext as older kernels' coerce_reg_to_size_sx (upstream's
// until at least late 2025): sextSameUpper, else the whole range of the
// narrow type.
func (s scalar) sextOlder(n uint) scalar {
	if r, ok := s.sextSameUpper(n); ok {
		return r
	}
	return sextWhole(n)
}

// sextSameUpper extends the low n bits of a scalar whose 64-bit signed
// range has the same bits above them throughout and does not cross zero
// once extended: the range of the extended bounds. ok is false for other
// scalars.
func (s scalar) sextSameUpper(n uint) (r scalar, ok bool) {
	if uint64(s.smax)>>n != uint64(s.smin)>>n {
		return r, false
	}
	a, b := signExtend(uint64(s.smax), n), signExtend(uint64(s.smin), n)
	hi, lo := max(a, b), min(a, b)
	if (hi >= 0) != (lo >= 0) {
		return r, false
	}
	r = unknownScalar()
	r.smin, r.smax = lo, hi
	r.s32min, r.s32max = int32(lo), int32(hi)
	r.umin, r.umax = uint64(lo), uint64(hi)
	r.u32min, r.u32max = uint32(lo), uint32(hi)
	r.t = tnumRange(uint64(lo), uint64(hi))
	r.sync()
	return r, true
}

// sextWhole is the whole range of an n-bit signed type, extended.
func sextWhole(n uint) scalar {
	half := int64(1) << (n - 1)
	r := unknownScalar()
	r.smin, r.smax = -half, half-1
	r.s32min, r.s32max = int32(-half), int32(half-1)
	r.sync()
	return r
}

// signExtend sign-extends the low n bits of v.
func signExtend(v uint64, n uint) int64 {
	s := 64 - n
	return int64(v<<s) >> s
}

// sext32 sign-extends the low size bytes (1 or 2) to 32 bits and clears
// the upper half: movsx in the 32-bit ALU, as the kernel's
// coerce_subreg_to_size_sx.
func (s scalar) sext32(size int) scalar {
	n := uint(8 * size)
	if s.isConst32() {
		return constScalar(uint64(uint32(signExtend(s.t.v, n))))
	}
	if uint32(s.s32max)>>n == uint32(s.s32min)>>n {
		a, b := int32(signExtend(uint64(uint32(s.s32max)), n)), int32(signExtend(uint64(uint32(s.s32min)), n))
		hi, lo := max(a, b), min(a, b)
		if (hi >= 0) == (lo >= 0) {
			r := unknownScalar()
			r.s32min, r.s32max = lo, hi
			r.u32min, r.u32max = uint32(lo), uint32(hi)
			r.t = tnumRange(uint64(uint32(lo)), uint64(uint32(hi))).subreg()
			r.sync()
			return r.zext32()
		}
	}
	half := int32(1) << (n - 1)
	r := unknownScalar()
	r.s32min, r.s32max = -half, half-1
	r.sync()
	return r.zext32()
}

// The ALU operations on scalars. Each computes the 64-bit result and,
// where the low half of the result depends on the low halves of the
// operands only, the 32-bit one; for 32-bit operations only the latter,
// zero-extended.

// aluScalar applies op (aluAdd, ...) to dst and src: the operations whose
// result the kernel tracks (add, sub, mul, and, or, xor, shifts by a
// constant); any other gives an unknown scalar, as in the kernel.
func aluScalar(op uint8, dst, src scalar, alu32 bool) scalar {
	var r scalar
	switch op {
	case aluAdd:
		r = addScalar(dst, src)
	case aluSub:
		r = subScalar(dst, src)
	case aluMul:
		r = mulScalar(dst, src)
	case aluAnd:
		r = andScalar(dst, src)
	case aluOr:
		r = orScalar(dst, src)
	case aluXor:
		r = xorScalar(dst, src)
	case aluLsh, aluRsh, aluArsh:
		width := uint64(64)
		if alu32 {
			width = 32
		}
		if alu32 && (!src.isConst32() || uint64(src.u32max) >= width) ||
			!alu32 && (!src.isConst() || src.umax >= width) {
			return unknownScalar()
		}
		k := uint8(src.t.v)
		if alu32 {
			r = shiftScalar32(op, dst, k)
		} else {
			r = shiftScalar(op, dst, k)
		}
	default:
		return unknownScalar()
	}
	if alu32 {
		return r.zext32()
	}
	r.sync()
	return r
}

// The ALU operation codes (the op bits of the opcode).
const (
	aluAdd  = 0x00
	aluSub  = 0x10
	aluMul  = 0x20
	aluDiv  = 0x30
	aluOr   = 0x40
	aluAnd  = 0x50
	aluLsh  = 0x60
	aluRsh  = 0x70
	aluNeg  = 0x80
	aluMod  = 0x90
	aluXor  = 0xa0
	aluMov  = 0xb0
	aluArsh = 0xc0
	aluEnd  = 0xd0
)

func addScalar(a, b scalar) scalar {
	r := scalar{t: a.t.add(b.t)}
	// Unsigned: the range is exact when both ends carry alike.
	lo, c1 := bits.Add64(a.umin, b.umin, 0)
	hi, c2 := bits.Add64(a.umax, b.umax, 0)
	if c1 == c2 {
		r.umin, r.umax = lo, hi
	} else {
		r.umin, r.umax = 0, math.MaxUint64
	}
	// Signed: any overflow loses the bounds, as in the kernel.
	slo, o1 := addS64(a.smin, b.smin)
	shi, o2 := addS64(a.smax, b.smax)
	if o1 == 0 && o2 == 0 {
		r.smin, r.smax = slo, shi
	} else {
		r.smin, r.smax = math.MinInt64, math.MaxInt64
	}
	r.setRange32(int64(a.s32min)+int64(b.s32min), int64(a.s32max)+int64(b.s32max),
		int64(a.u32min)+int64(b.u32min), int64(a.u32max)+int64(b.u32max))
	return r
}

func subScalar(a, b scalar) scalar {
	r := scalar{t: a.t.sub(b.t)}
	lo, b1 := bits.Sub64(a.umin, b.umax, 0)
	hi, b2 := bits.Sub64(a.umax, b.umin, 0)
	if b1 == b2 {
		r.umin, r.umax = lo, hi
	} else {
		r.umin, r.umax = 0, math.MaxUint64
	}
	slo, o1 := subS64(a.smin, b.smax)
	shi, o2 := subS64(a.smax, b.smin)
	if o1 == 0 && o2 == 0 {
		r.smin, r.smax = slo, shi
	} else {
		r.smin, r.smax = math.MinInt64, math.MaxInt64
	}
	r.setRange32(int64(a.s32min)-int64(b.s32max), int64(a.s32max)-int64(b.s32min),
		int64(a.u32min)-int64(b.u32max), int64(a.u32max)-int64(b.u32min))
	return r
}

// setRange32 sets the 32-bit bounds from the exact results of a 32-bit
// operation on the ends of the operands' ranges, computed in 64 bits: the
// signed bounds are kept when neither end overflows, the unsigned ones
// when both ends wrap alike (as the kernel's scalar32_min_max_add/sub).
func (r *scalar) setRange32(slo, shi, ulo, uhi int64) {
	if slo >= math.MinInt32 && shi <= math.MaxInt32 {
		r.s32min, r.s32max = int32(slo), int32(shi)
	} else {
		r.s32min, r.s32max = math.MinInt32, math.MaxInt32
	}
	if ulo>>32 == uhi>>32 {
		r.u32min, r.u32max = uint32(ulo), uint32(uhi)
	} else {
		r.u32min, r.u32max = 0, math.MaxUint32
	}
}

func addS64(a, b int64) (int64, int) {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return s, 1
	case a < 0 && b < 0 && s >= 0:
		return s, -1
	}
	return s, 0
}

func subS64(a, b int64) (int64, int) {
	s := a - b
	switch {
	case a >= 0 && b < 0 && s < 0:
		return s, 1
	case a < 0 && b > 0 && s >= 0:
		return s, -1
	}
	return s, 0
}

// mulS64 multiplies; ok is false on overflow.
func mulS64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	neg := (a < 0) != (b < 0)
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = -ua
	}
	if b < 0 {
		ub = -ub
	}
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 {
		return 0, false
	}
	if neg {
		if lo > 1<<63 {
			return 0, false
		}
		return -int64(lo), true
	}
	if lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

func mulScalar(a, b scalar) scalar {
	r := scalar{t: a.t.mul(b.t)}
	if hi, _ := bits.Mul64(a.umax, b.umax); hi == 0 {
		r.umin, r.umax = a.umin*b.umin, a.umax*b.umax
	} else {
		r.umin, r.umax = 0, math.MaxUint64
	}
	r.smin, r.smax = math.MinInt64, math.MaxInt64
	if lo, hi, ok := corners64(a.smin, a.smax, b.smin, b.smax); ok {
		r.smin, r.smax = lo, hi
	}
	r.unbound32()
	if p := uint64(a.u32max) * uint64(b.u32max); p <= math.MaxUint32 {
		r.u32min, r.u32max = a.u32min*b.u32min, uint32(p)
	}
	c := [4]int64{
		int64(a.s32min) * int64(b.s32min), int64(a.s32min) * int64(b.s32max),
		int64(a.s32max) * int64(b.s32min), int64(a.s32max) * int64(b.s32max),
	}
	lo, hi := min(c[0], c[1], c[2], c[3]), max(c[0], c[1], c[2], c[3])
	if lo >= math.MinInt32 && hi <= math.MaxInt32 {
		r.s32min, r.s32max = int32(lo), int32(hi)
	}
	return r
}

// corners64 is the range of x*y for x in [a1, a2], y in [b1, b2], if no
// product overflows.
func corners64(a1, a2, b1, b2 int64) (int64, int64, bool) {
	var c [4]int64
	var ok [4]bool
	c[0], ok[0] = mulS64(a1, b1)
	c[1], ok[1] = mulS64(a1, b2)
	c[2], ok[2] = mulS64(a2, b1)
	c[3], ok[3] = mulS64(a2, b2)
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
		return 0, 0, false
	}
	return min(c[0], c[1], c[2], c[3]), max(c[0], c[1], c[2], c[3]), true
}

func andScalar(a, b scalar) scalar {
	r := scalar{t: a.t.and(b.t)}
	r.umin, r.umax = r.t.umin(), min(a.umax, b.umax)
	r.smin, r.smax = math.MinInt64, math.MaxInt64
	if int64(r.umin) <= int64(r.umax) {
		r.smin, r.smax = int64(r.umin), int64(r.umax)
	}
	sub := r.t.subreg()
	r.u32min, r.u32max = uint32(sub.v), min(a.u32max, b.u32max)
	r.s32min, r.s32max = math.MinInt32, math.MaxInt32
	if int32(r.u32min) <= int32(r.u32max) {
		r.s32min, r.s32max = int32(r.u32min), int32(r.u32max)
	}
	return r
}

func orScalar(a, b scalar) scalar {
	r := scalar{t: a.t.or(b.t)}
	r.umin, r.umax = max(a.umin, b.umin), r.t.umax()
	r.smin, r.smax = math.MinInt64, math.MaxInt64
	if int64(r.umin) <= int64(r.umax) {
		r.smin, r.smax = int64(r.umin), int64(r.umax)
	}
	sub := r.t.subreg()
	r.u32min, r.u32max = max(a.u32min, b.u32min), uint32(sub.v|sub.m)
	r.s32min, r.s32max = math.MinInt32, math.MaxInt32
	if int32(r.u32min) <= int32(r.u32max) {
		r.s32min, r.s32max = int32(r.u32min), int32(r.u32max)
	}
	return r
}

func xorScalar(a, b scalar) scalar {
	r := scalar{t: a.t.xor(b.t)}
	r.umin, r.umax = r.t.umin(), r.t.umax()
	r.smin, r.smax = math.MinInt64, math.MaxInt64
	if int64(r.umin) <= int64(r.umax) {
		r.smin, r.smax = int64(r.umin), int64(r.umax)
	}
	sub := r.t.subreg()
	r.u32min, r.u32max = uint32(sub.v), uint32(sub.v|sub.m)
	r.s32min, r.s32max = math.MinInt32, math.MaxInt32
	if int32(r.u32min) <= int32(r.u32max) {
		r.s32min, r.s32max = int32(r.u32min), int32(r.u32max)
	}
	return r
}

// shiftScalar shifts by a constant k below 64, as the kernel's
// scalar_min_max_lsh/rsh/arsh.
func shiftScalar(op uint8, a scalar, k uint8) scalar {
	r := scalar{}
	r.unbound64()
	r.unbound32()
	switch op {
	case aluLsh:
		r.t = a.t.lsh(k)
		// Signed bounds survive only the common <<32 of a nonnegative
		// 32-bit value.
		if k == 32 && a.s32max >= 0 {
			r.smax = int64(a.s32max) << 32
		}
		if k == 32 && a.s32min >= 0 {
			r.smin = int64(a.s32min) << 32
		}
		if a.umax <= uint64(1)<<(63-k) {
			r.umin, r.umax = a.umin<<k, a.umax<<k
		}
		r32 := shiftScalar32(op, a, k)
		r.s32min, r.s32max, r.u32min, r.u32max = r32.s32min, r32.s32max, r32.u32min, r32.u32max
	case aluRsh:
		r.t = a.t.rsh(k)
		r.umin, r.umax = a.umin>>k, a.umax>>k
	case aluArsh:
		r.t = a.t.arsh(k)
		r.smin, r.smax = a.smin>>k, a.smax>>k
	}
	return r
}

// shiftScalar32 shifts the low half by a constant k, as the kernel's
// scalar32_min_max_lsh/rsh/arsh; the result is in the 32-bit fields and
// the low half of the tnum.
func shiftScalar32(op uint8, a scalar, k uint8) scalar {
	r := scalar{}
	r.unbound64()
	r.unbound32()
	sub := a.t.subreg()
	switch op {
	case aluLsh:
		r.t = sub.lsh(k).cast(4)
		if k <= 31 && uint64(a.u32max) <= uint64(1)<<(31-k) {
			r.u32min, r.u32max = a.u32min<<k, a.u32max<<k
		}
	case aluRsh:
		r.t = sub.rsh(k)
		r.u32min, r.u32max = a.u32min>>k, a.u32max>>k
	case aluArsh:
		r.t = sub.arsh32(k)
		r.s32min, r.s32max = a.s32min>>k, a.s32max>>k
	}
	return r
}

// negScalar is 0 - a.
func negScalar(a scalar, alu32 bool) scalar {
	return aluScalar(aluSub, constScalar(0), a, alu32)
}

// endScalar is the byte swap or conversion of a: swap reverses the low
// size bytes, else they are only kept (zero-extended).
func endScalar(a scalar, size int, swap bool) scalar {
	if !swap {
		// A conversion to little endian on a little-endian host keeps
		// the low bytes, with their bounds.
		return a.trunc(size)
	}
	r := unknownScalar()
	r.t = a.t.bswap(size)
	r.sync()
	return r
}

// contains reports whether x is one of the scalar's values.
func (s scalar) contains(x uint64) bool {
	return s.t.contains(x) && x >= s.umin && x <= s.umax && int64(x) >= s.smin && int64(x) <= s.smax &&
		uint32(x) >= s.u32min && uint32(x) <= s.u32max && int32(x) >= s.s32min && int32(x) <= s.s32max
}
