package interp

import (
	"encoding/binary"
	"fmt"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/isa"
)

// inst is one pre-decoded instruction slot.
type inst struct {
	op  opcode
	dst uint8
	src uint8
	// off is the memory offset of loads and stores, or the absolute target
	// slot of jumps and local calls.
	off int32
	// imm is the immediate, sign-extended; for lddw the whole constant; for
	// helper calls the index into Program.helpers.
	imm int64
}

// Program is a program decoded once for the interpreter. It is immutable and
// may be run by many Machines at once.
type Program struct {
	code    []inst
	insns   isa.Instructions
	index   []int32 // slot → index into insns
	helpers []helper.Helper
	// callx are the helpers of the table by ID, for callx, which names
	// its helper at run time.
	callx map[int32]*helper.Helper
	funcs []bool // funcs[slot]: a function pointer may point there
}

// Compile checks the instructions with isa.Validate and decodes them for the
// interpreter. Every helper the program calls by ID must be in table; callx
// looks its helper up in table when it runs.
func Compile(insns isa.Instructions, table *helper.Table) (*Program, error) {
	if err := insns.Validate(); err != nil {
		return nil, err
	}
	p := &Program{
		code:  make([]inst, 0, insns.SlotCount()),
		insns: insns,
		index: make([]int32, 0, insns.SlotCount()),
	}
	all := table.All()
	p.callx = make(map[int32]*helper.Helper, len(all))
	for i := range all {
		p.callx[all[i].ID] = &all[i]
	}
	helperIndex := map[int32]int{}
	for i, ins := range insns {
		slot := len(p.code)
		in, err := lower(ins, slot)
		if err != nil {
			return nil, &isa.ValidationError{Index: i, Slot: slot, Instruction: ins, Reason: err.Error()}
		}
		if in.op == opCall {
			id := int32(ins.Imm)
			idx, ok := helperIndex[id]
			if !ok {
				h, found := table.Lookup(id)
				if !found {
					return nil, &isa.ValidationError{Index: i, Slot: slot, Instruction: ins,
						Reason: fmt.Sprintf("calls helper %d (%s), which is not available to this program", id, helper.Name(id))}
				}
				idx = len(p.helpers)
				p.helpers = append(p.helpers, h)
				helperIndex[id] = idx
			}
			in.imm = int64(idx)
		}
		if ins.IsLdDW() && uint8(ins.Src) == isa.PseudoFunc {
			if p.funcs == nil {
				p.funcs = make([]bool, insns.SlotCount())
			}
			p.funcs[in.off] = true
		}
		p.code = append(p.code, in)
		p.index = append(p.index, int32(i))
		if ins.IsLdDW() {
			p.code = append(p.code, inst{op: opInvalid})
			p.index = append(p.index, int32(i))
		}
	}
	return p, nil
}

// Instructions returns the instructions the program was compiled from.
func (p *Program) Instructions() isa.Instructions { return p.insns }

