//go:build linux

package jit

import (
	"testing"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/isa"
)

// longProgram is a program whose code spans more than a b.cond reaches
// (a megabyte): n bpf-to-bpf calls of a function at its end (their budget
// charges exit at the end too), a forward conditional jump over them and a
// backward one. It returns 0 if r1 is not 0, else 2n.
func longProgram(n int) isa.Instructions {
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

// TestLongBranches runs a program whose code is longer than a b.cond
// reaches, verified and checked: the arm64 backend compiles its far
// conditional branches and budget charges inverted over a b (see
// arm64.TestLongBranches), and they must still go where they should.
func TestLongBranches(t *testing.T) {
	table, err := helper.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	// Checked code is about three times as long.
	for _, checked := range []bool{false, true} {
		n := map[bool]uint64{false: 25000, true: 8000}[checked]
		p, err := Compile(longProgram(int(n)), table, Options{Checked: checked})
		if err != nil {
			t.Fatal(err)
		}
		if p.CodeSize() < 1<<20 {
			t.Fatalf("checked=%v: %d bytes of code, want more than a megabyte", checked, p.CodeSize())
		}
		m := NewMachine()
		for _, tc := range []struct{ r1, want uint64 }{{1, 0}, {0, 2 * n}} {
			r, err := p.Run(m, engine.RunArgs{R1: tc.r1})
			if err != nil || r != tc.want {
				t.Errorf("checked=%v, r1=%d: r0 = %d, %v; want %d", checked, tc.r1, r, err, tc.want)
			}
		}
	}
}
