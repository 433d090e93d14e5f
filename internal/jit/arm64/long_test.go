package arm64

import (
	"encoding/binary"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
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

// TestLongBranches checks that a program too long for b.cond is compiled
// again with its far conditional branches and budget charges inverted
// over an unconditional b (package jit runs it).
func TestLongBranches(t *testing.T) {
	in := abi.Input{Instructions: longProgram(1000), ID: 1, Helper: func(int32) error { return nil }}
	if err := in.Instructions.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := compile(in, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.missed) != 0 || c.chargesMissed {
		t.Fatalf("a short program needs long branches: %d missed, charges missed %v", len(c.missed), c.chargesMissed)
	}
	in.Instructions = longProgram(30000)
	c, err = compile(in, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.missed) != 2 || !c.chargesMissed {
		t.Fatalf("first try: %d conditional branches out of reach, charges out of reach %v; want 2 and true", len(c.missed), c.chargesMissed)
	}
	out, err := Compile(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Code) < 1<<20 {
		t.Fatalf("code of %d bytes, want more than a megabyte", len(out.Code))
	}
	// The exit of the function at the end, more than a megabyte from the
	// entry's epilogue at the start, branches there over a b.
	exit := int(out.Slots[len(out.Slots)-1]) // ldr, cmp, b.ne, b, ret
	if w := binary.LittleEndian.Uint32(out.Code[exit+8:]); w != 0x54000041 {
		t.Errorf("the last exit's branch to the epilogue is %#08x, want b.ne over a b (0x54000041)", w)
	}
}
