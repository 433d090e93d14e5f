package verifier

import (
	"fmt"
	"math"

	"github.com/waggle-ebpf/waggle/isa"
)

var jumpNames = map[uint8]string{
	isa.JumpEq: "==", isa.JumpGT: ">", isa.JumpGE: ">=", isa.JumpSet: "&", isa.JumpNE: "!=",
	isa.JumpSGT: "s>", isa.JumpSGE: "s>=", isa.JumpLT: "<", isa.JumpLE: "<=", isa.JumpSLT: "s<", isa.JumpSLE: "s<=",
}

// reverse is the condition of the fall-through branch.
func reverseJump(op uint8) uint8 {
	switch op {
	case isa.JumpEq:
		return isa.JumpNE
	case isa.JumpNE:
		return isa.JumpEq
	case isa.JumpGT:
		return isa.JumpLE
	case isa.JumpLE:
		return isa.JumpGT
	case isa.JumpGE:
		return isa.JumpLT
	case isa.JumpLT:
		return isa.JumpGE
	case isa.JumpSGT:
		return isa.JumpSLE
	case isa.JumpSLE:
		return isa.JumpSGT
	case isa.JumpSGE:
		return isa.JumpSLT
	case isa.JumpSLT:
		return isa.JumpSGE
	case isa.JumpSet:
		return jumpNotSet
	case jumpNotSet:
		return isa.JumpSet
	}
	return op
}

// jumpNotSet is the reverse of jset: (a & b) == 0.
const jumpNotSet uint8 = 0xe0

// flipJump is the condition with its operands swapped.
func flipJump(op uint8) uint8 {
	switch op {
	case isa.JumpGT:
		return isa.JumpLT
	case isa.JumpLT:
		return isa.JumpGT
	case isa.JumpGE:
		return isa.JumpLE
	case isa.JumpLE:
		return isa.JumpGE
	case isa.JumpSGT:
		return isa.JumpSLT
	case isa.JumpSLT:
		return isa.JumpSGT
	case isa.JumpSGE:
		return isa.JumpSLE
	case isa.JumpSLE:
		return isa.JumpSGE
	}
	return op
}

func (v *verifier) checkCondJump(insn int, ins isa.Instruction) (int, *vErr) {
	op := ins.Op()
	jmp32 := ins.Class() == isa.ClassJMP32
	target := v.prog.target(insn)
	dp, err := v.readReg(ins.Dst)
	if err != nil {
		return -1, err
	}
	dv := *dp
	d := &dv
	var src reg
	srcX := ins.Source() == isa.SourceX
	if srcX {
		s, err := v.readReg(ins.Src)
		if err != nil {
			return -1, err
		}
		src = *s
		if v.strict && src.isPtr() && !(d.isPacketPtr() || d.typ == regPacketEnd) {
			return -1, v.errf(int(ins.Src), fmt.Sprintf("R%d pointer comparison prohibited", ins.Src),
				"unprivileged programs may not compare pointers (%s)", v.typeWords(&src))
		}
	} else {
		src = constReg(uint64(int64(ins.Imm32())), insn)
	}
	pred := branchTaken(d, &src, op, jmp32)
	if pred >= 0 {
		if d.typ == regScalar {
			v.markPrecise(int(ins.Dst))
		}
		if srcX && src.typ == regScalar {
			v.markPrecise(int(ins.Src))
		}
	}
	switch pred {
	case 1:
		v.cur.addKnownJump(insn, ins, "always taken", v.whyKnownLater(d, &src, srcX))
		return target, nil
	case 0:
		v.cur.addKnownJump(insn, ins, "never taken", v.whyKnownLater(d, &src, srcX))
		return insn + 1, nil
	}
	// Both ways are possible: the taken branch is explored later.
	v.linkHistory(d, &src, srcX, ins)
	other := v.pool.clone(v.cur)
	taken, fall := true, true
	ores, cres := &other.cur().regs, &v.cur.cur().regs
	if d.typ == regScalar && src.typ == regScalar {
		od, cd := &ores[ins.Dst], &cres[ins.Dst]
		os, cs := src, src
		if srcX {
			os, cs = ores[ins.Src], cres[ins.Src]
		}
		taken = refine(&od.s, &os.s, op, jmp32)
		fall = refine(&cd.s, &cs.s, reverseJump(op), jmp32)
		if srcX {
			ores[ins.Src], cres[ins.Src] = os, cs
			if src.id != 0 {
				v.syncLinked(other, &ores[ins.Src])
				v.syncLinked(v.cur, &cres[ins.Src])
			}
		}
		if d.id != 0 {
			v.syncLinked(other, &ores[ins.Dst])
			v.syncLinked(v.cur, &cres[ins.Dst])
		}
		if v.raw {
			v.rawLength(other)
			v.rawLength(v.cur)
		}
	} else if !jmp32 && !srcX && ins.Imm32() == 0 && (op == isa.JumpEq || op == isa.JumpNE) && d.maybeNull() {
		v.markPtrOrNull(v.cur, d.id, op == isa.JumpNE)
		v.markPtrOrNull(other, d.id, op == isa.JumpEq)
	} else if !jmp32 && srcX && v.matchPacketPointers(ins, d, &src, other) {
	} else if v.strict && d.isPtr() {
		return -1, v.errf(int(ins.Dst), fmt.Sprintf("R%d pointer comparison prohibited", ins.Dst),
			"unprivileged programs may not compare pointers (%s)", v.typeWords(d))
	}
	switch {
	case taken && fall:
		other.addJump(insn, ins, "taken")
		v.cur.addJump(insn, ins, "not taken")
		if err := v.pushChecked(other, target, insn); err != nil {
			return -1, err
		}
		return insn + 1, nil
	case taken:
		v.pool.put(v.cur)
		v.cur = other
		v.cur.addJump(insn, ins, "always taken")
		return target, nil
	case fall:
		v.pool.put(other)
		v.cur.addJump(insn, ins, "never taken")
		return insn + 1, nil
	}
	// Neither: the bounds contradict each other; the path cannot happen.
	v.pool.put(other)
	return -1, nil
}

