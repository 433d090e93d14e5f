package jit

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// fuzzHelpers are the helpers of the differential fuzz test: 1 clears
// memory the program names (a checked write), 5 is the conformance suite's
// unwind.
func fuzzHelpers(tb testing.TB) *helper.Table {
	table, err := helper.NewTable(
		helper.Helper{ID: 1, Name: "clear", Func: func(c *helper.Call) (uint64, error) {
			b, err := c.Write(c.Args[0], c.Args[1]&0xff)
			if err != nil {
				return 0, err
			}
			clear(b)
			return uint64(len(b)), nil
		}},
		helper.Helper{ID: 5, Name: "unwind", Func: unwind},
	)
	if err != nil {
		tb.Fatal(err)
	}
	return table
}

// FuzzDifferential runs arbitrary bytecode on arbitrary memory in the
// interpreter and compiled in checked mode: both must end the same way,
// with the same r0 and the same memory. Neither may crash or hang.
func FuzzDifferential(f *testing.F) {
	for _, tc := range conformance.Vectors(f) {
		f.Add(tc.Program.Encode(), tc.Mem)
	}
	f.Add(isa.Instructions{
		{Opcode: isa.OpMov64, Dst: isa.R2, Imm: 1},
		{Opcode: 0xdb, Dst: isa.R10, Src: isa.R2, Offset: -8, Imm: int64(isa.AtomicCmpXchg)},
		{Opcode: isa.OpExit},
	}.Encode(), []byte{})
	table := fuzzHelpers(f)
	f.Fuzz(func(t *testing.T, code, mem []byte) {
		insns, err := isa.Decode(code)
		if err != nil {
			return
		}
		ip, err := interp.Compile(insns, table)
		if err != nil {
			return
		}
		jp, err := Compile(insns, table, Options{Checked: true})
		if err != nil {
			t.Fatalf("the interpreter compiles the program, the JIT does not: %v", err)
		}
		// Both runs use the same buffer, so that they see the same
		// addresses; the stacks differ, so programs that compute with r10
		// are only run.
		buf := make([]byte, len(mem))
		run := func(run func(mem []byte) (uint64, error)) (uint64, []byte, error) {
			copy(buf, mem)
			r, err := run(buf)
			return r, append([]byte(nil), buf...), err
		}
		ir, imem, ierr := run(func(b []byte) (uint64, error) {
			m := interp.NewMachine()
			reg := memory.NewRegion(b, true, memory.KindContext)
			m.Memory.Add(reg)
			m.Packet = memory.NewRegion(b, false, memory.KindPacket)
			return ip.Run(m, engine.RunArgs{R1: reg.Start, R2: uint64(len(b)), Budget: 10000, Context: context.Background()})
		})
		jr, jmem, jerr := run(func(b []byte) (uint64, error) {
			m := NewMachine()
			reg := memory.NewRegion(b, true, memory.KindContext)
			m.Memory.Add(reg)
			m.Packet = memory.NewRegion(b, false, memory.KindPacket)
			return jp.Run(m, engine.RunArgs{R1: reg.Start, R2: uint64(len(b)), Budget: 10000, Context: context.Background()})
		})
		if usesStackAddress(insns) {
			return
		}
		if errors.Is(ierr, engine.ErrBudgetExhausted) || errors.Is(jerr, engine.ErrBudgetExhausted) {
			// The JIT counts instructions by basic block, the interpreter
			// one by one: near the budget they part.
			return
		}
		if (ierr == nil) != (jerr == nil) {
			t.Fatalf("interpreter: r0 %#x, error %v\nJIT: r0 %#x, error %v\n%s", ir, ierr, jr, jerr, insns)
		}
		if ierr == nil && ir != jr {
			t.Fatalf("r0: interpreter %#x, JIT %#x\n%s", ir, jr, insns)
		}
		if !bytes.Equal(imem, jmem) {
			t.Fatalf("memory: interpreter %x, JIT %x\n%s", imem, jmem, insns)
		}
	})
}

// usesStackAddress reports whether a program uses r10 other than as the
// base of a load or store: its results may then hold the stack's address.
func usesStackAddress(insns isa.Instructions) bool {
	for _, ins := range insns {
		switch ins.Class() {
		case isa.ClassALU, isa.ClassALU64, isa.ClassJMP, isa.ClassJMP32, isa.ClassSTX:
			if ins.Src == isa.R10 {
				return true
			}
			if ins.Class() == isa.ClassJMP && ins.Op() == isa.JumpCall && ins.Source() == isa.SourceX && ins.Dst == isa.R10 {
				return true
			}
		case isa.ClassLD:
			if ins.Mode() == isa.ModeIND && ins.Src == isa.R10 {
				return true
			}
		}
	}
	return false
}
