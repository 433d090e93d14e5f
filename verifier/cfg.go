package verifier

import (
	"errors"
	"fmt"
	"sort"

	"github.com/waggle-ebpf/waggle/isa"
)

// program is the static view of the instructions: slots, subprograms,
// control flow and register liveness.
type program struct {
	insns isa.Instructions
	slot  []int // the slot of each instruction
	index []int // the instruction at each slot, -1 for the second half of lddw

	subprogs []subprog
	subOf    []int // the subprogram of each instruction

	// live is the set of registers (bit i for ri) that some path from
	// each instruction reads before writing.
	live []uint16
	// prune marks the instructions where states are compared: jump
	// targets, the instructions after conditional jumps, calls.
	prune []bool
	// jump marks instructions that are the target of a jump (for the
	// statistics of the state heuristics).
	backTarget []bool
}

type subprog struct {
	start, end int // instruction indexes [start, end)
	// stack is the deepest stack use seen in verification, rounded up to
	// 8 bytes.
	stack int
	// callback is set for subprograms that are used as callbacks (their
	// address is taken with lddw).
	callback bool
	called   bool
}

// target returns the instruction index a jump, local call or lddw of a
// function at index i goes to, or -1 (also for targets that are not
// instructions).
func (p *program) target(i int) int {
	t, ok := p.insns[i].JumpTarget(p.slot[i])
	if !ok || t < 0 || t >= len(p.index) {
		return -1
	}
	return p.index[t]
}

// jumpTarget is target for the instructions that transfer control within
// a function (jumps, not calls or lddw).
func (p *program) isJump(i int) bool {
	ins := p.insns[i]
	switch ins.Class() {
	case isa.ClassJMP:
		op := ins.Op()
		return op != isa.JumpCall && op != isa.JumpExit
	case isa.ClassJMP32:
		return true
	}
	return false
}

func (p *program) isCondJump(i int) bool {
	return p.isJump(i) && p.insns[i].Op() != isa.JumpA
}

