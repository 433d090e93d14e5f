package verifier

import (
	"github.com/waggle-ebpf/waggle/isa"
)

// Precision tracking, the kernel's method: a scalar is "precise" in a
// checkpoint when some path from there depends on its exact bounds for
// safety (a pointer offset, a helper's size, a branch the bounds decide,
// a callback's result). States compare only their precise scalars by
// value; an imprecise scalar matches any scalar. When a use needs a
// scalar's exact bounds, markPrecise walks the path back through the
// history of jumps and spills to every register and stack slot the value
// was computed from, and marks them precise in the checkpoints on the way.
// Unprivileged (strict) programs treat every scalar as precise.

// btState is the set of registers and stack slots (per frame) whose
// precision is being traced back, and the frame of the instruction.
type btState struct {
	frame int
	regs  [maxFrames]uint16
	stack [maxFrames]uint64
}

func (b *btState) empty() bool {
	for i := range b.regs {
		if b.regs[i] != 0 || b.stack[i] != 0 {
			return false
		}
	}
	return true
}

func (b *btState) isSet(r isa.Register) bool { return b.regs[b.frame]&(1<<r) != 0 }
func (b *btState) set(r isa.Register)        { b.regs[b.frame] |= 1 << r }
func (b *btState) clear(r isa.Register)      { b.regs[b.frame] &^= 1 << r }

// markPrecise marks register regno of the current frame precise, with
// everything it was computed from.
func (v *verifier) markPrecise(regno int) {
	if v.strict || regno < 0 || regno > 9 {
		return
	}
	if v.regs()[regno].typ != regScalar {
		return
	}
	var bt btState
	bt.frame = len(v.cur.frames) - 1
	bt.regs[bt.frame] = 1 << regno
	v.backtrack(v.cur, bt)
}

// markPreciseSlot marks a spilled register in a stack slot precise.
func (v *verifier) markPreciseSlot(frame, spi int) {
	if v.strict || spi >= 64 {
		return
	}
	var bt btState
	bt.frame = len(v.cur.frames) - 1
	bt.stack[frame] = 1 << spi
	v.backtrack(v.cur, bt)
}

// markPreciseFrom marks in cur's path the scalars that are precise (and
// live) in old, after old was found to cover cur: cur's future is old's,
// which depended on them. liveOnly leaves out the stack slots old has no
// read mark for (when the marks are complete: see liveness.go).
func (v *verifier) markPreciseFrom(old, cur *state, liveOnly bool) {
	if v.strict {
		return
	}
	var bt btState
	bt.frame = len(cur.frames) - 1
	for fi, f := range old.frames {
		live := v.frameLive(old, fi, v.insn)
		for r := 0; r < 10; r++ {
			if live&(1<<r) != 0 && f.regs[r].typ == regScalar && f.regs[r].precise {
				bt.regs[fi] |= 1 << r
			}
		}
		for spi := range f.stack {
			if spi >= 64 {
				break
			}
			if liveOnly && f.read&(1<<spi) == 0 {
				// Dead in old: its value does not matter.
				continue
			}
			s := &f.stack[spi]
			if _, ok := s.spilled(); ok && s.spill.typ == regScalar && s.spill.precise {
				bt.stack[fi] |= 1 << spi
			}
		}
	}
	if !bt.empty() {
		v.backtrack(cur, bt)
	}
}

// frameLive is the set of registers of frame fi that matter at insn.
func (v *verifier) frameLive(st *state, fi int, insn int) uint16 {
	if fi == len(st.frames)-1 {
		return v.prog.live[insn]
	}
	next := st.frames[fi+1]
	if next.callback {
		return v.prog.live[next.callsite]
	}
	return (v.prog.live[next.callsite+1] | (1<<6 | 1<<7 | 1<<8 | 1<<9)) &^ regsR0R5
}