// pushChecked queues a branch, within the kernel's limit on pending
// branches.
func (v *verifier) pushChecked(st *state, insn, prev int) *vErr {
	if len(v.pending) >= 8192 {
		return v.errf(-1, fmt.Sprintf("The sequence of %d jumps is too complex.", len(v.pending)),
			"more than 8192 branches wait to be explored: the program has too many paths")
	}
	v.push(st, insn, prev)
	return nil
}

func condText(ins isa.Instruction) string {
	w := "r"
	if ins.Class() == isa.ClassJMP32 {
		w = "w"
	}
	rhs := fmt.Sprintf("%#x", ins.Imm32())
	if ins.Imm32() < 0 {
		rhs = fmt.Sprintf("%d", ins.Imm32())
	}
	if ins.Source() == isa.SourceX {
		rhs = fmt.Sprintf("%s%d", w, ins.Src)
	}
	return fmt.Sprintf("%s%d %s %s", w, ins.Dst, jumpNames[ins.Op()], rhs)
}

// whyKnownLater returns whyKnown of copies of d and s, to be formatted
// only if an explanation needs it. The words about a pointer depend on
// the current state, so they are formatted now.
func (v *verifier) whyKnownLater(d, s *reg, srcX bool) func() string {
	if d.isPtr() {
		why := v.whyKnown(d, s, srcX)
		return func() string { return why }
	}
	dc, sc := *d, *s
	return func() string { return v.whyKnown(&dc, &sc, srcX) }
}

// whyKnown says why a branch's direction is known.
func (v *verifier) whyKnown(d, s *reg, srcX bool) string {
	out := ""
	if d.typ == regScalar {
		out = " (" + "left side " + v.valueWords(d) + ")"
	} else if d.isPtr() {
		out = " (" + v.typeWords(d) + ")"
	}
	if srcX && s.typ == regScalar {
		out += " (right side " + v.valueWords(s) + ")"
	}
	return out
}

// branchTaken is 1 when the jump is always taken, 0 when never, -1 when
// either may happen, as the kernel's is_branch_taken.
func branchTaken(a, b *reg, op uint8, jmp32 bool) int {
	if a.isPacketPtr() && b.typ == regPacketEnd || a.typ == regPacketEnd && b.isPacketPtr() {
		if jmp32 {
			return -1
		}
		return pktBranchTaken(a, b, op)
	}
	if a.isPtr() || b.isPtr() {
		// A pointer that cannot be NULL compared with 0.
		if !isConstReg(b, jmp32) {
			op = flipJump(op)
			a, b = b, a
		}
		if !isConstReg(b, jmp32) || !notNull(a) {
			return -1
		}
		if constOf(b, jmp32) != 0 {
			return -1
		}
		switch op {
		case isa.JumpEq:
			return 0
		case isa.JumpNE:
			return 1
		}
		return -1
	}
	return scalarBranchTaken(a.s, b.s, op, jmp32)
}

