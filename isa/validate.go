package isa

import (
	"fmt"
	"strings"
)

// ValidationError reports an instruction that is not a valid RFC 9669
// instruction, or control flow that leaves the program.
type ValidationError struct {
	Index       int         // index of the instruction in its Instructions
	Slot        int         // its 8-byte slot in the bytecode
	Instruction Instruction // the instruction itself
	Reason      string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("instruction %d (slot %d) %q: %s", e.Index, e.Slot, e.Instruction.String(), e.Reason)
}

// Validate checks that every instruction is a valid RFC 9669 instruction
// (opcode, registers, size, offset and immediate fields that select a
// variant) and that control flow stays inside the program: every jump and
// local call lands on the first slot of an instruction, and the last
// instruction is an exit or an unconditional jump. It does not prove the
// program safe: that is the verifier's job.
func (insns Instructions) Validate() error {
	if len(insns) == 0 {
		return &ValidationError{Reason: "program has no instructions"}
	}
	// starts[slot] is the index of the instruction starting at slot, or -1.
	total := insns.SlotCount()
	starts := make([]int, total)
	slot := 0
	for i, ins := range insns {
		starts[slot] = i
		if ins.IsLdDW() {
			starts[slot+1] = -1
		}
		slot += ins.Slots()
	}
	slot = 0
	for i, ins := range insns {
		fail := func(format string, args ...any) error {
			return &ValidationError{Index: i, Slot: slot, Instruction: ins, Reason: fmt.Sprintf(format, args...)}
		}
		if reason := ins.validateFields(); reason != "" {
			return fail("%s", reason)
		}
		if reason := ins.validateReserved(); reason != "" {
			return fail("%s", reason)
		}
		if target, ok := ins.JumpTarget(slot); ok {
			switch {
			case target < 0 || target >= total:
				return fail("jump target slot %d is outside the program (slots 0 to %d)", target, total-1)
			case starts[target] < 0:
				return fail("jump target slot %d is the second half of an lddw", target)
			}
		}
		slot += ins.Slots()
	}
	last := insns[len(insns)-1]
	if last.Opcode != OpExit && last.Opcode != OpJA && last.Opcode != OpJA32 {
		return &ValidationError{Index: len(insns) - 1, Slot: total - last.Slots(), Instruction: last,
			Reason: "the last instruction must be exit or an unconditional jump: execution would fall off the end"}
	}
	return nil
}

// JumpTarget returns the slot that a jump or local call at slot jumps to.
// ok is false for instructions that do not jump (including exit and helper
// calls).
func (ins Instruction) JumpTarget(slot int) (target int, ok bool) {
	switch ins.Class() {
	case ClassJMP:
		switch ins.Op() {
		case JumpExit:
			return 0, false
		case JumpCall:
			if ins.IsLocalCall() {
				return slot + 1 + int(int32(ins.Imm)), true
			}
			return 0, false
		}
		return slot + 1 + int(ins.Offset), true
	case ClassJMP32:
		if ins.Op() == JumpA {
			return slot + 1 + int(int32(ins.Imm)), true
		}
		return slot + 1 + int(ins.Offset), true
	}
	if ins.Opcode == OpLdDW && uint8(ins.Src) == PseudoFunc {
		return slot + 1 + int(int32(ins.Imm)), true
	}
	return 0, false
}