// backtrack walks the path of start back from the current instruction.
func (v *verifier) backtrack(start *state, bt btState) {
	st := start
	at := v.insn
	first := st.first
	skip := true
	subseq := -1
	for {
		hist := st.hist
		cnt := len(hist)
		i := at
		for i >= 0 {
			if skip {
				skip = false
			} else {
				var h *histEntry
				if cnt > 0 && int(hist[cnt-1].idx) == i {
					h = &hist[cnt-1]
				}
				if !v.backtrackInsn(i, subseq, h, &bt) {
					v.markAllPrecise(start)
					return
				}
				if bt.empty() {
					return
				}
			}
			subseq = i
			if i == first && (cnt == 0 || cnt == 1 && int(hist[0].idx) == i) {
				break
			}
			if cnt > 0 && int(hist[cnt-1].idx) == i {
				i = int(hist[cnt-1].prev)
				cnt--
			} else {
				i--
			}
		}
		st = st.parent
		if st == nil {
			break
		}
		for fr := bt.frame; fr >= 0; fr-- {
			if fr >= len(st.frames) {
				bt.regs[fr], bt.stack[fr] = 0, 0
				continue
			}
			f := st.frames[fr]
			for r := 0; r < 11; r++ {
				if bt.regs[fr]&(1<<r) == 0 {
					continue
				}
				rg := &f.regs[r]
				if rg.typ != regScalar || rg.precise {
					bt.regs[fr] &^= 1 << r
				} else {
					rg.precise = true
				}
			}
			for spi := 0; spi < 64; spi++ {
				if bt.stack[fr]&(1<<spi) == 0 {
					continue
				}
				if spi >= len(f.stack) {
					bt.stack[fr] &^= 1 << spi
					continue
				}
				s := &f.stack[spi]
				if _, ok := s.spilled(); !ok || s.spill.typ != regScalar || s.spill.precise {
					bt.stack[fr] &^= 1 << spi
				} else {
					s.spill.precise = true
				}
			}
		}
		if bt.empty() {
			return
		}
		subseq = st.insn
		at = st.last
		first = st.first
	}
	if !bt.empty() {
		v.markAllPrecise(start)
	}
}

// markAllPrecise is the fallback when backtracking cannot follow the
// path: every scalar of every checkpoint on it becomes precise.
func (v *verifier) markAllPrecise(start *state) {
	for st := start.parent; st != nil; st = st.parent {
		st.forEachReg(func(r *reg) {
			if r.typ == regScalar {
				r.precise = true
			}
		})
	}
}

// syncLinkedBt adds the registers and stack slots linked by a
// conditional jump when any of them is traced.
func syncLinkedBt(bt *btState, linked *linkSet) {
	var any bool
	for fr := 0; fr < maxFrames; fr++ {
		if bt.regs[fr]&linked.regs[fr] != 0 || bt.stack[fr]&linked.stack[fr] != 0 {
			any = true
		}
	}
	if !any {
		return
	}
	for fr := 0; fr < maxFrames; fr++ {
		bt.regs[fr] |= linked.regs[fr]
		bt.stack[fr] |= linked.stack[fr]
	}
}