func isConstReg(r *reg, jmp32 bool) bool {
	if r.typ != regScalar {
		return false
	}
	if jmp32 {
		return r.s.isConst32()
	}
	return r.s.isConst()
}

func constOf(r *reg, jmp32 bool) uint64 {
	if jmp32 {
		return uint64(uint32(r.s.t.v))
	}
	return r.s.t.v
}

// notNull reports whether a pointer is known not to be NULL.
func notNull(r *reg) bool {
	if r.maybeNull() {
		return false
	}
	switch r.typ {
	case regMapValue, regMapKey, regMem, regMapPtr:
		return true
	}
	return false
}

func pktBranchTaken(a, b *reg, op uint8) int {
	pkt := a
	if a.typ == regPacketEnd {
		pkt = b
		op = flipJump(op)
	}
	if pkt.size >= 0 {
		return -1
	}
	switch op {
	case isa.JumpLE, isa.JumpGT:
		if pkt.size == rangeBeyondEnd {
			return b2i(op == isa.JumpGT)
		}
	case isa.JumpLT, isa.JumpGE:
		if pkt.size == rangeBeyondEnd || pkt.size == rangeAtEnd {
			return b2i(op == isa.JumpGE)
		}
	}
	return -1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scalarBranchTaken decides a comparison of two scalars from their bounds.
func scalarBranchTaken(a, b scalar, op uint8, jmp32 bool) int {
	var umin1, umax1, umin2, umax2 uint64
	var smin1, smax1, smin2, smax2 int64
	var t1, t2 tnum
	if jmp32 {
		umin1, umax1, umin2, umax2 = uint64(a.u32min), uint64(a.u32max), uint64(b.u32min), uint64(b.u32max)
		smin1, smax1, smin2, smax2 = int64(a.s32min), int64(a.s32max), int64(b.s32min), int64(b.s32max)
		t1, t2 = a.t.subreg(), b.t.subreg()
	} else {
		umin1, umax1, umin2, umax2 = a.umin, a.umax, b.umin, b.umax
		smin1, smax1, smin2, smax2 = a.smin, a.smax, b.smin, b.smax
		t1, t2 = a.t, b.t
	}
	switch op {
	case isa.JumpEq:
		if t1.isConst() && t2.isConst() {
			return b2i(t1.v == t2.v)
		}
		if umin1 > umax2 || umax1 < umin2 || smin1 > smax2 || smax1 < smin2 {
			return 0
		}
		if _, ok := t1.intersect(t2); !ok {
			return 0
		}
	case isa.JumpNE:
		if r := scalarBranchTaken(a, b, isa.JumpEq, jmp32); r >= 0 {
			return 1 - r
		}
	case isa.JumpSet:
		if t2.isConst() {
			if t1.v&t2.v != 0 {
				return 1
			}
			if (t1.v|t1.m)&t2.v == 0 {
				return 0
			}
		} else if t1.isConst() {
			return scalarBranchTaken(b, a, op, jmp32)
		} else if (t1.v|t1.m)&(t2.v|t2.m) == 0 {
			return 0
		}
	case jumpNotSet:
		if r := scalarBranchTaken(a, b, isa.JumpSet, jmp32); r >= 0 {
			return 1 - r
		}
	case isa.JumpGT:
		if umin1 > umax2 {
			return 1
		}
		if umax1 <= umin2 {
			return 0
		}
	case isa.JumpGE:
		if umin1 >= umax2 {
			return 1
		}
		if umax1 < umin2 {
			return 0
		}
	case isa.JumpLT:
		if umax1 < umin2 {
			return 1
		}
		if umin1 >= umax2 {
			return 0
		}
	case isa.JumpLE:
		if umax1 <= umin2 {
			return 1
		}
		if umin1 > umax2 {
			return 0
		}
	case isa.JumpSGT:
		if smin1 > smax2 {
			return 1
		}
		if smax1 <= smin2 {
			return 0
		}
	case isa.JumpSGE:
		if smin1 >= smax2 {
			return 1
		}
		if smax1 < smin2 {
			return 0
		}
	case isa.JumpSLT:
		if smax1 < smin2 {
			return 1
		}
		if smin1 >= smax2 {
			return 0
		}
	case isa.JumpSLE:
		if smax1 <= smin2 {
			return 1
		}
		if smin1 > smax2 {
			return 0
		}
	}
	return -1
}

// refine narrows a and b on the branch where "a op b" holds. It returns
// false when that cannot be (the branch is dead).
func refine(a, b *scalar, op uint8, jmp32 bool) bool {
	switch op {
	case isa.JumpEq:
		if jmp32 {
			lo := max(a.u32min, b.u32min)
			hi := min(a.u32max, b.u32max)
			a.u32min, a.u32max, b.u32min, b.u32max = lo, hi, lo, hi
			slo := max(a.s32min, b.s32min)
			shi := min(a.s32max, b.s32max)
			a.s32min, a.s32max, b.s32min, b.s32max = slo, shi, slo, shi
			t, ok := a.t.subreg().intersect(b.t.subreg())
			if !ok {
				return false
			}
			a.t, b.t = a.t.withSubreg(t), b.t.withSubreg(t)
		} else {
			lo := max(a.umin, b.umin)
			hi := min(a.umax, b.umax)
			a.umin, a.umax, b.umin, b.umax = lo, hi, lo, hi
			slo := max(a.smin, b.smin)
			shi := min(a.smax, b.smax)
			a.smin, a.smax, b.smin, b.smax = slo, shi, slo, shi
			t, ok := a.t.intersect(b.t)
			if !ok {
				return false
			}
			a.t, b.t = t, t
		}
	case isa.JumpNE:
		// Only a constant at an end of the other's range narrows it.
		if jmp32 {
			if b.isConst32() {
				neRange32(a, uint32(b.t.v))
			} else if a.isConst32() {
				neRange32(b, uint32(a.t.v))
			}
		} else {
			if b.isConst() {
				neRange64(a, b.t.v)
			} else if a.isConst() {
				neRange64(b, a.t.v)
			}
		}
	case isa.JumpSet:
		x, y := a, b
		if !y.isConstW(jmp32) {
			x, y = b, a
		}
		if y.isConstW(jmp32) {
			val := y.t.v
			if jmp32 {
				val = uint64(uint32(val))
			}
			if val&(val-1) == 0 && val != 0 {
				x.t = x.t.or(tnumConst(val))
			}
		}
	case jumpNotSet:
		x, y := a, b
		if !y.isConstW(jmp32) {
			x, y = b, a
		}
		if y.isConstW(jmp32) {
			val := y.t.v
			// The kernel forgets the ranges before narrowing the
			// known bits.
			x.unbound64()
			x.unbound32()
			if jmp32 {
				val = uint64(uint32(val))
				t := x.t.subreg().and(tnumConst(^val & lo32))
				x.t = x.t.withSubreg(t)
			} else {
				x.t = x.t.and(tnumConst(^val))
			}
		}
	case isa.JumpLE, isa.JumpLT:
		d := uint64(0)
		if op == isa.JumpLT {
			d = 1
		}
		if jmp32 {
			if d == 1 && (b.u32max == 0 || a.u32min == math.MaxUint32) {
				return false
			}
			a.u32max = min(a.u32max, b.u32max-uint32(d))
			b.u32min = max(b.u32min, a.u32min+uint32(d))
		} else {
			if d == 1 && (b.umax == 0 || a.umin == math.MaxUint64) {
				return false
			}
			a.umax = min(a.umax, b.umax-d)
			b.umin = max(b.umin, a.umin+d)
		}
	case isa.JumpGE, isa.JumpGT:
		return refine(b, a, flipJump(op), jmp32)
	case isa.JumpSLE, isa.JumpSLT:
		d := int64(0)
		if op == isa.JumpSLT {
			d = 1
		}
		if jmp32 {
			if d == 1 && (b.s32max == math.MinInt32 || a.s32min == math.MaxInt32) {
				return false
			}
			a.s32max = min(a.s32max, b.s32max-int32(d))
			b.s32min = max(b.s32min, a.s32min+int32(d))
		} else {
			if d == 1 && (b.smax == math.MinInt64 || a.smin == math.MaxInt64) {
				return false
			}
			a.smax = min(a.smax, b.smax-d)
			b.smin = max(b.smin, a.smin+d)
		}
	case isa.JumpSGE, isa.JumpSGT:
		return refine(b, a, flipJump(op), jmp32)
	}
	a.sync()
	b.sync()
	return a.valid() && b.valid()
}

func (s scalar) isConstW(jmp32 bool) bool {
	if jmp32 {
		return s.isConst32()
	}
	return s.isConst()
}

func neRange64(a *scalar, c uint64) {
	if a.umin == c {
		a.umin++
	} else if a.umax == c {
		a.umax--
	}
	if a.smin == int64(c) {
		a.smin++
	} else if a.smax == int64(c) {
		a.smax--
	}
	if a.umin > a.umax || a.smin > a.smax {
		a.umin, a.umax = 1, 0
	}
}

func neRange32(a *scalar, c uint32) {
	if a.u32min == c {
		a.u32min++
	} else if a.u32max == c {
		a.u32max--
	}
	if a.s32min == int32(c) {
		a.s32min++
	} else if a.s32max == int32(c) {
		a.s32max--
	}
	if a.u32min > a.u32max || a.s32min > a.s32max {
		a.u32min, a.u32max = 1, 0
	}
}

// syncLinked gives the registers linked to known (same id) the bounds
// known now has, shifted by their constant difference.
func (v *verifier) syncLinked(st *state, known *reg) {
	id := known.id
	if id == 0 {
		return
	}
	k := *known
	st.forEachReg(func(r *reg) {
		if r == known || r.typ != regScalar || r.id != id {
			return
		}
		kc := k.flags & (flagAddConst | flagAddConst32)
		rc := r.flags & (flagAddConst | flagAddConst32)
		if kc == 0 && rc == 0 || r.off == k.off && kc == rc {
			saved := *r
			*r = k
			r.origin = saved.origin
			r.off, r.flags = saved.off, saved.flags
			return
		}
		// r = known + (r.off - known.off)
		delta := constScalar(uint64(int64(r.off) - int64(k.off)))
		var s scalar
		if k.flags&flagAddConst32 != 0 || r.flags&flagAddConst32 != 0 {
			s = aluScalar(aluAdd, k.s, delta, true)
		} else {
			s = aluScalar(aluAdd, k.s, delta, false)
		}
		saved := *r
		*r = k
		r.s = s
		r.origin, r.off, r.flags = saved.origin, saved.off, saved.flags
	})
}

// rawLength grows the range of the memory pointers of a RawMemory program
// after a comparison taught something about the length in r2.
func (v *verifier) rawLength(st *state) {
	var n uint64
	found := false
	st.forEachReg(func(r *reg) {
		if r.typ == regScalar && r.id == v.lenID && r.flags&(flagAddConst|flagAddConst32) == 0 {
			n = max(n, r.s.umin)
			found = true
		}
	})
	if !found || n == 0 {
		return
	}
	n = min(n, maxPacketOff)
	st.forEachReg(func(r *reg) {
		if r.typ == regPacket && r.id == 0 && r.size >= 0 {
			r.size = max(r.size, int32(n))
		}
	})
}

// markPtrOrNull applies a NULL test of the pointers with id: on the
// branch where it is NULL they become the number 0, elsewhere pointers
// that are not NULL.
func (v *verifier) markPtrOrNull(st *state, id uint32, isNull bool) {
	if id == 0 {
		return
	}
	var ref uint32
	st.forEachReg(func(r *reg) {
		if !r.maybeNull() || r.id != id {
			return
		}
		if isNull {
			if r.ref != 0 {
				ref = r.ref
			}
			origin := r.origin
			*r = constReg(0, int(origin))
			return
		}
		r.flags &^= flagMaybeNull
		if r.typ == regMapValue {
			m := v.maps[r.aux]
			if m.InnerMap != nil {
				r.typ = regMapPtr
				r.aux = v.mapIndex(m.InnerMap)
			}
			if !m.HasSpinLock {
				r.id = 0
			}
		} else {
			r.id = 0
		}
	})
	if isNull && ref != 0 {
		v.dropRef(st, ref)
	}
}

// dropRef forgets an acquired reference without touching the registers.
func (v *verifier) dropRef(st *state, id uint32) {
	for i, r := range st.refs {
		if r.id == id {
			st.refs = append(st.refs[:i:i], st.refs[i+1:]...)
			return
		}
	}
}

// matchPacketPointers learns packet bounds from a comparison of a packet
// pointer with the packet's end (or of the metadata with the data), as
// the kernel's try_match_pkt_pointers. other is the taken branch.
func (v *verifier) matchPacketPointers(ins isa.Instruction, d, s *reg, other *state) bool {
	cur := v.cur
	dstR, srcR := ins.Dst, ins.Src
	isPkt := func(r *reg) bool { return r.typ == regPacket }
	initPkt := func(r *reg, t regType) bool {
		return r.typ == t && r.off == 0 && !r.hasVarOff() && r.size == 0 || r.typ == t && r.off == 0 && !r.hasVarOff()
	}
	dataVsEnd := isPkt(d) && s.typ == regPacketEnd || d.typ == regPacketMeta && initPkt(s, regPacket)
	endVsData := d.typ == regPacketEnd && isPkt(s) || initPkt(d, regPacket) && s.typ == regPacketMeta
	switch ins.Op() {
	case isa.JumpGT:
		if dataVsEnd {
			// pkt' > end: the fall-through has pkt' <= end.
			v.goodPacketPointers(cur, d, false)
			markPacketEnd(other, dstR, true)
		} else if endVsData {
			v.goodPacketPointers(other, s, true)
			markPacketEnd(cur, srcR, false)
		} else {
			return false
		}
	case isa.JumpLT:
		if dataVsEnd {
			// pkt' < end: the taken branch.
			v.goodPacketPointers(other, d, true)
			markPacketEnd(cur, dstR, false)
		} else if endVsData {
			v.goodPacketPointers(cur, s, false)
			markPacketEnd(other, srcR, true)
		} else {
			return false
		}
	case isa.JumpGE:
		if dataVsEnd {
			v.goodPacketPointers(cur, d, true)
			markPacketEnd(other, dstR, false)
		} else if endVsData {
			v.goodPacketPointers(other, s, false)
			markPacketEnd(cur, srcR, true)
		} else {
			return false
		}
	case isa.JumpLE:
		if dataVsEnd {
			v.goodPacketPointers(other, d, false)
			markPacketEnd(cur, dstR, true)
		} else if endVsData {
			v.goodPacketPointers(cur, s, true)
			markPacketEnd(other, srcR, false)
		} else {
			return false
		}
	default:
		return false
	}
	return true
}

// goodPacketPointers records that the packet holds at least the bytes up
// to the pointer cmp (plus one when the comparison was strict) after the
// start of cmp's group, as the kernel's find_good_pkt_pointers.
func (v *verifier) goodPacketPointers(st *state, cmp *reg, rightOpen bool) {
	if cmp.off < 0 || cmp.off == 0 && rightOpen {
		return
	}
	if cmp.s.umax > maxPacketOff || cmp.s.umax+uint64(cmp.off) > maxPacketOff {
		return
	}
	n := cmp.off
	if rightOpen {
		n++
	}
	typ, id := cmp.typ, cmp.id
	st.forEachReg(func(r *reg) {
		if r.typ == typ && r.id == id {
			r.size = max(r.size, n)
		}
	})
}

// markPacketEnd records on a branch that a packet pointer is at or past
// the packet's end.
func markPacketEnd(st *state, r isa.Register, beyond bool) {
	rg := &st.cur().regs[r]
	if rg.typ != regPacket {
		return
	}
	if beyond {
		rg.size = rangeBeyondEnd
	} else {
		rg.size = rangeAtEnd
	}
}

// linkHistory records, for precision tracking, the registers and spilled
// registers (stack slots) linked to the operands of a conditional jump:
// the jump bounds them all, so a need for the exact bounds of any of them
// makes all of them precise before the jump (the kernel's linked
// registers, which include stack slots).
func (v *verifier) linkHistory(d, s *reg, srcX bool, ins isa.Instruction) {
	var set linkSet
	n := 0
	add := func(id uint32) {
		if id == 0 {
			return
		}
		for fi, f := range v.cur.frames {
			if fi >= maxFrames {
				break
			}
			for i := range f.regs {
				if f.regs[i].typ == regScalar && f.regs[i].id == id {
					set.regs[fi] |= 1 << i
					n++
				}
			}
			for spi := range f.stack {
				if spi >= 64 {
					break
				}
				if sl := &f.stack[spi]; sl.kind[0] == stSpill && sl.spill.typ == regScalar && sl.spill.id == id {
					set.stack[fi] |= 1 << spi
					n++
				}
			}
		}
	}
	if d.typ == regScalar {
		add(d.id)
	}
	if srcX && s.typ == regScalar {
		add(s.id)
	}
	if n > 1 {
		v.histEntry().linked = &set
	}
}
