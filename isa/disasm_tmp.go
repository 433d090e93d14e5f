package isa

import "fmt"

// String is a placeholder until the disassembler lands.
func (ins Instruction) String() string {
	return fmt.Sprintf("op=%#02x dst=r%d src=r%d off=%d imm=%d", ins.Opcode, ins.Dst, ins.Src, ins.Offset, ins.Imm)
}
