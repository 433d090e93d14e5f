package verifier

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// The abstract domain is checked against concrete arithmetic: for abstract
// operands built from small families (every tnum of four bits placed at
// the bottom, around bit 31 and at the top; ranges of up to 16 values
// around the boundaries where arithmetic wraps), every concrete operand
// pair is computed and its result must be a value of the abstract result.

// tnums4 is every tnum whose unknown and known bits are four bits at pos,
// with the other bits fixed to fill (0 or all ones).
func tnums4(pos uint8, fill uint64) []tnum {
	var out []tnum
	for v := uint64(0); v < 16; v++ {
		for m := uint64(0); m < 16; m++ {
			if v&m != 0 {
				continue
			}
			rest := fill &^ (0xf << pos)
			out = append(out, tnum{v<<pos | rest, m << pos})
		}
	}
	return out
}

func tnumMembers(a tnum) []uint64 {
	var out []uint64
	// Enumerate subsets of the mask.
	m := a.m
	for sub := m; ; sub = (sub - 1) & m {
		out = append(out, a.v|sub)
		if sub == 0 {
			break
		}
	}
	return out
}

func concreteALU(op uint8, x, y uint64, alu32 bool) uint64 {
	if alu32 {
		x, y = uint64(uint32(x)), uint64(uint32(y))
	}
	var r uint64
	switch op {
	case aluAdd:
		r = x + y
	case aluSub:
		r = x - y
	case aluMul:
		r = x * y
	case aluAnd:
		r = x & y
	case aluOr:
		r = x | y
	case aluXor:
		r = x ^ y
	case aluLsh:
		if alu32 {
			r = uint64(uint32(x) << (y & 31))
		} else {
			r = x << (y & 63)
		}
	case aluRsh:
		if alu32 {
			r = uint64(uint32(x) >> (y & 31))
		} else {
			r = x >> (y & 63)
		}
	case aluArsh:
		if alu32 {
			r = uint64(uint32(int32(uint32(x)) >> (y & 31)))
		} else {
			r = uint64(int64(x) >> (y & 63))
		}
	case aluDiv:
		if alu32 {
			if uint32(y) == 0 {
				return 0
			}
			return uint64(uint32(x) / uint32(y))
		}
		if y == 0 {
			return 0
		}
		r = x / y
	case aluMod:
		if alu32 {
			if uint32(y) == 0 {
				return uint64(uint32(x))
			}
			return uint64(uint32(x) % uint32(y))
		}
		if y == 0 {
			return x
		}
		r = x % y
	}
	if alu32 {
		r = uint64(uint32(r))
	}
	return r
}

var tnumOps = []struct {
	name string
	op   uint8
	f    func(a, b tnum) tnum
}{
	{"add", aluAdd, tnum.add},
	{"sub", aluSub, tnum.sub},
	{"mul", aluMul, tnum.mul},
	{"and", aluAnd, tnum.and},
	{"or", aluOr, tnum.or},
	{"xor", aluXor, tnum.xor},
}

