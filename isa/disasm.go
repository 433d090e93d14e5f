package isa

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Syntax selects the assembly syntax that Format prints.
type Syntax int

const (
	// SyntaxLLVM is the C-like syntax of llvm-objdump for BPF, for example
	// "r0 = *(u32 *)(r1 + 0x4)", "w0 += w1" or "if r1 > 0x5 goto +3".
	// Immediates and memory offsets print in hexadecimal as llvm-objdump
	// prints them; jump and local call offsets print as signed decimal slot
	// counts. Where llvm-objdump has no syntax of its own (the source kinds
	// of lddw, kfunc and local calls, legacy packet loads with an
	// immediate), Format uses the forms documented on Format.
	SyntaxLLVM Syntax = iota
	// SyntaxConformance is the syntax of the bpf_conformance assembler, for
	// example "mov32 %r0, 1", "ldxw %r0, [%r1+4]" or "jeq %r1, 5, +3", with
	// a few extensions that package assembler also reads (see Format), so
	// that every instruction prints in a form that assembles back to it.
	SyntaxConformance
)

// String names the syntax.
func (s Syntax) String() string {
	switch s {
	case SyntaxLLVM:
		return "llvm"
	case SyntaxConformance:
		return "conformance"
	}
	return "Syntax(" + strconv.Itoa(int(s)) + ")"
}

// String disassembles the instruction in SyntaxLLVM.
func (ins Instruction) String() string { return ins.Format(SyntaxLLVM) }

// Format disassembles the instruction in syntax s; an unknown Syntax prints
// as SyntaxLLVM. Jump and call targets print as slot offsets relative to the
// next instruction ("+3", "-2"), since a lone instruction does not know its
// neighbours.
//
// An instruction that Validate rejects on its own (a bad opcode, register or
// variant field) prints in both syntaxes as ".invalid" followed by its one or
// two 8-byte slots as little-endian 64-bit hexadecimal numbers, the format of
// a conformance test's "-- raw" section: ".invalid 0x00000000000000f7".
//
// Extensions of SyntaxConformance beyond what the bpf_conformance assembler
// reads, all of which package assembler reads:
//
//   - A local call prints as "call local +3" (the reference assembler reads
//     this form too), a kfunc call (source 2) as "call runtime 7", callx as
//     "call %r2".
//   - lddw with a source kind prints the kind's name before the immediate:
//     "lddw %r1, map_fd 3", "lddw %r1, map_value 3, 16" (map fd, then offset
//     into the value), "lddw %r1, btf_id 5", "lddw %r1, func +3" (a slot
//     offset, like a local call), "lddw %r1, map_idx 0" and
//     "lddw %r1, map_idx_value 0, 16". The low 32 bits of the constant come
//     first; for kinds that leave the high 32 bits unused they follow only
//     when they are not zero.
//   - Legacy packet loads print as "ldabsw 12" and "ldindh %r1, 12".
//   - may_goto (opcode 0xe5) prints as "may_goto +3", as in llvm-objdump.
//
// In SyntaxLLVM, llvm-objdump's forms are used wherever it has one: 32-bit
// ALU and JMP32 operands and 32-bit atomics use w registers, loads and
// stores r registers. Where it has none:
//
//   - a helper call prints as "call 0x5", a local call as "call +3" or
//     "call -3" (signed decimal, so the two differ), a kfunc call as
//     "call kfunc 0x7", callx as "callx r2";
//   - legacy packet loads print as "r0 = *(u8 *)skb[0x3]" and
//     "r0 = *(u16 *)skb[r1 + 0x3]";
//   - lddw with a source kind prints as "r1 = map[fd:3] ll",
//     "r1 = map[fd:3][0]+16 ll", "r1 = btf_id[5] ll", "r1 = func[+3] ll",
//     "r1 = map[idx:0] ll" and "r1 = map[idx:0][0]+16 ll"; if a kind that
//     leaves the high half unused has it set, the whole constant prints as
//     "r1 = ld_pseudo(1, 0x500000003) ll".
func (ins Instruction) Format(s Syntax) string {
	if ins.validateFields() != "" || ins.validateReserved() != "" {
		return rawDirective(".invalid", ins)
	}
	if s == SyntaxConformance {
		return ins.formatConformance()
	}
	return ins.formatLLVM()
}