var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// lower maps one validated instruction at slot to its interpreter form.
func lower(ins isa.Instruction, slot int) (inst, error) {
	in := inst{dst: uint8(ins.Dst), src: uint8(ins.Src), off: int32(ins.Offset), imm: ins.Imm}
	x := ins.Source() == isa.SourceX
	pick := func(k, r opcode) opcode {
		if x {
			return r
		}
		return k
	}
	switch ins.Class() {
	case isa.ClassALU64, isa.ClassALU:
		alu64 := ins.Class() == isa.ClassALU64
		w := func(op64, op32 opcode) opcode {
			if alu64 {
				return op64
			}
			return op32
		}
		signed := ins.Offset == 1
		switch ins.Op() {
		case isa.ALUAdd:
			in.op = w(pick(opAdd64K, opAdd64X), pick(opAdd32K, opAdd32X))
		case isa.ALUSub:
			in.op = w(pick(opSub64K, opSub64X), pick(opSub32K, opSub32X))
		case isa.ALUMul:
			in.op = w(pick(opMul64K, opMul64X), pick(opMul32K, opMul32X))
		case isa.ALUDiv:
			if !x && ins.Imm == 0 {
				// Division by a zero constant gives zero.
				in.op, in.imm = w(opMov64K, opMov32K), 0
				break
			}
			if signed {
				in.op = w(pick(opSDiv64K, opSDiv64X), pick(opSDiv32K, opSDiv32X))
			} else {
				in.op = w(pick(opDiv64K, opDiv64X), pick(opDiv32K, opDiv32X))
			}
		case isa.ALUMod:
			if !x && ins.Imm == 0 {
				// Modulo by a zero constant leaves dst, zero-extended in 32-bit.
				in.op = w(opNop, opZext32)
				break
			}
			if signed {
				in.op = w(pick(opSMod64K, opSMod64X), pick(opSMod32K, opSMod32X))
			} else {
				in.op = w(pick(opMod64K, opMod64X), pick(opMod32K, opMod32X))
			}
		case isa.ALUOr:
			in.op = w(pick(opOr64K, opOr64X), pick(opOr32K, opOr32X))
		case isa.ALUAnd:
			in.op = w(pick(opAnd64K, opAnd64X), pick(opAnd32K, opAnd32X))
		case isa.ALULsh:
			in.op = w(pick(opLsh64K, opLsh64X), pick(opLsh32K, opLsh32X))
		case isa.ALURsh:
			in.op = w(pick(opRsh64K, opRsh64X), pick(opRsh32K, opRsh32X))
		case isa.ALUArsh:
			in.op = w(pick(opArsh64K, opArsh64X), pick(opArsh32K, opArsh32X))
		case isa.ALUNeg:
			in.op = w(opNeg64, opNeg32)
		case isa.ALUXor:
			in.op = w(pick(opXor64K, opXor64X), pick(opXor32K, opXor32X))
		case isa.ALUMov:
			switch ins.Offset {
			case 0:
				in.op = w(pick(opMov64K, opMov64X), pick(opMov32K, opMov32X))
			case 8:
				in.op = w(opMovSX8to64, opMovSX8to32)
			case 16:
				in.op = w(opMovSX16to64, opMovSX16to32)
			case 32:
				in.op = opMovSX32to64
			}
		case isa.ALUEnd:
			in.op = lowerEndian(ins, alu64)
		}
	case isa.ClassJMP, isa.ClassJMP32:
		if target, ok := ins.JumpTarget(slot); ok {
			in.off = int32(target)
		}
		jmp64 := ins.Class() == isa.ClassJMP
		w := func(op64, op32 opcode) opcode {
			if jmp64 {
				return op64
			}
			return op32
		}
		switch ins.Op() {
		case isa.JumpA:
			in.op = opJA
		case isa.JumpCond:
			if ins.IsMayGoto() {
				in.op = opMayGoto
			}
		case isa.JumpEq:
			in.op = w(pick(opJEq64K, opJEq64X), pick(opJEq32K, opJEq32X))
		case isa.JumpGT:
			in.op = w(pick(opJGT64K, opJGT64X), pick(opJGT32K, opJGT32X))
		case isa.JumpGE:
			in.op = w(pick(opJGE64K, opJGE64X), pick(opJGE32K, opJGE32X))
		case isa.JumpSet:
			in.op = w(pick(opJSet64K, opJSet64X), pick(opJSet32K, opJSet32X))
		case isa.JumpNE:
			in.op = w(pick(opJNE64K, opJNE64X), pick(opJNE32K, opJNE32X))
		case isa.JumpSGT:
			in.op = w(pick(opJSGT64K, opJSGT64X), pick(opJSGT32K, opJSGT32X))
		case isa.JumpSGE:
			in.op = w(pick(opJSGE64K, opJSGE64X), pick(opJSGE32K, opJSGE32X))
		case isa.JumpLT:
			in.op = w(pick(opJLT64K, opJLT64X), pick(opJLT32K, opJLT32X))
		case isa.JumpLE:
			in.op = w(pick(opJLE64K, opJLE64X), pick(opJLE32K, opJLE32X))
		case isa.JumpSLT:
			in.op = w(pick(opJSLT64K, opJSLT64X), pick(opJSLT32K, opJSLT32X))
		case isa.JumpSLE:
			in.op = w(pick(opJSLE64K, opJSLE64X), pick(opJSLE32K, opJSLE32X))
		case isa.JumpExit:
			in.op = opExit
		case isa.JumpCall:
			switch {
			case x:
				in.op = opCallX
			case uint8(ins.Src) == isa.CallLocal:
				in.op = opCallLocal
			case uint8(ins.Src) == isa.CallHelper:
				in.op = opCall
			default:
				return in, fmt.Errorf("kernel function calls (kfuncs) are not supported")
			}
		}
	case isa.ClassLD:
		switch ins.Mode() {
		case isa.ModeIMM:
			switch uint8(ins.Src) {
			case isa.PseudoNone:
			case isa.PseudoFunc:
				// A function pointer, for callbacks; off keeps the target.
				target, _ := ins.JumpTarget(slot)
				in.off, in.imm = int32(target), int64(engine.FuncTag|uint64(target))
			default:
				return in, fmt.Errorf("lddw of a %s was not resolved by a loader", isa.PseudoName(uint8(ins.Src)))
			}
			in.op = opLdDW
		case isa.ModeABS:
			in.op = bySize(ins.Size(), opLdAbsB, opLdAbsH, opLdAbsW, opInvalid)
		case isa.ModeIND:
			in.op = bySize(ins.Size(), opLdIndB, opLdIndH, opLdIndW, opInvalid)
		}
	case isa.ClassLDX:
		if ins.Mode() == isa.ModeMEMSX {
			in.op = bySize(ins.Size(), opLdxSB, opLdxSH, opLdxSW, opInvalid)
		} else {
			in.op = bySize(ins.Size(), opLdxB, opLdxH, opLdxW, opLdxDW)
		}
	case isa.ClassST:
		in.op = bySize(ins.Size(), opStB, opStH, opStW, opStDW)
	case isa.ClassSTX:
		if ins.Mode() == isa.ModeMEM {
			in.op = bySize(ins.Size(), opStxB, opStxH, opStxW, opStxDW)
			break
		}
		switch int32(ins.Imm) {
		case isa.AtomicLoadAcquire:
			in.op = bySize(ins.Size(), opLoadAcqB, opLoadAcqH, opLoadAcqW, opLoadAcqDW)
		case isa.AtomicStoreRelease:
			in.op = bySize(ins.Size(), opStoreRelB, opStoreRelH, opStoreRelW, opStoreRelDW)
		default:
			in.op = lowerAtomic(int32(ins.Imm), ins.Size() == isa.SizeDW)
		}
	}
	if in.op == opInvalid {
		return in, fmt.Errorf("the interpreter has no implementation of opcode %#02x", ins.Opcode)
	}
	return in, nil
}