// analyze builds the static view, and refuses what the kernel's
// check_subprogs and check_cfg refuse.
func (v *verifier) analyze() *vErr {
	insns := v.p.Instructions
	p := &program{insns: insns}
	v.prog = p
	if len(insns) == 0 {
		return &vErr{idx: -1, reason: "the program has no instructions", kernel: "last insn is not an exit or jmp"}
	}
	if len(insns) > 1_000_000 {
		return &vErr{idx: -1, reason: fmt.Sprintf("the program has %d instructions, more than the kernel's limit of 1,000,000", len(insns)), kernel: "BPF program is too large"}
	}
	p.slot = make([]int, len(insns))
	total := insns.SlotCount()
	p.index = make([]int, total)
	slot := 0
	for i, ins := range insns {
		p.slot[i] = slot
		p.index[slot] = i
		if ins.IsLdDW() {
			p.index[slot+1] = -1
		}
		slot += ins.Slots()
	}
	if err := insns.Validate(); err != nil {
		var ve *isa.ValidationError
		if errors.As(err, &ve) {
			idx := ve.Index
			if ve.Reason != "" && idx == 0 && ve.Slot == 0 && len(insns) == 0 {
				idx = -1
			}
			return &vErr{idx: idx, reason: "invalid instruction: " + ve.Reason, kernel: kernelValidateMsg(ve, p)}
		}
		return &vErr{idx: -1, reason: err.Error()}
	}
	// Instruction kinds waggle does not verify.
	for i, ins := range insns {
		switch {
		case ins.Opcode == isa.OpCall && uint8(ins.Src) == isa.CallKfunc:
			return &vErr{idx: i, reason: "calls to kernel functions (kfuncs) are not supported", kernel: "calling kernel function is not supported"}
		case ins.Opcode == isa.OpCallX:
			return &vErr{idx: i, reason: "indirect calls (callx) are not supported", kernel: "unknown opcode 8d"}
		case ins.IsLdDW():
			switch uint8(ins.Src) {
			case isa.PseudoNone, isa.PseudoFunc:
			case isa.PseudoMapFD, isa.PseudoMapValue:
				idx := int(uint32(ins.Imm))
				if idx >= len(v.p.Maps) || v.p.Maps[idx] == nil {
					return &vErr{idx: i, reason: fmt.Sprintf("lddw refers to map %d, and the program has %d maps", idx, len(v.p.Maps)),
						kernel: fmt.Sprintf("fd %d is not pointing to valid bpf_map", idx)}
				}
				if uint8(ins.Src) == isa.PseudoMapFD && uint64(ins.Imm)>>32 != 0 {
					return &vErr{idx: i, reason: "lddw of a map pointer has its upper 32 bits set", kernel: "invalid bpf_ld_imm64 insn"}
				}
				if uint8(ins.Src) == isa.PseudoMapValue {
					m := v.p.Maps[idx]
					off := uint32(uint64(ins.Imm) >> 32)
					if m.Type != arrayType || m.MaxEntries != 1 {
						return &vErr{idx: i, reason: fmt.Sprintf("direct access to a map value needs an array of one element; map %s is %s with %d entries", m.Name, m.Type, m.MaxEntries),
							kernel: "direct value access on map type not supported"}
					}
					if off >= m.ValueSize {
						return &vErr{idx: i, reason: fmt.Sprintf("direct value offset %d is past the %d bytes of map %s's value", off, m.ValueSize, m.Name),
							kernel: fmt.Sprintf("invalid access to map value pointer, value_size=%d off=%d", m.ValueSize, off)}
					}
				}
			default:
				return &vErr{idx: i, reason: fmt.Sprintf("lddw with source kind %d (BTF ids, map indexes) is not supported: give maps as PseudoMapFD or PseudoMapValue", ins.Src),
					kernel: "invalid bpf_ld_imm64 insn"}
			}
		}
	}
	if err := v.findSubprogs(); err != nil {
		return err
	}
	if v.opts.Strict && len(v.prog.subprogs) > 1 {
		for i, ins := range p.insns {
			if ins.IsLocalCall() || ins.IsLdDW() && uint8(ins.Src) == isa.PseudoFunc {
				return &vErr{idx: i, reg: -1, reason: "unprivileged programs may not call other functions of the program (bpf-to-bpf calls and callbacks need CAP_BPF)",
					kernel: "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN"}
			}
		}
	}
	if err := v.checkCFG(); err != nil {
		return err
	}
	v.computeLiveness()
	return nil
}

func kernelValidateMsg(ve *isa.ValidationError, p *program) string {
	switch {
	case containsAny(ve.Reason, "outside the program"):
		t, _ := ve.Instruction.JumpTarget(ve.Slot)
		return fmt.Sprintf("jump out of range from insn %d to %d", ve.Slot, t)
	case containsAny(ve.Reason, "second half of an lddw"):
		t, _ := ve.Instruction.JumpTarget(ve.Slot)
		return fmt.Sprintf("jump into the middle of ldimm64 insn %d", t-1)
	case containsAny(ve.Reason, "fall off the end"):
		return "last insn is not an exit or jmp"
	case containsAny(ve.Reason, "reserved fields"):
		return "BPF_ALU uses reserved fields"
	case containsAny(ve.Reason, "frame pointer"):
		return "frame pointer is read only"
	}
	return fmt.Sprintf("unknown opcode %02x", ve.Instruction.Opcode)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if len(sub) <= len(s) {
			for i := 0; i+len(sub) <= len(s); i++ {
				if s[i:i+len(sub)] == sub {
					return true
				}
			}
		}
	}
	return false
}