// backtrackInsn updates bt for instruction i (followed on the path by
// subseq): registers it wrote leave the set, the ones they came from join
// it. It returns false when the instruction cannot be followed.
func (v *verifier) backtrackInsn(i, subseq int, h *histEntry, bt *btState) bool {
	ins := v.prog.insns[i]
	if h != nil && h.linked != nil {
		syncLinkedBt(bt, h.linked)
	}
	dst, src := ins.Dst, ins.Src
	switch ins.Class() {
	case isa.ClassALU, isa.ClassALU64:
		if !bt.isSet(dst) {
			return true
		}
		switch ins.Op() {
		case isa.ALUMov:
			bt.clear(dst)
			if ins.Source() == isa.SourceX && src != isa.R10 {
				bt.set(src)
			}
		case isa.ALUNeg, isa.ALUEnd:
		default:
			if ins.Source() == isa.SourceX {
				bt.set(src)
			}
		}
	case isa.ClassLDX, isa.ClassSTX:
		if ins.Class() == isa.ClassSTX && !ins.IsLoadAcquire() {
			if !backtrackStore(ins, h, bt) {
				return true
			}
			break
		}
		if !bt.isSet(dst) {
			return true
		}
		bt.clear(dst)
		if h != nil && h.frame != 0 {
			bt.stack[h.frame-1] |= 1 << h.spi
		}
	case isa.ClassST:
		if !backtrackStore(ins, h, bt) {
			return true
		}
	case isa.ClassLD:
		if ins.Mode() == isa.ModeIMM {
			bt.clear(dst)
			return true
		}
		for r := isa.R0; r <= isa.R5; r++ {
			bt.clear(r)
		}
	case isa.ClassJMP, isa.ClassJMP32:
		switch ins.Op() {
		case isa.JumpA:
		case isa.JumpExit:
			if subseq < 0 || len(v.prog.insns) <= subseq {
				return true
			}
			// Back into the function that exited.
			if bt.frame+1 >= maxFrames {
				return false
			}
			r0 := bt.isSet(isa.R0)
			normal := subseq > 0 && v.prog.insns[subseq-1].IsLocalCall() && v.prog.subOf[v.prog.target(subseq-1)] == v.prog.subOf[i]
			if !normal && v.isCallbackCall(subseq) {
				// The callback returned to its helper call, which is
				// checked again: the caller's registers are as before.
				bt.frame++
				bt.regs[bt.frame], bt.stack[bt.frame] = 0, 0
				return true
			}
			for r := isa.R1; r <= isa.R5; r++ {
				if bt.isSet(r) {
					return false
				}
			}
			bt.clear(isa.R0)
			bt.frame++
			bt.regs[bt.frame], bt.stack[bt.frame] = 0, 0
			if r0 {
				bt.set(isa.R0)
			}
		case isa.JumpCall:
			if ins.IsLocalCall() && subseq >= 0 && subseq == v.prog.target(i) {
				// Back from the callee's entry to the call: its r1-r5
				// are the caller's.
				callee := bt.frame
				if bt.regs[callee]&^regsR1R5 != 0 || bt.stack[callee] != 0 || callee == 0 {
					return false
				}
				args := bt.regs[callee]
				bt.regs[callee] = 0
				bt.frame--
				bt.regs[bt.frame] |= args
				return true
			}
			if ins.IsHelperCall() && v.isCallbackCall(i) && subseq >= 0 && v.prog.subOf[subseq] != v.prog.subOf[i] {
				// Back from a callback's entry to the helper call.
				callee := bt.frame
				if bt.regs[callee]&^regsR1R5 != 0 || bt.stack[callee] != 0 || callee == 0 {
					return false
				}
				bt.regs[callee] = 0
				bt.frame--
				return true
			}
			if bt.isSet(isa.R0) {
				bt.clear(isa.R0)
			}
			for r := isa.R1; r <= isa.R5; r++ {
				if bt.isSet(r) {
					return false
				}
			}
		default:
			if ins.Source() == isa.SourceX && (bt.isSet(dst) || bt.isSet(src)) {
				bt.set(dst)
				bt.set(src)
			}
		}
	}
	if h != nil && h.linked != nil {
		syncLinkedBt(bt, h.linked)
	}
	return true
}

// widenAfterCallback forgets, after a callback returned to its helper
// call, the values of imprecise scalars that changed since the last time
// the path was at the call, so that the callback's iterations converge.
func (v *verifier) widenAfterCallback(callsite int) {
	if v.strict {
		return
	}
	cur := v.cur
	var old *state
	list := v.explored[callsite]
	for k := len(list) - 1; k >= 0; k-- {
		s := list[k].st
		if len(s.frames) != len(cur.frames) {
			continue
		}
		same := true
		for i := range s.frames {
			if s.frames[i].callsite != cur.frames[i].callsite {
				same = false
			}
		}
		if same {
			old = s
			break
		}
	}
	if old != nil {
		v.widenImprecise(old, cur)
	}
}

// backtrackStore is backtrackInsn for stores, store-releases and atomic
// read-modify-write operations. It returns false when backtrackInsn is
// done with the instruction, true when it goes on to its common end.
func backtrackStore(ins isa.Instruction, h *histEntry, bt *btState) bool {
	src := ins.Src
	if ins.Mode() == isa.ModeATOMIC && !ins.IsStoreRelease() {
		imm := int32(ins.Imm)
		if imm == isa.AtomicCmpXchg {
			bt.clear(isa.R0)
		} else if imm&isa.AtomicFetch != 0 {
			bt.clear(src)
		}
		return false
	}
	if h == nil || h.frame == 0 {
		return false
	}
	f := int(h.frame - 1)
	if bt.stack[f]&(1<<h.spi) == 0 {
		return false
	}
	bt.stack[f] &^= 1 << h.spi
	if ins.Class() == isa.ClassSTX {
		bt.set(src)
	}
	return true
}
