// Package jittest holds programs that the tests of package jit and of its
// backends share. Not for users.
package jittest

import (
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/isa"
)

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

// FNV1a is the FNV-1a loop of the interpreter's benchmark (as clang -O2
// compiles the C loop: six instructions per byte) over the r2 bytes at
// r1, in the assembler's syntax.
const FNV1a = `
mov32 %r0, 0x811c9dc5
jeq %r2, 0, +6
ldxb %r3, [%r1]
xor32 %r0, %r3
mul32 %r0, 16777619
add %r1, 1
add %r2, -1
jne %r2, 0, -6
exit
`

// compileBlock is the straight-line block of CompileProgram: ALU, a
// load, a store, a branch and a helper call.
const compileBlock = `mov %r3, %r1
add %r3, 14
jgt %r3, %r2, +4
ldxb %r4, [%r1+12]
lsh %r4, 8
stxdw [%r10-8], %r4
call 1`

// CompileProgram is the program of the code generation benchmarks, of
// the shapes programs have: compileBlock repeated up to about n
// instructions, then the FNV1a loop. It is validated.
func CompileProgram(n int) (isa.Instructions, error) {
	block, err := assembler.Assemble(compileBlock)
	if err != nil {
		return nil, err
	}
	fnv, err := assembler.Assemble(FNV1a)
	if err != nil {
		return nil, err
	}
	var insns isa.Instructions
	for len(insns) < n-len(fnv) {
		insns = append(insns, block...)
	}
	insns = append(insns, fnv...)
	return insns, insns.Validate()
}
