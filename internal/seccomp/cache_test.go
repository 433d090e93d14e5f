package seccomp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func ld(off uint32) Instruction  { return Instruction{Code: clsLD | sizeW | modeABS, K: off} }
func st(w uint32) Instruction    { return Instruction{Code: clsST, K: w} }
func ldMem(w uint32) Instruction { return Instruction{Code: clsLD | sizeW | modeMEM, K: w} }
func ret(k uint32) Instruction   { return Instruction{Code: clsRET | retK, K: k} }
func xorK(k uint32) Instruction  { return Instruction{Code: clsALU | aluXOR | srcK, K: k} }
func jeq(k uint32, t, f uint8) Instruction {
	return Instruction{Code: clsJMP | jmpJEQ | srcK, K: k, Jt: t, Jf: f}
}
func jgt(k uint32, t, f uint8) Instruction {
	return Instruction{Code: clsJMP | jmpJGT | srcK, K: k, Jt: t, Jf: f}
}

// TestAllowPrefix: a filter the kernel's action cache cannot follow gets
// a prefix that it follows for every call the filter always allows, and
// the prefixed filter decides every seccomp_data as the filter does.
func TestAllowPrefix(t *testing.T) {
	const errno = RetErrno | 1
	// Many runs of allowed calls: every other call number denied.
	var striped Filter
	striped = append(striped, ld(4), jeq(auditArchX86_64, 1, 0), ret(RetKillProcess), ld(0), st(0))
	for nr := uint32(0); nr < 2*maxPrefixRanges+4; nr += 2 {
		striped = append(striped, ldMem(0), jeq(nr, 0, 1), ret(errno))
	}
	striped = append(striped, ret(RetAllow))
	for _, tc := range []struct {
		name     string
		f        Filter
		prefixed bool
		allowed  int // call numbers below TableSize that are always allowed
	}{
		{"followed already (deny_unlink's shape)", Filter{
			ld(4), jeq(auditArchX86_64, 1, 0), ret(RetKillProcess),
			ld(0), jeq(87, 0, 1), ret(errno), jeq(263, 0, 1), ret(errno), ret(RetAllow),
		}, false, TableSize - 2},
		{"nr kept in a scratch word", Filter{
			ld(4), jeq(auditArchX86_64, 1, 0), ret(RetKillProcess),
			ld(0), st(0), ldMem(0), jeq(87, 0, 1), ret(errno), ret(RetAllow),
		}, true, TableSize - 1},
		{"nr compared as signed", Filter{
			ld(4), jeq(auditArchX86_64, 1, 0), ret(RetKillProcess),
			ld(0), xorK(0x80000000), jgt(0x80000000+300, 0, 1), ret(errno), ret(RetAllow),
		}, true, 301},
		{"an argument decides some calls", Filter{
			ld(4), jeq(auditArchX86_64, 1, 0), ret(RetKillProcess),
			ld(0), st(0), jeq(257, 0, 3), ld(32), jeq(0, 1, 0), ret(errno), ldMem(0), jeq(2, 0, 1), ret(errno), ret(RetAllow),
		}, true, TableSize - 2},
		{"too many runs", striped, false, TableSize - (maxPrefixRanges + 2)},
		{"nothing always allowed", Filter{ld(0), st(0), ret(errno)}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := allowPrefix(tc.f)
			if got := len(p) != len(tc.f); got != tc.prefixed {
				t.Fatalf("prefixed %v, want %v:\n%s", got, tc.prefixed, p)
			}
			allowed := 0
			for nr := uint32(0); nr < TableSize; nr++ {
				action, ok := tc.f.constAction(nr)
				if !ok || action != RetAllow {
					if p.cacheFollows(nr) {
						t.Errorf("call %d: the cache would allow it, the filter does not always", nr)
					}
					continue
				}
				allowed++
				if tc.prefixed && !p.cacheFollows(nr) {
					t.Errorf("call %d: always allowed, but the cache cannot follow the prefixed filter", nr)
				}
			}
			if allowed != tc.allowed {
				t.Errorf("%d calls always allowed, want %d", allowed, tc.allowed)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for range 20000 {
				var d [DataSize]byte
				for i := 0; i < DataSize; i += 8 {
					binary.NativeEndian.PutUint64(d[i:], r.Uint64()&[]uint64{0, 1, 0xff, ^uint64(0)}[r.IntN(4)])
				}
				nr := []uint32{uint32(r.IntN(TableSize + 8)), 0x40000000 | uint32(r.IntN(600)), r.Uint32()}[r.IntN(3)]
				binary.NativeEndian.PutUint32(d[0:], nr)
				arch := []uint32{auditArchX86_64, 0x40000003, r.Uint32()}[r.IntN(3)]
				binary.NativeEndian.PutUint32(d[4:], arch)
				want, werr := tc.f.Run(&d)
				got, gerr := p.Run(&d)
				if got != want || (werr == nil) != (gerr == nil) {
					t.Fatalf("nr %#x arch %#x: prefixed %#x (%v), filter %#x (%v)", nr, arch, got, gerr, want, werr)
				}
			}
		})
	}
}
