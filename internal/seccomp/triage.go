package seccomp

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/isa"
)

// AuditArchX86_64 is AUDIT_ARCH_X86_64, the arch of seccomp_data for
// x86-64 (and x32) system calls.
const AuditArchX86_64 uint32 = 0xc000003e

// TableSize is the number of system call numbers (0 to TableSize-1) that
// Triage decides one by one; x86-64 has about 470.
const TableSize = 512

// Triaged is what Triage found out about a policy: for each system call
// number below TableSize, and for every other call, whether its action
// depends on the number alone — then the kernel can decide it — or on
// more (arguments, maps, helpers), so that the call must leave the kernel.
type Triaged struct {
	// Table[nr] is the action of system call nr of x86-64, when
	// Constant[nr].
	Table    [TableSize]uint32
	Constant [TableSize]bool
	// Other is the action of any other call (another architecture, x32,
	// a number past the table) when OtherConstant.
	Other         uint32
	OtherConstant bool
}

// triageSteps bounds the instructions that Triage evaluates for one
// system call number, over all the paths it explores; a number whose
// evaluation needs more leaves the kernel.
const triageSteps = 1 << 16

// Triage evaluates a verified Seccomp program for each x86-64 system call
// number with every other field of seccomp_data unknown: a number whose
// every path returns the same constant without calling a helper, writing
// memory other than the stack or reading other than its context and
// stack has that constant as its action. Any other number is not
// constant and must go to user space. The analysis is conservative: a
// number it cannot decide within its step bound is not constant.
func Triage(insns isa.Instructions) Triaged {
	var t Triaged
	slots := make([]int, len(insns))
	indexOf := make(map[int]int, len(insns))
	slot := 0
	for i, ins := range insns {
		slots[i], indexOf[slot] = slot, i
		slot += ins.Slots()
	}
	ev := &evaluator{insns: insns, slots: slots, indexOf: indexOf}
	for nr := range TableSize {
		t.Table[nr], t.Constant[nr] = ev.decide(aval{known: true, v: uint64(nr)}, aval{known: true, v: uint64(AuditArchX86_64)})
	}
	t.Other, t.OtherConstant = ev.decide(aval{}, aval{})
	return t
}

// aval is an abstract value: a known 64-bit number, the context pointer,
// the stack pointer plus an offset, or unknown.
type aval struct {
	known bool
	v     uint64
	ctx   bool
	stack bool
	off   int64
}

// astate is the state on one path.
type astate struct {
	pc    int
	regs  [11]aval
	stack map[int64]aval // 8-byte slots written by 8-byte stores, by offset from r10
}

type evaluator struct {
	insns   isa.Instructions
	slots   []int
	indexOf map[int]int
}

// decide explores every path for the given nr and arch and returns the
// action when all paths agree on a constant.
func (ev *evaluator) decide(nr, arch aval) (uint32, bool) {
	steps := 0
	var action uint32
	found := false
	start := astate{stack: map[int64]aval{}}
	start.regs[isa.R1] = aval{ctx: true}
	start.regs[isa.R10] = aval{stack: true}
	work := []astate{start}
	for len(work) > 0 {
		s := work[len(work)-1]
		work = work[:len(work)-1]
		for {
			if steps++; steps > triageSteps || s.pc < 0 || s.pc >= len(ev.insns) {
				return 0, false
			}
			ins := ev.insns[s.pc]
			next, fork, ok := ev.step(&s, ins, nr, arch)
			if !ok {
				return 0, false
			}
			if next == -1 { // exit
				r0 := s.regs[isa.R0]
				if !r0.known {
					return 0, false
				}
				if found && uint32(r0.v) != action {
					return 0, false
				}
				action, found = uint32(r0.v), true
				break
			}
			if fork >= 0 {
				other := astate{pc: fork, regs: s.regs, stack: make(map[int64]aval, len(s.stack))}
				for k, v := range s.stack {
					other.stack[k] = v
				}
				work = append(work, other)
			}
			s.pc = next
		}
	}
	return action, found
}

// target is the index a jump at pc goes to, or -1.
func (ev *evaluator) target(pc int, ins isa.Instruction) int {
	t, ok := ins.JumpTarget(ev.slots[pc])
	if !ok {
		return -1
	}
	i, found := ev.indexOf[t]
	if !found {
		return -1
	}
	return i
}

