package verifier

import "github.com/waggle-ebpf/waggle/isa"

// checkMayGoto verifies may_goto as the kernel does: both ways are
// possible, whatever the state. The path goes on at the jump target (the
// loop's exit, when may_goto guards a loop) and the fall-through is
// queued one may_goto deeper, with the imprecise scalars that changed
// since the path was last at this instruction widened to unknown, so that
// the iterations of the loop converge (visit compares the states of a
// may_goto by range).
func (v *verifier) checkMayGoto(insn int, ins isa.Instruction) (int, *vErr) {
	fall := v.pool.clone(v.cur)
	fall.mayGotoDepth++
	if prev := v.prevEntry(insn); prev != nil {
		v.widenImprecise(prev, fall)
	}
	fall.addJump(insn, ins, "not taken")
	v.cur.addJump(insn, ins, "taken")
	if err := v.pushChecked(fall, insn+1, insn); err != nil {
		return -1, err
	}
	return v.prog.target(insn), nil
}

// prevEntry is the kernel's find_prev_entry: the most recent checkpoint
// at insn that is an ancestor of the current path (still being explored)
// with the same call sites, other than the checkpoint just made there.
func (v *verifier) prevEntry(insn int) *state {
	cur := v.cur
	list := v.explored[insn]
	for k := len(list) - 1; k >= 0; k-- {
		s := list[k].st
		if s == cur.parent || s.branches == 0 || len(s.frames) != len(cur.frames) {
			continue
		}
		same := true
		for i := range s.frames {
			if s.frames[i].callsite != cur.frames[i].callsite {
				same = false
			}
		}
		if same {
			return s
		}
	}
	return nil
}

// widenImprecise is the kernel's widen_imprecise_scalars: the scalars of
// cur that are imprecise in both states and differ from old's become
// unknown.
func (v *verifier) widenImprecise(old, cur *state) {
	var ids idMap
	widen := func(o, c *reg) {
		if o.typ != regScalar || c.typ != regScalar || o.precise || c.precise || v.regsExact(o, c, &ids) {
			return
		}
		*c = unknownReg(int(c.origin))
		c.precise = false
	}
	for fi := range cur.frames {
		of, cf := old.frames[fi], cur.frames[fi]
		for r := range of.regs {
			widen(&of.regs[r], &cf.regs[r])
		}
		for spi := 0; spi < min(len(of.stack), len(cf.stack)); spi++ {
			if _, ok := of.stack[spi].spilled(); !ok {
				continue
			}
			if _, ok := cf.stack[spi].spilled(); !ok {
				continue
			}
			widen(&of.stack[spi].spill, &cf.stack[spi].spill)
		}
	}
}
