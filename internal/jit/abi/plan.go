package abi

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/isa"
)

// Plan is what a backend works out about a program before it emits code.
// It depends on the instructions alone, not on the machine, so that both
// backends compile from the same analysis.
type Plan struct {
	// ContextAccess marks, by instruction, the loads and stores that
	// Input.ContextAccesses names (indexes out of range are ignored).
	ContextAccess []bool
	// Targets marks, by slot, the slots that jumps, bpf-to-bpf calls and
	// function pointers land on; it has one more entry than there are
	// slots, for a jump to the end.
	Targets []bool
	// TargetOf is, by slot, where the jump, call or function pointer of
	// that slot goes (0 for other slots).
	TargetOf []int32
	// Index is, by slot (and one more), the instruction the slot belongs
	// to, and FunctionLengths the result of FunctionLengths: both only
	// for verified code (Input.Checked false), nil otherwise.
	Index           []int32
	FunctionLengths []int32
	// Blocks is, by instruction, the number of instructions of the
	// straight-line block that starts there (0 where none starts): only
	// for checked code, which counts its budget a block at a time; nil
	// otherwise.
	Blocks []int
	// MayGoto reports whether the program has a may_goto.
	MayGoto bool
}

// NewPlan analyses the program of in for a backend.
func NewPlan(in Input) Plan {
	insns := in.Instructions
	nslots := insns.SlotCount()
	p := Plan{
		ContextAccess: make([]bool, len(insns)),
		Targets:       make([]bool, nslots+1),
		TargetOf:      make([]int32, nslots),
	}
	for _, i := range in.ContextAccesses {
		if i >= 0 && i < len(p.ContextAccess) {
			p.ContextAccess[i] = true
		}
	}
	if !in.Checked {
		p.Index = make([]int32, nslots+1)
		p.FunctionLengths = FunctionLengths(insns)
	}
	slot := 0
	for i, ins := range insns {
		if p.Index != nil {
			p.Index[slot] = int32(i)
			if ins.IsLdDW() {
				p.Index[slot+1] = int32(i)
			}
		}
		if cl := ins.Class(); cl == isa.ClassJMP || cl == isa.ClassJMP32 || ins.Opcode == isa.OpLdDW {
			if t, ok := ins.JumpTarget(slot); ok && t >= 0 && t <= nslots {
				p.Targets[t] = true
				p.TargetOf[slot] = int32(t)
			}
		}
		if ins.IsMayGoto() {
			p.MayGoto = true
		}
		slot += ins.Slots()
	}
	if in.Checked {
		p.Blocks = blocks(insns, p.Targets)
	}
	return p
}

// blocks returns, by instruction, the length of the straight-line block
// starting there: blocks start at the entry, at jump targets and after
// every jump or call.
func blocks(insns isa.Instructions, targets []bool) []int {
	start := make([]bool, len(insns)+1)
	start[0] = true
	slot := 0
	for i, ins := range insns {
		if targets[slot] {
			start[i] = true
		}
		if cl := ins.Class(); cl == isa.ClassJMP || cl == isa.ClassJMP32 {
			start[i+1] = true
		}
		slot += ins.Slots()
	}
	n := make([]int, len(insns))
	for i := len(insns) - 1; i >= 0; i-- {
		if start[i] {
			j := i + 1
			for j < len(insns) && !start[j] {
				j++
			}
			n[i] = j - i
		}
	}
	return n
}

// Immediate returns the 64-bit value that the lddw ins at slot loads: its
// constant, or for a function pointer (isa.PseudoFunc) FuncTag with the
// slot of the function. Other pseudo sources are a loader's to resolve,
// and an error here.
func (p Plan) Immediate(slot int, ins isa.Instruction) (uint64, error) {
	v := uint64(ins.Imm)
	switch uint8(ins.Src) {
	case isa.PseudoNone:
	case isa.PseudoFunc:
		v = FuncTag | uint64(p.TargetOf[slot])
	default:
		return 0, fmt.Errorf("lddw of a %s was not resolved by a loader", isa.PseudoName(uint8(ins.Src)))
	}
	return v, nil
}