// findSubprogs splits the program into subprograms: the entry and every
// target of a local call or a function reference.
func (v *verifier) findSubprogs() *vErr {
	p := v.prog
	starts := map[int]bool{0: true}
	callbacks := map[int]bool{}
	for i, ins := range p.insns {
		if ins.IsLocalCall() || ins.IsLdDW() && uint8(ins.Src) == isa.PseudoFunc {
			t := p.target(i)
			if t < 0 {
				return &vErr{idx: i, reason: "the call target is not an instruction", kernel: "function call to invalid insn"}
			}
			starts[t] = true
			if ins.IsLdDW() {
				callbacks[t] = true
			}
		}
	}
	var list []int
	for s := range starts {
		list = append(list, s)
	}
	sort.Ints(list)
	if len(list) > 256 {
		return &vErr{idx: -1, reason: fmt.Sprintf("the program has %d functions, more than the kernel's 256", len(list)), kernel: "too many subprograms"}
	}
	p.subOf = make([]int, len(p.insns))
	for k, s := range list {
		end := len(p.insns)
		if k+1 < len(list) {
			end = list[k+1]
		}
		p.subprogs = append(p.subprogs, subprog{start: s, end: end, callback: callbacks[s]})
		for i := s; i < end; i++ {
			p.subOf[i] = k
		}
	}
	// Jumps stay in their function, which ends with exit or a jump.
	for k, sp := range p.subprogs {
		for i := sp.start; i < sp.end; i++ {
			if p.isJump(i) {
				t := p.target(i)
				if t < sp.start || t >= sp.end {
					return &vErr{idx: i, reason: fmt.Sprintf("the jump leaves its function (instructions %d to %d) for instruction %d", sp.start, sp.end-1, t),
						kernel: fmt.Sprintf("jump out of range from insn %d to %d", p.slot[i], p.slot[max(t, 0)])}
				}
			}
		}
		last := p.insns[sp.end-1]
		if last.Opcode != isa.OpExit && last.Opcode != isa.OpJA && last.Opcode != isa.OpJA32 {
			return &vErr{idx: sp.end - 1, reason: fmt.Sprintf("function %d (instructions %d to %d) does not end with exit or a jump: execution would run into the next function", k, sp.start, sp.end-1),
				kernel: "last insn is not an exit or jmp"}
		}
	}
	return nil
}

// checkCFG visits the program from its entry, through jumps, calls and
// function references: every instruction must be reachable. In strict
// mode, loops (back edges) are refused, as for unprivileged programs.
func (v *verifier) checkCFG() *vErr {
	p := v.prog
	n := len(p.insns)
	const (
		unseen = iota
		onStack
		done
	)
	color := make([]uint8, n)
	p.prune = make([]bool, n)
	p.backTarget = make([]bool, n)
	type item struct {
		i    int
		next int // successor index to visit next
	}
	succs := func(i int) []int {
		ins := p.insns[i]
		var s []int
		switch {
		case ins.Opcode == isa.OpExit:
		case ins.Opcode == isa.OpJA || ins.Opcode == isa.OpJA32:
			s = append(s, p.target(i))
		case p.isCondJump(i):
			s = append(s, i+1, p.target(i))
		case ins.IsLocalCall():
			s = append(s, i+1, p.target(i))
		case ins.IsLdDW() && uint8(ins.Src) == isa.PseudoFunc:
			s = append(s, i+1, p.target(i))
		default:
			s = append(s, i+1)
		}
		return s
	}
	// Prune points, as the kernel's: conditional jumps and their targets,
	// the targets of other jumps, the instruction after a call, calls of
	// functions and of helpers that call back.
	for i := range p.insns {
		ins := p.insns[i]
		switch {
		case p.isCondJump(i):
			p.prune[i] = true
			p.prune[p.target(i)] = true
		case p.isJump(i):
			p.prune[p.target(i)] = true
		case ins.Opcode == isa.OpCall:
			if i+1 < n {
				p.prune[i+1] = true
			}
			if ins.IsLocalCall() || v.isCallbackCallIns(ins) {
				p.prune[i] = true
			}
		}
	}
	stack := []item{{i: 0}}
	color[0] = onStack
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		ss := succs(top.i)
		if top.next >= len(ss) {
			color[top.i] = done
			stack = stack[:len(stack)-1]
			continue
		}
		t := ss[top.next]
		top.next++
		if t < 0 || t >= n {
			return &vErr{idx: top.i, reason: "control flow leaves the program", kernel: fmt.Sprintf("jump out of range from insn %d to %d", p.slot[top.i], t)}
		}
		ins := p.insns[top.i]
		isCall := ins.IsLocalCall() || ins.IsLdDW()
		switch color[t] {
		case unseen:
			color[t] = onStack
			stack = append(stack, item{i: t})
		case onStack:
			if isCall {
				// Recursion: the exploration runs out of frames.
				continue
			}
			p.backTarget[t] = true
			if v.opts.Strict {
				return &vErr{idx: top.i, reason: fmt.Sprintf("the jump back to instruction %d makes a loop, which unprivileged programs may not have", t),
					kernel: fmt.Sprintf("back-edge from insn %d to %d", p.slot[top.i], p.slot[t])}
			}
		}
	}
	for i := 0; i < n; i++ {
		if color[i] == unseen {
			return &vErr{idx: i, reason: "the instruction can never run (no path from the program's entry reaches it), which the kernel refuses",
				kernel: fmt.Sprintf("unreachable insn %d", p.slot[i])}
		}
	}
	return nil
}

