// Package jittest holds programs that the tests of package jit and of its
// backends share. Not for users.
package jittest

import "github.com/waggle-ebpf/waggle/isa"

// LongProgram is a program whose code spans more than an arm64 b.cond
// reaches (a megabyte) for n large enough: n bpf-to-bpf calls of a
// function at its end (their budget charges exit at the end too), a
// forward conditional jump over them and a backward one. It returns 0 if
// r1 is not 0, else 2n.
func LongProgram(n int) isa.Instructions {
	insns := isa.Instructions{
		{Opcode: isa.OpMov64, Dst: isa.R0, Imm: 0},
		{Opcode: isa.OpMov64, Dst: isa.R6, Imm: 2},
		{Opcode: uint8(isa.ClassJMP) | isa.JumpNE, Dst: isa.R1, Offset: int16(2 + n)},
	}
	for s := 3; s < 3+n; s++ {
		insns = append(insns, isa.Instruction{Opcode: isa.OpCall, Src: isa.Register(isa.CallLocal), Imm: int64(6 + n - (s + 1))})
	}
	return append(insns,
		isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUSub, Dst: isa.R6, Imm: 1},
		isa.Instruction{Opcode: uint8(isa.ClassJMP) | isa.JumpNE, Dst: isa.R6, Offset: int16(-2 - n)},
		isa.Instruction{Opcode: isa.OpExit},
		isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd, Dst: isa.R0, Imm: 1},
		isa.Instruction{Opcode: isa.OpExit},
	)
}