// step evaluates one instruction: next is the index that follows (-1 for
// exit), fork another index a path also goes to (-1 for none); ok false
// means the path needs what the kernel cannot decide.
func (ev *evaluator) step(s *astate, ins isa.Instruction, nr, arch aval) (next, fork int, ok bool) {
	pc := s.pc
	switch ins.Class() {
	case isa.ClassLD:
		if ins.IsLdDW() && uint8(ins.Src) == isa.PseudoNone {
			s.regs[ins.Dst] = aval{known: true, v: uint64(ins.Imm)}
			return pc + 1, -1, true
		}
		return 0, 0, false
	case isa.ClassLDX:
		if ins.Mode() != isa.ModeMEM {
			return 0, 0, false // sign-extending loads, atomics: leave them to user space
		}
		base := s.regs[ins.Src]
		size := int64(ins.Size().Bytes())
		switch {
		case base.ctx:
			off := int64(ins.Offset)
			var v aval
			switch {
			case off == 0 && size == 4:
				v = nr
			case off == 4 && size == 4:
				v = arch
			case off == 0 && size == 8 && nr.known && arch.known:
				v = aval{known: true, v: nr.v&0xffffffff | arch.v<<32}
			}
			s.regs[ins.Dst] = v
		case base.stack:
			v, found := s.stack[base.off+int64(ins.Offset)]
			if !found || size != 8 {
				v = aval{}
			}
			s.regs[ins.Dst] = v
		default:
			return 0, 0, false
		}
		return pc + 1, -1, true
	case isa.ClassST, isa.ClassSTX:
		base := s.regs[ins.Dst]
		if !base.stack || ins.Mode() != isa.ModeMEM {
			return 0, 0, false
		}
		off := base.off + int64(ins.Offset)
		size := int64(ins.Size().Bytes())
		for k := range s.stack {
			if k < off+size && off < k+8 {
				delete(s.stack, k)
			}
		}
		if size == 8 {
			if ins.Class() == isa.ClassST {
				s.stack[off] = aval{known: true, v: uint64(ins.Imm)}
			} else {
				s.stack[off] = s.regs[ins.Src]
			}
		}
		return pc + 1, -1, true
	case isa.ClassALU, isa.ClassALU64:
		s.regs[ins.Dst] = alu(ins, s.regs[ins.Dst], s.operand(ins))
		return pc + 1, -1, true
	case isa.ClassJMP, isa.ClassJMP32:
		switch ins.Op() {
		case isa.JumpExit:
			return -1, -1, true
		case isa.JumpCall, isa.JumpCond:
			return 0, 0, false
		case isa.JumpA:
			t := ev.target(pc, ins)
			return t, -1, t >= 0
		}
		t := ev.target(pc, ins)
		if t < 0 {
			return 0, 0, false
		}
		taken, known := compare(ins, s.regs[ins.Dst], s.operand(ins))
		switch {
		case !known:
			return pc + 1, t, true
		case taken:
			return t, -1, true
		default:
			return pc + 1, -1, true
		}
	}
	return 0, 0, false
}

// operand is the second operand of an ALU or jump instruction.
func (s *astate) operand(ins isa.Instruction) aval {
	if ins.Source() == isa.SourceX {
		return s.regs[ins.Src]
	}
	return aval{known: true, v: uint64(ins.Imm)}
}

// alu computes an ALU instruction on abstract values: known operands give
// a known result as the ISA defines it, anything else an unknown one
// (except a move, and pointer arithmetic on the stack pointer).
func alu(ins isa.Instruction, dst, src aval) aval {
	w32 := ins.Class() == isa.ClassALU
	op := ins.Op()
	if op == isa.ALUMov && ins.Offset == 0 {
		if w32 {
			if !src.known {
				return aval{}
			}
			return aval{known: true, v: uint64(uint32(src.v))}
		}
		return src
	}
	if !w32 && dst.stack && src.known && (op == isa.ALUAdd || op == isa.ALUSub) {
		if op == isa.ALUAdd {
			dst.off += int64(src.v)
		} else {
			dst.off -= int64(src.v)
		}
		return dst
	}
	if op == isa.ALUNeg {
		src = aval{known: true}
	}
	if !dst.known || !src.known {
		return aval{}
	}
	a, b := dst.v, src.v
	if w32 {
		a, b = uint64(uint32(a)), uint64(uint32(b))
	}
	signed := ins.Offset == 1
	var r uint64
	switch op {
	case isa.ALUAdd:
		r = a + b
	case isa.ALUSub:
		r = a - b
	case isa.ALUMul:
		r = a * b
	case isa.ALUDiv, isa.ALUMod:
		if signed {
			return aval{}
		}
		switch {
		case b == 0 && op == isa.ALUDiv:
			r = 0
		case b == 0:
			r = a
		case op == isa.ALUDiv:
			r = a / b
		default:
			r = a % b
		}
	case isa.ALUOr:
		r = a | b
	case isa.ALUAnd:
		r = a & b
	case isa.ALUXor:
		r = a ^ b
	case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
		n := b & 63
		if w32 {
			n = b & 31
		}
		switch {
		case op == isa.ALULsh:
			r = a << n
		case op == isa.ALURsh:
			r = a >> n
		case w32:
			r = uint64(uint32(int32(uint32(a)) >> n))
		default:
			r = uint64(int64(a) >> n)
		}
	case isa.ALUNeg:
		r = -a
	default:
		return aval{} // byte swaps, sign-extending moves
	}
	if w32 {
		r = uint64(uint32(r))
	}
	return aval{known: true, v: r}
}