func TestTnumOpsExhaustive(t *testing.T) {
	for _, fam := range []struct {
		pos  uint8
		fill uint64
	}{{0, 0}, {29, 0}, {60, 0}, {0, math.MaxUint64}, {30, math.MaxUint64}} {
		ts := tnums4(fam.pos, fam.fill)
		for _, o := range tnumOps {
			for _, a := range ts {
				am := tnumMembers(a)
				for _, b := range ts {
					r := o.f(a, b)
					for _, x := range am {
						for _, y := range tnumMembers(b) {
							if z := concreteALU(o.op, x, y, false); !r.contains(z) {
								t.Fatalf("tnum %s: %v %s %v = %v misses %#x %s %#x = %#x", o.name, a, o.name, b, r, x, o.name, y, z)
							}
						}
					}
				}
			}
		}
		for _, a := range ts {
			am := tnumMembers(a)
			for k := uint8(0); k < 64; k++ {
				for _, x := range am {
					if !a.lsh(k).contains(x<<k) || !a.rsh(k).contains(x>>k) || !a.arsh(k).contains(uint64(int64(x)>>k)) {
						t.Fatalf("tnum shift %v by %d misses %#x", a, k, x)
					}
					if k < 32 && !a.arsh32(k).contains(uint64(uint32(int32(uint32(x))>>k))) {
						t.Fatalf("tnum arsh32 %v by %d misses %#x", a, k, x)
					}
				}
			}
			for _, x := range am {
				if !a.bswap(2).contains(uint64(bits.ReverseBytes16(uint16(x)))) ||
					!a.bswap(4).contains(uint64(bits.ReverseBytes32(uint32(x)))) ||
					!a.bswap(8).contains(bits.ReverseBytes64(x)) {
					t.Fatalf("tnum bswap %v misses %#x", a, x)
				}
				for _, n := range []int{1, 2, 4} {
					if !a.sext(n).contains(uint64(signExtend(x, uint(8*n)))) || !a.cast(n).contains(x&(1<<(8*n)-1)) {
						t.Fatalf("tnum sext/cast %d of %v misses %#x", n, a, x)
					}
				}
			}
		}
		// intersect and union, in.
		for _, a := range ts {
			for _, b := range ts {
				u := a.union(b)
				in, ok := a.intersect(b)
				for _, x := range tnumMembers(a) {
					if !u.contains(x) {
						t.Fatalf("union %v %v misses %#x", a, b, x)
					}
					if b.contains(x) && (!ok || !in.contains(x)) {
						t.Fatalf("intersect %v %v misses %#x", a, b, x)
					}
				}
				all := true
				for _, x := range tnumMembers(b) {
					all = all && a.contains(x)
				}
				if a.in(b) != all {
					t.Fatalf("%v.in(%v) = %v, want %v", a, b, a.in(b), all)
				}
			}
		}
	}
}

func TestTnumRange(t *testing.T) {
	for _, c := range boundaryValues() {
		for d := uint64(0); d < 20; d++ {
			lo, hi := c, c+d
			if hi < lo {
				continue
			}
			r := tnumRange(lo, hi)
			for x := lo; ; x++ {
				if !r.contains(x) {
					t.Fatalf("tnumRange(%#x, %#x) = %v misses %#x", lo, hi, r, x)
				}
				if x == hi {
					break
				}
			}
		}
	}
}

// boundaryValues are the values around which arithmetic wraps.
func boundaryValues() []uint64 {
	var out []uint64
	for _, b := range []uint64{0, 1 << 7, 1 << 8, 1 << 15, 1 << 16, 1 << 31, 1 << 32, 1 << 33, 1 << 63, 0} {
		for d := int64(-6); d <= 6; d += 3 {
			out = append(out, b+uint64(d))
		}
	}
	return out
}

// smallScalars are abstract scalars with at most 16 values each, with
// their values.
func smallScalars(rng *rand.Rand) []struct {
	s  scalar
	xs []uint64
} {
	var out []struct {
		s  scalar
		xs []uint64
	}
	add := func(s scalar) {
		s.sync()
		if !s.valid() {
			return
		}
		// Members: the unsigned range when small, else the signed range.
		var xs []uint64
		if s.umax-s.umin < 64 {
			for x := s.umin; ; x++ {
				if s.contains(x) {
					xs = append(xs, x)
				}
				if x == s.umax {
					break
				}
			}
		} else if uint64(s.smax-s.smin) < 64 {
			for x := s.smin; ; x++ {
				if s.contains(uint64(x)) {
					xs = append(xs, uint64(x))
				}
				if x == s.smax {
					break
				}
			}
		} else {
			return
		}
		if len(xs) == 0 {
			return
		}
		out = append(out, struct {
			s  scalar
			xs []uint64
		}{s, xs})
	}
	for _, b := range boundaryValues() {
		for _, w := range []uint64{0, 1, 3, 9} {
			add(rangeScalar(b, b+w))
			add(signedRangeScalar(int64(b), int64(b)+int64(w)))
			// With some known low bits.
			s := rangeScalar(b, b+w)
			s.t, _ = s.t.intersect(tnum{b & 1, ^uint64(1)})
			add(s)
		}
	}
	for i := 0; i < 40; i++ {
		b := rng.Uint64() >> (rng.IntN(64))
		if rng.IntN(2) == 0 {
			b = -b
		}
		add(rangeScalar(b, b+uint64(rng.IntN(12))))
	}
	return out
}