func bySize(s isa.Size, b, h, w, dw opcode) opcode {
	switch s {
	case isa.SizeB:
		return b
	case isa.SizeH:
		return h
	case isa.SizeW:
		return w
	}
	return dw
}

func lowerEndian(ins isa.Instruction, alu64 bool) opcode {
	// ALU64 END is bswap; ALU END converts to the byte order the source bit
	// names: to little endian (K) or big endian (X).
	swap := alu64 || (ins.Source() == isa.SourceX) == hostLittleEndian
	switch ins.Imm {
	case 16:
		if swap {
			return opSwap16
		}
		return opZext16
	case 32:
		if swap {
			return opSwap32
		}
		return opZext32
	}
	if swap {
		return opSwap64
	}
	return opNop
}

func lowerAtomic(imm int32, dw bool) opcode {
	var op32, op64 opcode
	switch imm {
	case isa.AtomicAdd:
		op32, op64 = opAtomicAdd32, opAtomicAdd64
	case isa.AtomicOr:
		op32, op64 = opAtomicOr32, opAtomicOr64
	case isa.AtomicAnd:
		op32, op64 = opAtomicAnd32, opAtomicAnd64
	case isa.AtomicXor:
		op32, op64 = opAtomicXor32, opAtomicXor64
	case isa.AtomicAdd | isa.AtomicFetch:
		op32, op64 = opAtomicFetchAdd32, opAtomicFetchAdd64
	case isa.AtomicOr | isa.AtomicFetch:
		op32, op64 = opAtomicFetchOr32, opAtomicFetchOr64
	case isa.AtomicAnd | isa.AtomicFetch:
		op32, op64 = opAtomicFetchAnd32, opAtomicFetchAnd64
	case isa.AtomicXor | isa.AtomicFetch:
		op32, op64 = opAtomicFetchXor32, opAtomicFetchXor64
	case isa.AtomicXchg:
		op32, op64 = opAtomicXchg32, opAtomicXchg64
	case isa.AtomicCmpXchg:
		op32, op64 = opAtomicCmpXchg32, opAtomicCmpXchg64
	default:
		return opInvalid
	}
	if dw {
		return op64
	}
	return op32
}