// compare decides a conditional jump on abstract values; known is false
// when it depends on what is unknown.
func compare(ins isa.Instruction, dst, src aval) (taken, known bool) {
	if !dst.known || !src.known {
		return false, false
	}
	a, b := dst.v, src.v
	sa, sb := int64(a), int64(b)
	if ins.Class() == isa.ClassJMP32 {
		a, b = uint64(uint32(a)), uint64(uint32(b))
		sa, sb = int64(int32(uint32(a))), int64(int32(uint32(b)))
	}
	switch ins.Op() {
	case isa.JumpEq:
		return a == b, true
	case isa.JumpNE:
		return a != b, true
	case isa.JumpGT:
		return a > b, true
	case isa.JumpGE:
		return a >= b, true
	case isa.JumpLT:
		return a < b, true
	case isa.JumpLE:
		return a <= b, true
	case isa.JumpSet:
		return a&b != 0, true
	case isa.JumpSGT:
		return sa > sb, true
	case isa.JumpSGE:
		return sa >= sb, true
	case isa.JumpSLT:
		return sa < sb, true
	case isa.JumpSLE:
		return sa <= sb, true
	}
	return false, false
}

// Leaves lists the system call numbers below TableSize whose action is
// not constant: those a pre-filter sends to user space.
func (t *Triaged) Leaves() []int {
	var out []int
	for nr, c := range t.Constant {
		if !c {
			out = append(out, nr)
		}
	}
	return out
}

// Prefilter builds the classic filter that a supervised command runs:
// table[nr] is the action of x86-64 system call nr (RetUserNotif sends it
// to the supervisor, RetTrace to the tracer), other the action of every
// other call (another architecture, x32, a number past the table). Runs
// of equal actions are found by a binary search on the number, so a call
// costs a few comparisons however many numbers the table names.
func Prefilter(table []uint32, other uint32) (Filter, error) {
	if len(table) == 0 || len(table) > TableSize {
		return nil, fmt.Errorf("seccomp: a pre-filter's table has 1 to %d numbers, not %d", TableSize, len(table))
	}
	type run struct {
		first  uint32 // the first number of the run
		action uint32
	}
	var runs []run
	for nr, a := range table {
		if len(runs) == 0 || runs[len(runs)-1].action != a {
			runs = append(runs, run{uint32(nr), a})
		}
	}
	runs = append(runs, run{uint32(len(table)), other})
	var f Filter
	emit := func(code uint16, jt, jf uint8, k uint32) int {
		f = append(f, Instruction{Code: code, Jt: jt, Jf: jf, K: k})
		return len(f) - 1
	}
	emit(clsLD|sizeW|modeABS, 0, 0, 4) // A = arch
	emit(clsJMP|jmpJEQ|srcK, 1, 0, AuditArchX86_64)
	emit(clsRET|retK, 0, 0, other)
	emit(clsLD|sizeW|modeABS, 0, 0, 0) // A = nr
	// tree emits the search among runs[lo:hi]: "jge first(mid); ja right;
	// left...; right: ...", so that conditional jumps are short and the
	// unconditional one reaches anywhere.
	var tree func(lo, hi int)
	tree = func(lo, hi int) {
		if hi-lo == 1 {
			emit(clsRET|retK, 0, 0, runs[lo].action)
			return
		}
		mid := (lo + hi) / 2
		emit(clsJMP|jmpJGE|srcK, 0, 1, runs[mid].first)
		ja := emit(clsJMP|jmpJA, 0, 0, 0)
		tree(lo, mid)
		f[ja].K = uint32(len(f) - ja - 1)
		tree(mid, hi)
	}
	tree(0, len(runs))
	if len(f) > MaxInstructions {
		return nil, fmt.Errorf("seccomp: the pre-filter would have %d instructions, more than the kernel's %d", len(f), MaxInstructions)
	}
	return f, nil
}