// Format disassembles a whole program, one instruction a line, each line
// ending in a newline. In SyntaxLLVM every line starts with the slot number
// of its instruction, as llvm-objdump prints it ("   3:\t"); in
// SyntaxConformance the lines are bare, so that the listing assembles back to
// the same program.
func (insns Instructions) Format(s Syntax) string {
	var b strings.Builder
	slot := 0
	for _, ins := range insns {
		if s != SyntaxConformance {
			fmt.Fprintf(&b, "%4d:\t", slot)
		}
		b.WriteString(ins.Format(s))
		b.WriteByte('\n')
		slot += ins.Slots()
	}
	return b.String()
}

// rawDirective prints the instruction's slots after the directive name.
func rawDirective(name string, ins Instruction) string {
	code := ins.AppendEncoded(nil)
	var b strings.Builder
	b.WriteString(name)
	for i := 0; i < len(code); i += InstructionSize {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %#016x", binary.LittleEndian.Uint64(code[i:]))
	}
	return b.String()
}

// aluNames are the conformance mnemonics of the ALU operations, by op>>4.
var aluNames = [...]string{"add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "neg", "mod", "xor", "mov", "arsh", "end"}

// jumpNames are the conformance mnemonics of the jump operations, by op>>4.
var jumpNames = [...]string{"ja", "jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "call", "exit", "jlt", "jle", "jslt", "jsle"}

// sizeSuffix is the conformance suffix of a load or store width.
func sizeSuffix(s Size) string {
	switch s {
	case SizeB:
		return "b"
	case SizeH:
		return "h"
	case SizeW:
		return "w"
	}
	return "dw"
}

// PseudoName is the name of an lddw source kind in SyntaxConformance
// ("map_fd", "map_value", "btf_id", "func", "map_idx", "map_idx_value"),
// or "" for PseudoNone and unknown kinds.
func PseudoName(kind uint8) string {
	switch kind {
	case PseudoMapFD:
		return "map_fd"
	case PseudoMapValue:
		return "map_value"
	case PseudoBTFID:
		return "btf_id"
	case PseudoFunc:
		return "func"
	case PseudoMapIdx:
		return "map_idx"
	case PseudoMapIdxValue:
		return "map_idx_value"
	}
	return ""
}

// pseudoHasHigh reports whether the high half of an lddw constant of this
// source kind has a meaning of its own (an offset into a map value).
func pseudoHasHigh(kind uint8) bool {
	return kind == PseudoMapValue || kind == PseudoMapIdxValue
}

// confImm prints a 32-bit immediate for the conformance assembler: small
// values in signed decimal, others as the 32-bit pattern in hexadecimal
// (which the assembler wraps back to the same signed value).
func confImm(v int64) string {
	if v > -0x10000 && v < 0x10000 {
		return strconv.FormatInt(v, 10)
	}
	return "0x" + strconv.FormatUint(uint64(uint32(v)), 16)
}

// confImm64 prints an lddw constant for the conformance assembler.
func confImm64(v int64) string {
	if v > -0x10000 && v < 0x10000 {
		return strconv.FormatInt(v, 10)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

// signed prints a slot offset with its sign: "+3", "-2", "+0".
func signed(v int64) string {
	if v >= 0 {
		return "+" + strconv.FormatInt(v, 10)
	}
	return strconv.FormatInt(v, 10)
}

// confReg prints a register in conformance syntax.
func confReg(r Register) string { return "%r" + strconv.Itoa(int(r)) }

// confMem prints a memory operand in conformance syntax: "[%r1+4]",
// "[%r10-8]", "[%r1]".
func confMem(r Register, off int16) string {
	switch {
	case off == 0:
		return "[" + confReg(r) + "]"
	case off > 0:
		return "[" + confReg(r) + "+" + strconv.Itoa(int(off)) + "]"
	}
	return "[" + confReg(r) + strconv.Itoa(int(off)) + "]"
}

func (ins Instruction) formatConformance() string {
	switch ins.Class() {
	case ClassALU, ClassALU64:
		suffix := ""
		if ins.Class() == ClassALU {
			suffix = "32"
		}
		op := ins.Op()
		name := aluNames[op>>4]
		switch {
		case op == ALUNeg:
			return name + suffix + " " + confReg(ins.Dst)
		case op == ALUEnd:
			switch {
			case ins.Class() == ClassALU64:
				name = "bswap"
			case ins.Source() == SourceX:
				name = "be"
			default:
				name = "le"
			}
			return name + strconv.FormatInt(ins.Imm, 10) + " " + confReg(ins.Dst)
		case op == ALUMov && ins.Offset != 0:
			if suffix == "" {
				suffix = "64"
			}
			return "movsx" + strconv.Itoa(int(ins.Offset)) + suffix + " " + confReg(ins.Dst) + ", " + confReg(ins.Src)
		case (op == ALUDiv || op == ALUMod) && ins.Offset == 1:
			name = "s" + name
		}
		text := name + suffix + " " + confReg(ins.Dst) + ", "
		if ins.Source() == SourceX {
			return text + confReg(ins.Src)
		}
		return text + confImm(ins.Imm)
	case ClassJMP, ClassJMP32:
		op := ins.Op()
		jmp32 := ins.Class() == ClassJMP32
		switch op {
		case JumpA:
			if jmp32 {
				return "ja32 " + signed(ins.Imm)
			}
			return "ja " + signed(int64(ins.Offset))
		case JumpCond:
			return "may_goto " + signed(int64(ins.Offset))
		case JumpCall:
			switch {
			case ins.Source() == SourceX:
				return "call " + confReg(ins.Dst)
			case uint8(ins.Src) == CallLocal:
				return "call local " + signed(ins.Imm)
			case uint8(ins.Src) == CallKfunc:
				return "call runtime " + confImm(ins.Imm)
			}
			return "call " + confImm(ins.Imm)
		case JumpExit:
			return "exit"
		}
		name := jumpNames[op>>4]
		if jmp32 {
			name += "32"
		}
		text := name + " " + confReg(ins.Dst) + ", "
		if ins.Source() == SourceX {
			text += confReg(ins.Src)
		} else {
			text += confImm(ins.Imm)
		}
		return text + ", " + signed(int64(ins.Offset))
	case ClassLD:
		switch ins.Mode() {
		case ModeIMM:
			kind := uint8(ins.Src)
			if kind == PseudoNone {
				return "lddw " + confReg(ins.Dst) + ", " + confImm64(ins.Imm)
			}
			lo, hi := uint32(ins.Imm), uint32(uint64(ins.Imm)>>32)
			text := "lddw " + confReg(ins.Dst) + ", " + PseudoName(kind) + " "
			if kind == PseudoFunc {
				text += signed(int64(int32(lo)))
			} else {
				text += strconv.FormatUint(uint64(lo), 10)
			}
			if hi != 0 || pseudoHasHigh(kind) {
				text += ", " + strconv.FormatUint(uint64(hi), 10)
			}
			return text
		case ModeABS:
			return "ldabs" + sizeSuffix(ins.Size()) + " " + confImm(ins.Imm)
		default:
			return "ldind" + sizeSuffix(ins.Size()) + " " + confReg(ins.Src) + ", " + confImm(ins.Imm)
		}
	case ClassLDX:
		name := "ldx"
		if ins.Mode() == ModeMEMSX {
			name = "ldxs"
		}
		return name + sizeSuffix(ins.Size()) + " " + confReg(ins.Dst) + ", " + confMem(ins.Src, ins.Offset)
	case ClassST:
		return "st" + sizeSuffix(ins.Size()) + " " + confMem(ins.Dst, ins.Offset) + ", " + confImm(ins.Imm)
	case ClassSTX:
		operands := " " + confMem(ins.Dst, ins.Offset) + ", " + confReg(ins.Src)
		switch {
		case ins.IsLoadAcquire():
			return "ldacq" + sizeSuffix(ins.Size()) + " " + confReg(ins.Dst) + ", " + confMem(ins.Src, ins.Offset)
		case ins.IsStoreRelease():
			return "strel" + sizeSuffix(ins.Size()) + operands
		}
		if ins.Mode() == ModeMEM {
			return "stx" + sizeSuffix(ins.Size()) + operands
		}
		suffix := ""
		if ins.Size() == SizeW {
			suffix = "32"
		}
		return "lock " + atomicName(int32(ins.Imm), true) + suffix + operands
	}
	return rawDirective(".invalid", ins)
}

// atomicName names an atomic operation: "add", "fetch add" (with withFetch),
// "xchg", "cmpxchg".
func atomicName(op int32, withFetch bool) string {
	switch op {
	case AtomicXchg:
		return "xchg"
	case AtomicCmpXchg:
		return "cmpxchg"
	}
	name := ""
	switch op &^ AtomicFetch {
	case AtomicAdd:
		name = "add"
	case AtomicOr:
		name = "or"
	case AtomicAnd:
		name = "and"
	case AtomicXor:
		name = "xor"
	}
	if withFetch && op&AtomicFetch != 0 {
		return "fetch " + name
	}
	return name
}

// llvmALUOps are the llvm-objdump operators of the ALU operations, by op>>4.
var llvmALUOps = [...]string{"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "", "%=", "^=", "=", "s>>="}

// llvmJumpOps are the llvm-objdump operators of the conditional jumps, by
// op>>4.
var llvmJumpOps = [...]string{"", "==", ">", ">=", "&", "!=", "s>", "s>=", "", "", "<", "<=", "s<", "s<="}

// llvmImm prints an immediate as llvm-objdump does: signed hexadecimal.
func llvmImm(v int64) string {
	if v < 0 {
		return "-0x" + strconv.FormatUint(uint64(-v), 16)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

// llvmReg prints a register, as a 32-bit w register when w is set.
func llvmReg(r Register, w bool) string {
	if w {
		return "w" + strconv.Itoa(int(r))
	}
	return "r" + strconv.Itoa(int(r))
}

// llvmAddr prints a register and offset as llvm-objdump does: "r10 - 0x8".
func llvmAddr(r Register, off int16) string {
	if off < 0 {
		return llvmReg(r, false) + " - " + llvmImm(-int64(off))
	}
	return llvmReg(r, false) + " + " + llvmImm(int64(off))
}

// llvmSize is the C type of a load or store width.
func llvmSize(s Size, signed bool) string {
	prefix := "u"
	if signed {
		prefix = "s"
	}
	return prefix + strconv.Itoa(8*s.Bytes())
}

func (ins Instruction) formatLLVM() string {
	switch ins.Class() {
	case ClassALU, ClassALU64:
		w := ins.Class() == ClassALU
		dst := llvmReg(ins.Dst, w)
		op := ins.Op()
		switch {
		case op == ALUNeg:
			return dst + " = -" + dst
		case op == ALUEnd:
			name := "bswap"
			switch {
			case w && ins.Source() == SourceX:
				name = "be"
			case w:
				name = "le"
			}
			r := llvmReg(ins.Dst, false)
			return r + " = " + name + strconv.FormatInt(ins.Imm, 10) + " " + r
		case op == ALUMov && ins.Offset != 0:
			return dst + " = (s" + strconv.Itoa(int(ins.Offset)) + ")" + llvmReg(ins.Src, w)
		}
		operator := llvmALUOps[op>>4]
		if (op == ALUDiv || op == ALUMod) && ins.Offset == 1 {
			operator = "s" + operator
		}
		if ins.Source() == SourceX {
			return dst + " " + operator + " " + llvmReg(ins.Src, w)
		}
		return dst + " " + operator + " " + llvmImm(ins.Imm)
	case ClassJMP, ClassJMP32:
		w := ins.Class() == ClassJMP32
		switch ins.Op() {
		case JumpA:
			if w {
				return "gotol " + signed(ins.Imm)
			}
			return "goto " + signed(int64(ins.Offset))
		case JumpCond:
			return "may_goto " + signed(int64(ins.Offset))
		case JumpCall:
			switch {
			case ins.Source() == SourceX:
				return "callx " + llvmReg(ins.Dst, false)
			case uint8(ins.Src) == CallLocal:
				return "call " + signed(ins.Imm)
			case uint8(ins.Src) == CallKfunc:
				return "call kfunc " + llvmImm(ins.Imm)
			}
			return "call " + llvmImm(ins.Imm)
		case JumpExit:
			return "exit"
		}
		text := "if " + llvmReg(ins.Dst, w) + " " + llvmJumpOps[ins.Op()>>4] + " "
		if ins.Source() == SourceX {
			text += llvmReg(ins.Src, w)
		} else {
			text += llvmImm(ins.Imm)
		}
		return text + " goto " + signed(int64(ins.Offset))
	case ClassLD:
		switch ins.Mode() {
		case ModeIMM:
			return llvmReg(ins.Dst, false) + " = " + llvmPseudo(uint8(ins.Src), ins.Imm) + " ll"
		case ModeABS:
			return "r0 = *(" + llvmSize(ins.Size(), false) + " *)skb[" + llvmImm(ins.Imm) + "]"
		default:
			index := llvmReg(ins.Src, false)
			switch {
			case ins.Imm > 0:
				index += " + " + llvmImm(ins.Imm)
			case ins.Imm < 0:
				index += " - " + llvmImm(-ins.Imm)
			}
			return "r0 = *(" + llvmSize(ins.Size(), false) + " *)skb[" + index + "]"
		}
	case ClassLDX:
		return llvmReg(ins.Dst, false) + " = *(" + llvmSize(ins.Size(), ins.Mode() == ModeMEMSX) + " *)(" + llvmAddr(ins.Src, ins.Offset) + ")"
	case ClassST:
		return "*(" + llvmSize(ins.Size(), false) + " *)(" + llvmAddr(ins.Dst, ins.Offset) + ") = " + llvmImm(ins.Imm)
	case ClassSTX:
		if ins.Mode() == ModeMEM {
			return "*(" + llvmSize(ins.Size(), false) + " *)(" + llvmAddr(ins.Dst, ins.Offset) + ") = " + llvmReg(ins.Src, false)
		}
		switch {
		case ins.IsLoadAcquire():
			return llvmReg(ins.Dst, ins.Size() != SizeDW) + " = load_acquire((" + llvmSize(ins.Size(), false) + " *)(" + llvmAddr(ins.Src, ins.Offset) + "))"
		case ins.IsStoreRelease():
			return "store_release((" + llvmSize(ins.Size(), false) + " *)(" + llvmAddr(ins.Dst, ins.Offset) + "), " + llvmReg(ins.Src, ins.Size() != SizeDW) + ")"
		}
		w := ins.Size() == SizeW
		addr := llvmAddr(ins.Dst, ins.Offset)
		src := llvmReg(ins.Src, w)
		typ := llvmSize(ins.Size(), false)
		op := int32(ins.Imm)
		switch {
		case op == AtomicXchg && w:
			return src + " = xchg32_32(" + addr + ", " + src + ")"
		case op == AtomicXchg:
			return src + " = xchg_64(" + addr + ", " + src + ")"
		case op == AtomicCmpXchg && w:
			return "w0 = cmpxchg32_32(" + addr + ", w0, " + src + ")"
		case op == AtomicCmpXchg:
			return "r0 = cmpxchg_64(" + addr + ", r0, " + src + ")"
		case op&AtomicFetch != 0:
			return src + " = atomic_fetch_" + atomicName(op, false) + "((" + typ + " *)(" + addr + "), " + src + ")"
		}
		return "lock *(" + typ + " *)(" + addr + ") " + llvmALUOps[op>>4] + " " + src
	}
	return rawDirective(".invalid", ins)
}

// llvmPseudo prints the right-hand side of an lddw in SyntaxLLVM.
func llvmPseudo(kind uint8, imm int64) string {
	lo, hi := uint32(imm), uint32(uint64(imm)>>32)
	if hi != 0 && kind != PseudoNone && !pseudoHasHigh(kind) {
		return fmt.Sprintf("ld_pseudo(%d, %#x)", kind, uint64(imm))
	}
	switch kind {
	case PseudoMapFD:
		return fmt.Sprintf("map[fd:%d]", lo)
	case PseudoMapValue:
		return fmt.Sprintf("map[fd:%d][0]+%d", lo, hi)
	case PseudoBTFID:
		return fmt.Sprintf("btf_id[%d]", lo)
	case PseudoFunc:
		return "func[" + signed(int64(int32(lo))) + "]"
	case PseudoMapIdx:
		return fmt.Sprintf("map[idx:%d]", lo)
	case PseudoMapIdxValue:
		return fmt.Sprintf("map[idx:%d][0]+%d", lo, hi)
	}
	return llvmImm(imm)
}