// computeLiveness computes, per instruction, the registers some path
// reads before writing them (within the function; a call reads r1-r5 and
// writes r0-r5; exit reads r0).
func (v *verifier) computeLiveness() {
	p := v.prog
	n := len(p.insns)
	use := make([]uint16, n)
	def := make([]uint16, n)
	for i, ins := range p.insns {
		use[i], def[i] = v.useDef(ins)
	}
	p.live = make([]uint16, n)
	for changed := true; changed; {
		changed = false
		for i := n - 1; i >= 0; i-- {
			ins := p.insns[i]
			var out uint16
			switch {
			case ins.Opcode == isa.OpExit:
			case ins.Opcode == isa.OpJA || ins.Opcode == isa.OpJA32:
				out = p.live[p.target(i)]
			case p.isCondJump(i):
				out = p.live[p.target(i)]
				if i+1 < n {
					out |= p.live[i+1]
				}
			default:
				if i+1 < n {
					out = p.live[i+1]
				}
			}
			in := use[i] | out&^def[i]
			if in != p.live[i] {
				p.live[i] = in
				changed = true
			}
		}
	}
}

const (
	regsR1R5 uint16 = 0b111110
	regsR0R5 uint16 = 0b111111
)

// useDef returns the registers an instruction reads and writes.
func (v *verifier) useDef(ins isa.Instruction) (use, def uint16) {
	bit := func(r isa.Register) uint16 { return 1 << r }
	switch ins.Class() {
	case isa.ClassALU, isa.ClassALU64:
		def = bit(ins.Dst)
		if ins.Op() != isa.ALUMov {
			use |= bit(ins.Dst)
		}
		if ins.Source() == isa.SourceX && ins.Op() != isa.ALUNeg && ins.Op() != isa.ALUEnd {
			use |= bit(ins.Src)
		}
	case isa.ClassLDX:
		use, def = bit(ins.Src), bit(ins.Dst)
	case isa.ClassST:
		use = bit(ins.Dst)
	case isa.ClassSTX:
		use = bit(ins.Dst) | bit(ins.Src)
		if ins.IsLoadAcquire() {
			// A load: reads the address in src, writes dst.
			use, def = bit(ins.Src), bit(ins.Dst)
		} else if ins.Mode() == isa.ModeATOMIC && !ins.IsStoreRelease() {
			imm := int32(ins.Imm)
			if imm == isa.AtomicCmpXchg {
				use |= 1
				def = 1
			} else if imm&isa.AtomicFetch != 0 {
				def = bit(ins.Src)
			}
		}
	case isa.ClassLD:
		switch ins.Mode() {
		case isa.ModeIMM:
			def = bit(ins.Dst)
		case isa.ModeABS:
			use, def = bit(isa.R6), regsR0R5
		case isa.ModeIND:
			use, def = bit(isa.R6)|bit(ins.Src), regsR0R5
		}
	case isa.ClassJMP, isa.ClassJMP32:
		switch ins.Op() {
		case isa.JumpA, isa.JumpCond:
		case isa.JumpExit:
			use = 1
		case isa.JumpCall:
			def = regsR0R5
			use = regsR1R5
			if ins.IsHelperCall() {
				if pr := v.protoFor(int32(ins.Imm)); pr != nil && pr.Args != nil {
					use = 0
					for k := range pr.Args {
						use |= 1 << (k + 1)
					}
				}
			}
		default:
			use = bit(ins.Dst)
			if ins.Source() == isa.SourceX {
				use |= bit(ins.Src)
			}
		}
	}
	return use &^ (1 << isa.R10), def
}