// validateFields returns why the instruction is invalid, or "".
func (ins Instruction) validateFields() string {
	if ins.Dst > R10 {
		return fmt.Sprintf("destination register r%d does not exist", ins.Dst)
	}
	if ins.Src > R10 {
		return fmt.Sprintf("source register r%d does not exist", ins.Src)
	}
	switch ins.Class() {
	case ClassALU, ClassALU64:
		return ins.validateALU()
	case ClassJMP, ClassJMP32:
		return ins.validateJump()
	case ClassLD:
		return ins.validateLD()
	case ClassLDX:
		if ins.Dst == R10 {
			return "r10 is the read-only frame pointer"
		}
		switch ins.Mode() {
		case ModeMEM:
		case ModeMEMSX:
			if ins.Size() == SizeDW {
				return "sign-extending load of 8 bytes does not exist"
			}
		default:
			return fmt.Sprintf("unknown load mode %#x", uint8(ins.Mode()))
		}
		return ""
	case ClassST:
		if ins.Mode() != ModeMEM {
			return fmt.Sprintf("unknown store mode %#x", uint8(ins.Mode()))
		}
		return ""
	case ClassSTX:
		switch ins.Mode() {
		case ModeMEM:
			return ""
		case ModeATOMIC:
			switch int32(ins.Imm) {
			case AtomicLoadAcquire:
				if ins.Dst == R10 {
					return "r10 is the read-only frame pointer"
				}
				return ""
			case AtomicStoreRelease:
				return ""
			}
			if ins.Size() != SizeW && ins.Size() != SizeDW {
				return "atomic operations exist only for 4 and 8 bytes"
			}
			switch int32(ins.Imm) {
			case AtomicAdd | AtomicFetch, AtomicOr | AtomicFetch, AtomicAnd | AtomicFetch, AtomicXor | AtomicFetch,
				AtomicXchg:
				// They return the old value in src.
				if ins.Src == R10 {
					return "r10 is the read-only frame pointer (a fetching atomic writes its source register)"
				}
				return ""
			case AtomicAdd, AtomicOr, AtomicAnd, AtomicXor, AtomicCmpXchg:
				return ""
			}
			return fmt.Sprintf("unknown atomic operation %#x", uint32(ins.Imm))
		}
		return fmt.Sprintf("unknown store mode %#x", uint8(ins.Mode()))
	}
	return "unreachable class"
}

func (ins Instruction) validateALU() string {
	alu64 := ins.Class() == ClassALU64
	op := ins.Op()
	if op > ALUEnd {
		return fmt.Sprintf("unknown ALU operation %#x", op)
	}
	if ins.Dst == R10 {
		return "r10 is the read-only frame pointer"
	}
	switch op {
	case ALUDiv, ALUMod:
		if ins.Offset != 0 && ins.Offset != 1 {
			return fmt.Sprintf("offset %d of div/mod must be 0 (unsigned) or 1 (signed)", ins.Offset)
		}
	case ALUMov:
		switch ins.Offset {
		case 0:
		case 8, 16:
			if ins.Source() != SourceX {
				return "movsx takes a register source"
			}
		case 32:
			if !alu64 || ins.Source() != SourceX {
				return "movsx of 32 bits exists only in 64-bit ALU with a register source"
			}
		default:
			return fmt.Sprintf("offset %d of mov must be 0, or 8, 16 or 32 for movsx", ins.Offset)
		}
	case ALUNeg:
		if ins.Source() != SourceK {
			return "neg takes no source register"
		}
	case ALUEnd:
		if alu64 && ins.Source() != SourceK {
			return "bswap must use source bit 0"
		}
		if ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64 {
			return fmt.Sprintf("byte swap width %d must be 16, 32 or 64", ins.Imm)
		}
	default:
		if ins.Offset != 0 {
			return fmt.Sprintf("offset %d must be 0 for this ALU operation", ins.Offset)
		}
	}
	return ""
}

func (ins Instruction) validateJump() string {
	op := ins.Op()
	jmp32 := ins.Class() == ClassJMP32
	switch op {
	case JumpA:
		if ins.Source() != SourceK {
			return "ja takes no source register"
		}
	case JumpCall:
		if jmp32 {
			return "call does not exist in the JMP32 class"
		}
		if ins.Source() == SourceX {
			if ins.Dst > R10 {
				return fmt.Sprintf("callx register r%d does not exist", ins.Dst)
			}
			return ""
		}
		switch uint8(ins.Src) {
		case CallHelper, CallLocal, CallKfunc:
		default:
			return fmt.Sprintf("call source %d is not a helper (0), local (1) or kfunc (2) call", ins.Src)
		}
	case JumpExit:
		if jmp32 {
			return "exit does not exist in the JMP32 class"
		}
	case JumpCond:
		if jmp32 || ins.Source() != SourceK {
			return fmt.Sprintf("unknown jump operation %#x", op)
		}
		if uint8(ins.Src) != MayGoto {
			return fmt.Sprintf("conditional jump kind %d is not may_goto (0)", ins.Src)
		}
	case 0xf0:
		return fmt.Sprintf("unknown jump operation %#x", op)
	}
	return ""
}

