package isa

import (
	"testing"

	"github.com/cilium/ebpf/asm"
)

func TestFromCilium(t *testing.T) {
	insns := asm.Instructions{
		asm.Mov.Imm(asm.R0, 0).WithSymbol("entry"),
		asm.Call.Label("sub"),
		asm.JEq.Imm(asm.R0, 3, "out"),
		asm.LoadImm(asm.R1, 0x1122334455667788, asm.DWord),
		asm.Return().WithSymbol("out"),
		asm.Mov.Imm(asm.R0, 3).WithSymbol("sub"),
		asm.Return(),
	}
	got, err := FromCilium(insns)
	if err != nil {
		t.Fatal(err)
	}
	want := Instructions{
		{Opcode: OpMov64},
		{Opcode: OpCall, Src: Register(CallLocal), Imm: 4},    // slot 1 → slot 6
		{Opcode: uint8(ClassJMP) | JumpEq, Offset: 2, Imm: 3}, // slot 2 → slot 5
		{Opcode: OpLdDW, Dst: R1, Imm: 0x1122334455667788},
		{Opcode: OpExit},
		{Opcode: OpMov64, Imm: 3},
		{Opcode: OpExit},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d instructions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("instruction %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if insns[1].Constant != -1 {
		t.Errorf("FromCilium modified its input: call constant = %d", insns[1].Constant)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}
