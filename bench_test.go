package waggle_test

import (
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/isa"
)

// BenchmarkProgramRun measures one Program.Run call with Repeat 1: the fixed
// cost a Go caller pays per run (pooled machine, copy of Data, timing).
func BenchmarkProgramRun(b *testing.B) {
	p, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "return1", Instructions: isa.Instructions{
		{Opcode: isa.OpMov64, Dst: isa.R0, Imm: 1},
		{Opcode: isa.OpExit},
	}})
	if err != nil {
		b.Fatal(err)
	}
	opts := &waggle.RunOptions{Data: make([]byte, 64)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(opts); err != nil {
			b.Fatal(err)
		}
	}
}
