package seccomp

// The kernel does not run a task's filters for a system call that it has
// found they allow whatever the call's arguments (the action cache of
// Linux 5.11, per architecture and call number): when a filter is
// installed, it emulates the filter once per call number with only
// seccomp_data's nr and arch known, and caches ALLOW where the filter
// reaches `ret ALLOW` through loads of nr and arch, jumps on constants
// and AND with a constant alone. A lowered policy keeps the eBPF
// program's registers in scratch words (`st`, `ld M[]`) and may compare
// nr as signed (`xor`), which that emulation does not follow, so the
// kernel would run the whole filter on every system call of the command.
// allowPrefix puts in front of such a filter a prefix that the emulation
// follows, deciding ALLOW for the call numbers for which the filter
// itself always allows; every other call falls through to the filter.

// auditArchX86_64 is AUDIT_ARCH_X86_64, the architecture whose calls the
// prefix decides (the filter decides any other).
const auditArchX86_64 = 0xc000003e

// maxPrefixRanges bounds the prefix's runs of allowed call numbers: each
// costs two instructions, and every jump of the prefix must reach its end
// with an 8-bit offset.
const maxPrefixRanges = 100

// allowPrefix returns f with a prefix that the kernel's action cache
// follows for every x86-64 call number below TableSize that f allows
// whatever the call's arguments and instruction pointer, or f itself when
// the cache follows f already for all of them (or there are none, or too
// many runs of them).
func allowPrefix(f Filter) Filter {
	type span struct{ lo, hi uint32 }
	var spans []span
	followed := true
	for nr := uint32(0); nr < TableSize; nr++ {
		if action, ok := f.constAction(nr); !ok || action != RetAllow {
			continue
		}
		followed = followed && f.cacheFollows(nr)
		if n := len(spans); n > 0 && spans[n-1].hi == nr-1 {
			spans[n-1].hi = nr
		} else {
			spans = append(spans, span{nr, nr})
		}
	}
	if followed || len(spans) > maxPrefixRanges || 4+2*len(spans)+len(f) > MaxInstructions {
		return f
	}
	// ld [arch]; jeq ARCH; ld [nr]; per span: jgt hi (the next span's
	// test, or the filter after the last), jge lo (allow, else the
	// filter); ret ALLOW; the filter.
	n := 3 + 2*len(spans) + 1 // the prefix's length; the filter starts at n
	allow := n - 1
	p := make(Filter, 0, n+len(f))
	jumpTo := func(target int) uint8 { return uint8(target - len(p) - 1) }
	p = append(p, Instruction{Code: clsLD | sizeW | modeABS, K: 4})
	p = append(p, Instruction{Code: clsJMP | jmpJEQ | srcK, K: auditArchX86_64, Jt: 0, Jf: jumpTo(n)})
	p = append(p, Instruction{Code: clsLD | sizeW | modeABS, K: 0})
	for i, s := range spans {
		above := uint8(1) // the next span's test
		if i == len(spans)-1 {
			above = jumpTo(n)
		}
		p = append(p, Instruction{Code: clsJMP | jmpJGT | srcK, K: s.hi, Jt: above, Jf: 0})
		p = append(p, Instruction{Code: clsJMP | jmpJGE | srcK, K: s.lo, Jt: jumpTo(allow), Jf: jumpTo(n)})
	}
	p = append(p, Instruction{Code: clsRET | retK, K: RetAllow})
	return append(p, f...)
}

// constAction is the action of f for x86-64 call nr when it does not
// depend on the call's arguments or instruction pointer (ok false when
// it does, or f fails).
func (f Filter) constAction(nr uint32) (uint32, bool) {
	action, err := f.run(func(off uint32) (uint32, bool) {
		switch off {
		case 0:
			return nr, true
		case 4:
			return auditArchX86_64, true
		}
		return 0, false
	})
	return action, err == nil
}

// cacheFollows reports whether the kernel's action cache finds that f
// allows x86-64 call nr: the path f takes for it holds only loads of nr
// and arch, jumps on constants, AND with a constant and `ret ALLOW`.
func (f Filter) cacheFollows(nr uint32) bool {
	var a uint32
	for pc := 0; pc < len(f); pc++ {
		in := f[pc]
		switch {
		case in.Code == clsLD|sizeW|modeABS && in.K == 0:
			a = nr
		case in.Code == clsLD|sizeW|modeABS && in.K == 4:
			a = auditArchX86_64
		case in.Code == clsALU|aluAND|srcK:
			a &= in.K
		case in.Code == clsJMP|jmpJA:
			pc += int(in.K)
		case in.Code&0x07 == clsJMP && in.Code&srcX == 0:
			var taken bool
			switch in.Code & 0xf0 {
			case jmpJEQ:
				taken = a == in.K
			case jmpJGT:
				taken = a > in.K
			case jmpJGE:
				taken = a >= in.K
			case jmpJSET:
				taken = a&in.K != 0
			default:
				return false
			}
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case in.Code == clsRET|retK:
			return in.K == RetAllow
		default:
			return false
		}
	}
	return false
}
