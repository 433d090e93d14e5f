package interp

import (
	"testing"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/isa"
)

func mayGoto(off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpJCond, Src: isa.Register(isa.MayGoto), Offset: off}
}

// TestMayGoto runs may_goto loops: may_goto falls through isa.MayGotoLimit
// times in a run, counting down, and jumps from then on; every run starts
// with a full count.
func TestMayGoto(t *testing.T) {
	add := isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd | isa.SourceK, Dst: isa.R0, Imm: 1}
	// An unbounded loop left through may_goto: r0 counts the iterations.
	loop := isa.Instructions{
		mov64(isa.R0, 0),
		mayGoto(2),
		add,
		{Opcode: isa.OpJA, Offset: -3},
		exit,
	}
	p, err := Compile(loop, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMachine()
	for run := 0; run < 2; run++ {
		r0, err := p.Run(m, engine.RunArgs{})
		if err != nil || r0 != isa.MayGotoLimit {
			t.Fatalf("run %d: r0 = %d, %v; want %d iterations", run, r0, err, isa.MayGotoLimit)
		}
	}
	// Two loops share the run's count: the second jumps at once. A
	// may_goto with offset 0 and a backward may_goto count too.
	two := isa.Instructions{
		mov64(isa.R0, 0),
		mayGoto(0), // falls through either way, and counts
		mayGoto(2), // the first loop
		add,        // r0 = limit - 1 after the loop
		{Opcode: isa.OpJA, Offset: -3},
		mov64(isa.R1, 7),
		mayGoto(1), // the second loop: the count is spent, it jumps at once
		mov64(isa.R1, 100),
		{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd | isa.SourceX, Dst: isa.R0, Src: isa.R1},
		exit,
	}
	r0, err := run(t, two, nil, false, nil, 0)
	if want := uint64(isa.MayGotoLimit - 1 + 7); err != nil || r0 != want {
		t.Fatalf("two loops: r0 = %d, %v; want %d", r0, err, want)
	}
	// The budget still bounds a run.
	if _, err := run(t, loop, nil, false, nil, 1000); err == nil {
		t.Fatal("a budget of 1000 instructions did not stop an 8M-iteration loop")
	}
}
