package isa

import (
	"encoding/binary"
	"fmt"
)

// Register is an eBPF register number, R0 to R10.
type Register uint8

// The eleven registers. R10 is the read-only frame pointer.
const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
)

// RFP is the frame pointer, R10.
const RFP = R10

// InstructionSize is the size in bytes of one instruction slot.
const InstructionSize = 8

// Instruction is one eBPF instruction.
type Instruction struct {
	Opcode uint8
	Dst    Register
	Src    Register
	// Offset is a memory offset, a jump offset in slots, or the variant of
	// sdiv/smod (1) and movsx (8, 16, 32).
	Offset int16
	// Imm is the sign-extended 32-bit immediate, or for lddw the whole
	// 64-bit constant (the first slot's immediate in the low half, the
	// second slot's in the high half).
	Imm int64
}

// Class is the instruction class.
func (ins Instruction) Class() Class { return Class(ins.Opcode & 0x07) }

// Op is the operation bits (4-7) of an ALU or jump instruction.
func (ins Instruction) Op() uint8 { return ins.Opcode & 0xf0 }

// Source is SourceK or SourceX for ALU and jump instructions.
func (ins Instruction) Source() uint8 { return ins.Opcode & 0x08 }

// Size is the access width of a load or store.
func (ins Instruction) Size() Size { return Size(ins.Opcode & 0x18) }

// Mode is the addressing mode of a load or store.
func (ins Instruction) Mode() Mode { return Mode(ins.Opcode & 0xe0) }

// IsLdDW reports whether the instruction is a 64-bit immediate load, which
// takes two slots.
func (ins Instruction) IsLdDW() bool { return ins.Opcode == OpLdDW }

// Slots is the number of 8-byte slots the instruction occupies: 2 for lddw,
// else 1.
func (ins Instruction) Slots() int {
	if ins.IsLdDW() {
		return 2
	}
	return 1
}

// Imm32 is the 32-bit immediate as encoded in the first slot.
func (ins Instruction) Imm32() int32 { return int32(ins.Imm) }

// IsLoadAcquire reports whether the instruction is a load-acquire, which
// reads memory at Src+Offset into Dst.
func (ins Instruction) IsLoadAcquire() bool {
	return ins.Class() == ClassSTX && ins.Mode() == ModeATOMIC && int32(ins.Imm) == AtomicLoadAcquire
}

// IsStoreRelease reports whether the instruction is a store-release, which
// writes Src to memory at Dst+Offset.
func (ins Instruction) IsStoreRelease() bool {
	return ins.Class() == ClassSTX && ins.Mode() == ModeATOMIC && int32(ins.Imm) == AtomicStoreRelease
}

// IsMayGoto reports whether the instruction is may_goto, which jumps by
// Offset slots once its frame's may_goto count is used up and otherwise
// falls through.
func (ins Instruction) IsMayGoto() bool {
	return ins.Opcode == OpJCond && uint8(ins.Src) == MayGoto
}

// IsHelperCall reports whether the instruction calls a helper by ID.
func (ins Instruction) IsHelperCall() bool {
	return ins.Opcode == OpCall && uint8(ins.Src) == CallHelper
}

// IsLocalCall reports whether the instruction calls a subprogram.
func (ins Instruction) IsLocalCall() bool {
	return ins.Opcode == OpCall && uint8(ins.Src) == CallLocal
}

// AppendEncoded appends the little-endian bytecode of ins to b.
func (ins Instruction) AppendEncoded(b []byte) []byte {
	regs := uint8(ins.Dst)&0x0f | uint8(ins.Src)<<4
	b = append(b, ins.Opcode, regs)
	b = binary.LittleEndian.AppendUint16(b, uint16(ins.Offset))
	b = binary.LittleEndian.AppendUint32(b, uint32(ins.Imm))
	if ins.IsLdDW() {
		b = append(b, 0, 0, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(uint64(ins.Imm)>>32))
	}
	return b
}

// Instructions is a program or subprogram: a sequence of instructions.
type Instructions []Instruction

// Encode returns the little-endian bytecode of the instructions.
func (insns Instructions) Encode() []byte {
	b := make([]byte, 0, len(insns)*InstructionSize)
	for _, ins := range insns {
		b = ins.AppendEncoded(b)
	}
	return b
}

// SlotCount is the number of 8-byte slots the instructions occupy.
func (insns Instructions) SlotCount() int {
	n := 0
	for _, ins := range insns {
		n += ins.Slots()
	}
	return n
}

// DecodeError reports bytecode that cannot be decoded.
type DecodeError struct {
	Slot   int // the 8-byte slot where the problem is
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("decode bytecode: slot %d (byte offset %d): %s", e.Slot, e.Slot*InstructionSize, e.Reason)
}

// Decode decodes little-endian bytecode. It checks only the encoding (the
// length, and the second slot of every lddw); Validate checks the meaning.
func Decode(code []byte) (Instructions, error) {
	if len(code)%InstructionSize != 0 {
		return nil, &DecodeError{Slot: len(code) / InstructionSize,
			Reason: fmt.Sprintf("bytecode is %d bytes long, not a multiple of %d", len(code), InstructionSize)}
	}
	insns := make(Instructions, 0, len(code)/InstructionSize)
	for slot := 0; slot*InstructionSize < len(code); slot++ {
		raw := code[slot*InstructionSize:]
		ins := Instruction{
			Opcode: raw[0],
			Dst:    Register(raw[1] & 0x0f),
			Src:    Register(raw[1] >> 4),
			Offset: int16(binary.LittleEndian.Uint16(raw[2:])),
			Imm:    int64(int32(binary.LittleEndian.Uint32(raw[4:]))),
		}
		if ins.IsLdDW() {
			if len(raw) < 2*InstructionSize {
				return nil, &DecodeError{Slot: slot, Reason: "lddw is missing its second slot"}
			}
			next := raw[InstructionSize:]
			if next[0] != 0 || next[1] != 0 || next[2] != 0 || next[3] != 0 {
				return nil, &DecodeError{Slot: slot + 1,
					Reason: "second slot of lddw must have zero opcode, registers and offset"}
			}
			hi := binary.LittleEndian.Uint32(next[4:])
			ins.Imm = int64(uint64(hi)<<32 | uint64(uint32(ins.Imm)))
			slot++
		}
		insns = append(insns, ins)
	}
	return insns, nil
}