func TestScalarALUSound(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	rng := rand.New(rand.NewPCG(1, 2))
	ss := smallScalars(rng)
	ops := []uint8{aluAdd, aluSub, aluMul, aluAnd, aluOr, aluXor, aluLsh, aluRsh, aluArsh, aluDiv, aluMod}
	n := 0
	for _, alu32 := range []bool{false, true} {
		for _, op := range ops {
			for _, a := range ss {
				for _, b := range ss {
					r := aluScalar(op, a.s, b.s, alu32)
					if !r.valid() {
						t.Fatalf("op %#x alu32=%v: %+v, %+v gives invalid %+v", op, alu32, a.s, b.s, r)
					}
					for _, x := range a.xs {
						for _, y := range b.xs {
							z := concreteALU(op, x, y, alu32)
							n++
							if !r.contains(z) {
								t.Fatalf("op %#x alu32=%v: %s op %s = %s misses %#x op %#x = %#x",
									op, alu32, fmtScalar(a.s), fmtScalar(b.s), fmtScalar(r), x, y, z)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d abstract operands, %d concrete results checked", len(ss), n)
}

func TestScalarUnarySound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, a := range smallScalars(rng) {
		for _, alu32 := range []bool{false, true} {
			r := negScalar(a.s, alu32)
			for _, x := range a.xs {
				want := -x
				if alu32 {
					want = uint64(uint32(-uint32(x)))
				}
				if !r.contains(want) {
					t.Fatalf("neg alu32=%v of %s = %s misses %#x", alu32, fmtScalar(a.s), fmtScalar(r), want)
				}
			}
		}
		for _, n := range []int{1, 2, 4} {
			sx, wide, tr := a.s.sext(n), a.s.sextOlder(uint(8*n)), a.s.trunc(n)
			for _, x := range a.xs {
				if !sx.contains(uint64(signExtend(x, uint(8*n)))) {
					t.Fatalf("sext %d of %s = %s misses %#x", n, fmtScalar(a.s), fmtScalar(sx), x)
				}
				if !wide.contains(uint64(signExtend(x, uint(8*n)))) {
					t.Fatalf("sext %d (older kernels' rule) of %s = %s misses %#x", n, fmtScalar(a.s), fmtScalar(wide), x)
				}
				if !tr.contains(x & (1<<(8*n) - 1)) {
					t.Fatalf("trunc %d of %s = %s misses %#x", n, fmtScalar(a.s), fmtScalar(tr), x)
				}
				if n < 4 && !a.s.sext32(n).contains(uint64(uint32(signExtend(x, uint(8*n))))) {
					t.Fatalf("sext32 %d of %s misses %#x", n, fmtScalar(a.s), x)
				}
			}
		}
		for _, n := range []int{2, 4, 8} {
			sw, cv := endScalar(a.s, n, true), endScalar(a.s, n, false)
			for _, x := range a.xs {
				var want uint64
				switch n {
				case 2:
					want = uint64(bits.ReverseBytes16(uint16(x)))
				case 4:
					want = uint64(bits.ReverseBytes32(uint32(x)))
				default:
					want = bits.ReverseBytes64(x)
				}
				if !sw.contains(want) {
					t.Fatalf("bswap %d of %s misses %#x", n, fmtScalar(a.s), x)
				}
				if n < 8 && !cv.contains(x&(1<<(8*n)-1)) || n == 8 && !cv.contains(x) {
					t.Fatalf("le %d of %s misses %#x", n, fmtScalar(a.s), x)
				}
			}
		}
	}
}

// TestScalarSyncSound builds scalars whose fields are set independently
// and checks that sync keeps every value that satisfied all of them.
func TestScalarSyncSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pool := boundaryValues()
	for i := 0; i < 200; i++ {
		pool = append(pool, rng.Uint64()>>rng.IntN(64))
	}
	pick := func() uint64 { return pool[rng.IntN(len(pool))] }
	for i := 0; i < 20000; i++ {
		s := unknownScalar()
		a, b := pick(), pick()
		if rng.IntN(2) == 0 {
			s.umin, s.umax = min(a, b), max(a, b)
		}
		a, b = pick(), pick()
		if rng.IntN(2) == 0 {
			s.smin, s.smax = min(int64(a), int64(b)), max(int64(a), int64(b))
		}
		a, b = pick(), pick()
		if rng.IntN(2) == 0 {
			s.u32min, s.u32max = min(uint32(a), uint32(b)), max(uint32(a), uint32(b))
		}
		a, b = pick(), pick()
		if rng.IntN(2) == 0 {
			s.s32min, s.s32max = min(int32(a), int32(b)), max(int32(a), int32(b))
		}
		if rng.IntN(2) == 0 {
			m := rng.Uint64() | rng.Uint64()
			s.t = tnum{pick() &^ m, m}
		}
		var members []uint64
		for _, x := range pool {
			if s.contains(x) {
				members = append(members, x)
			}
		}
		orig := s
		s.sync()
		for _, x := range members {
			if !s.contains(x) {
				t.Fatalf("sync of %+v gives %+v, which misses %#x", orig, s, x)
			}
		}
		if len(members) > 0 && !s.valid() {
			t.Fatalf("sync of %+v with members gives invalid %+v", orig, s)
		}
	}
}

// TestScalarPrecision checks a few results the kernel computes, so that
// the domain is not needlessly weaker than the kernel's.
func TestScalarPrecision(t *testing.T) {
	and := aluScalar(aluAnd, unknownScalar(), constScalar(0xff), false)
	if and.umin != 0 || and.umax != 0xff || and.smin != 0 || and.smax != 0xff {
		t.Errorf("x & 0xff = %s", fmtScalar(and))
	}
	sub := aluScalar(aluSub, aluScalar(aluAnd, unknownScalar(), constScalar(7), false), constScalar(3), false)
	if sub.smin != -3 || sub.smax != 4 {
		t.Errorf("(x & 7) - 3 = %s", fmtScalar(sub))
	}
	mul := aluScalar(aluMul, sub, constScalar(5), false)
	if mul.smin != -15 || mul.smax != 20 {
		t.Errorf("((x & 7) - 3) * 5 = %s", fmtScalar(mul))
	}
	w := unknownScalar().zext32()
	if w.umax != math.MaxUint32 || w.smin != 0 {
		t.Errorf("w = w: %s", fmtScalar(w))
	}
	sh := aluScalar(aluLsh, w, constScalar(3), true)
	if sh.umax != 0xfffffff8 || sh.t != (tnum{0, 0xfffffff8}) {
		t.Errorf("w <<= 3: %s", fmtScalar(sh))
	}
	if c := aluScalar(aluAdd, constScalar(5), constScalar(7), false); !c.isConst() || c.umin != 12 {
		t.Errorf("5 + 7 = %s", fmtScalar(c))
	}
	if d := aluScalar(aluDiv, constScalar(10), constScalar(3), false); !d.isUnknown() {
		t.Errorf("10 / 3 = %s, want unknown as the kernel", fmtScalar(d))
	}
}

func fmtScalar(s scalar) string {
	return fmt.Sprintf("{t=%v s=[%d,%d] u=[%#x,%#x] s32=[%d,%d] u32=[%#x,%#x]}", s.t, s.smin, s.smax, s.umin, s.umax, s.s32min, s.s32max, s.u32min, s.u32max)
}