func (ins Instruction) validateLD() string {
	switch ins.Mode() {
	case ModeIMM:
		if ins.Size() != SizeDW {
			return "immediate loads exist only as lddw (8 bytes)"
		}
		if ins.Dst == R10 {
			return "r10 is the read-only frame pointer"
		}
		if uint8(ins.Src) > PseudoMapIdxValue {
			return fmt.Sprintf("lddw source kind %d is unknown", ins.Src)
		}
	case ModeABS, ModeIND:
		if ins.Size() == SizeDW {
			return "legacy packet loads exist only for 1, 2 and 4 bytes"
		}
	default:
		return fmt.Sprintf("unknown load mode %#x in the LD class", uint8(ins.Mode()))
	}
	return ""
}

// validateReserved rejects instructions that set a field their operation
// does not use, as the kernel does ("uses reserved fields"): such
// encodings have no meaning and no canonical text form.
func (ins Instruction) validateReserved() string {
	var u unusedFields
	need := u.need
	x := ins.Source() == SourceX
	switch ins.Class() {
	case ClassALU, ClassALU64:
		switch ins.Op() {
		case ALUNeg:
			need(ins.Src == 0, "source register")
			need(ins.Offset == 0, "offset")
			need(ins.Imm == 0, "immediate")
		case ALUEnd:
			need(ins.Src == 0, "source register")
			need(ins.Offset == 0, "offset")
		default:
			if x {
				need(ins.Imm == 0, "immediate")
			} else {
				need(ins.Src == 0, "source register")
			}
		}
	case ClassJMP, ClassJMP32:
		switch ins.Op() {
		case JumpA:
			need(ins.Dst == 0, "destination register")
			need(ins.Src == 0, "source register")
			if ins.Class() == ClassJMP {
				need(ins.Imm == 0, "immediate")
			} else {
				need(ins.Offset == 0, "offset")
			}
		case JumpCond:
			need(ins.Dst == 0, "destination register")
			need(ins.Imm == 0, "immediate")
		case JumpExit:
			need(ins.Dst == 0, "destination register")
			need(ins.Src == 0, "source register")
			need(ins.Offset == 0, "offset")
			need(ins.Imm == 0, "immediate")
			need(!x, "source bit")
		case JumpCall:
			need(ins.Offset == 0, "offset")
			if x {
				need(ins.Src == 0, "source register")
				need(ins.Imm == 0, "immediate")
			} else {
				need(ins.Dst == 0, "destination register")
			}
		default:
			if x {
				need(ins.Imm == 0, "immediate")
			} else {
				need(ins.Src == 0, "source register")
			}
		}
	case ClassLD:
		if ins.Mode() == ModeIMM {
			need(ins.Offset == 0, "offset")
		} else {
			need(ins.Dst == 0, "destination register")
			need(ins.Offset == 0, "offset")
			if ins.Mode() == ModeABS {
				need(ins.Src == 0, "source register")
			}
		}
	case ClassLDX:
		need(ins.Imm == 0, "immediate")
	case ClassST:
		need(ins.Src == 0, "source register")
	case ClassSTX:
		if ins.Mode() == ModeMEM {
			need(ins.Imm == 0, "immediate")
		}
	}
	if u.n == 0 {
		return ""
	}
	return fmt.Sprintf("sets fields its operation does not use (%s): reserved fields must be zero", strings.Join(u.fields[:u.n], ", "))
}

// unusedFields collects the names of the reserved fields an instruction
// sets, without allocating when there are none.
type unusedFields struct {
	fields [5]string
	n      int
}

func (u *unusedFields) need(cond bool, field string) {
	if !cond && u.n < len(u.fields) {
		u.fields[u.n] = field
		u.n++
	}
}
