package jit

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

func fnvGo(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// BenchmarkEngine runs the interpreter's benchmark programs compiled and
// interpreted, with each engine's Machine reused and the memory registered
// once (as ubpf_exec does): the fixed cost of a run (return1) and the cost
// per instruction (FNV-1a over 1500 bytes).
func BenchmarkEngine(b *testing.B) {
	data := make([]byte, 1500)
	for i := range data {
		data[i] = byte(i * 7)
	}
	fnv, err := assembler.Assemble(jittest.FNV1a)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		insns isa.Instructions
		mem   []byte
		count float64 // instructions executed per run
	}{
		{"return1", isa.Instructions{{Opcode: isa.OpMov64, Imm: 1}, {Opcode: isa.OpExit}}, nil, 2},
		{"fnv1a-1500", fnv, data, 2 + 6*1500 + 1},
	} {
		r := memory.NewRegion(bc.mem, false, memory.KindContext)
		args := engine.RunArgs{R1: r.Start, R2: uint64(len(bc.mem))}
		want := uint64(1)
		if bc.mem != nil {
			want = uint64(fnvGo(bc.mem))
		}
		b.Run(bc.name+"/jit", func(b *testing.B) {
			p, err := Compile(bc.insns, nil, Options{Type: kernel.RawMemory})
			if err != nil {
				b.Fatal(err)
			}
			m := NewMachine()
			m.Memory.Add(r)
			b.ReportAllocs()
			for b.Loop() {
				if got, err := p.Run(m, args); err != nil || got != want {
					b.Fatalf("r0 %#x, %v; want %#x", got, err, want)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bc.count, "ns/insn")
		})
		b.Run(bc.name+"/interpreter", func(b *testing.B) {
			p, err := interp.Compile(bc.insns, nil)
			if err != nil {
				b.Fatal(err)
			}
			m := interp.NewMachine()
			m.Memory.Add(r)
			b.ReportAllocs()
			for b.Loop() {
				if got, err := p.Run(m, args); err != nil || got != want {
					b.Fatalf("r0 %#x, %v; want %#x", got, err, want)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bc.count, "ns/insn")
		})
	}
}

// BenchmarkCompile measures compiling programs of 100 to 10,000
// instructions of the shapes programs have (ALU, loads, stores, branches,
// helper calls, a loop) as the loader does (validated instructions):
// generating the code and mapping it executable. µs/1000insns is the time
// per 1000 instructions.
func BenchmarkCompile(b *testing.B) {
	h := &runtimeHelpers{}
	table := h.table(b)
	for _, n := range []int{100, 1000, 10000} {
		insns, err := jittest.CompileProgram(n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("insns=%d", len(insns)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(insns, table, Options{Type: kernel.RawMemory, Validated: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(insns))*1000, "µs/1000insns")
		})
		// The code generation alone, without mapping the code.
		b.Run(fmt.Sprintf("insns=%d/generate", len(insns)), func(b *testing.B) {
			in := abi.Input{Instructions: insns, Helper: func(int32) error { return nil }}
			for b.Loop() {
				out, err := compileNative(in)
				if err != nil {
					b.Fatal(err)
				}
				in.Buffer = out.Code
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(insns))*1000, "µs/1000insns")
		})
	}
}

// BenchmarkHelperCall measures the round trip of a helper call from
// compiled code to Go and back: a run of 100 calls of a helper that
// returns its first argument.
func BenchmarkHelperCall(b *testing.B) {
	table, err := helper.NewTable(helper.Helper{ID: 1, Name: "id", Func: func(c *helper.Call) (uint64, error) { return c.Args[0], nil }})
	if err != nil {
		b.Fatal(err)
	}
	insns := assemble(b, "mov %r6, 100; mov %r1, %r6; call 1; add %r6, -1; jne %r6, 0, -4; exit")
	p, err := Compile(insns, table, Options{Type: kernel.RawMemory})
	if err != nil {
		b.Fatal(err)
	}
	m := NewMachine()
	args := engine.RunArgs{}
	for b.Loop() {
		if _, err := p.RunRepeat(m, &args, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/call")
}

// fnv1aBoundsAsm is the loop of testdata/bench/fnv1a.c as clang compiles
// it (ten instructions per byte, with the bounds check before each byte),
// over the r2 bytes at r1, at most 1500.
const fnv1aBoundsAsm = `
add %r2, %r1
mov32 %r6, 0x811c9dc5
mov %r3, 0
l: mov %r4, %r1
add %r4, %r3
mov %r5, %r4
add %r5, 1
jgt %r5, %r2, out
ldxb %r4, [%r4]
xor32 %r6, %r4
mul32 %r6, 16777619
add %r3, 1
jne %r3, 1500, l
out: mov %r0, %r6
exit
`

// BenchmarkBudgetCost measures what charging the budget costs verified
// code: each program compiled as it is and without the charges
// (Options.unbounded), the two run alternately, one run each per
// iteration (a repeat of 8 runs each: the clock counts in steps of 10 ns
// on some machines), so that both see the same machine. charged-ns/run
// and unbounded-ns/run are the medians of the times of single iterations,
// divided by 8, which other work on the machine disturbs only when it
// takes the processor in the middle of one; cost-% is how much longer the
// charged runs take, from the medians. fnv1a-1500 is BenchmarkEngine's
// loop, fnv1a-1500-bounds the loop of testdata/bench/fnv1a.c
// (BenchmarkEngines' fnv1a), fnv1a-64KiB the first over 65,536 bytes
// (393,219 instructions charged a run: six budget exits to Go a run),
// count-10000 a loop of two instructions and one cycle, where the charge
// weighs most, helper-calls BenchmarkHelperCall's loop of 100 helper
// calls (an exit stores and reloads the budget).
func BenchmarkBudgetCost(b *testing.B) {
	const batch = 8
	table, err := helper.NewTable(helper.Helper{ID: 1, Name: "id", Func: func(c *helper.Call) (uint64, error) { return c.Args[0], nil }})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, bc := range []struct {
		name string
		src  string
		mem  []byte
		want uint64
	}{
		{"fnv1a-1500", jittest.FNV1a, data[:1500], uint64(fnvGo(data[:1500]))},
		{"fnv1a-1500-bounds", fnv1aBoundsAsm, data[:1500], uint64(fnvGo(data[:1500]))},
		{"fnv1a-64KiB", jittest.FNV1a, data, uint64(fnvGo(data))},
		{"count-10000", "mov %r0, 0; l: add %r0, 1; jlt %r0, 10000, l; exit", nil, 10000},
		{"helper-calls", "mov %r6, 100; mov %r1, %r6; call 1; add %r6, -1; jne %r6, 0, -4; mov %r0, 1; exit", nil, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			insns := assemble(b, bc.src)
			charged, err := Compile(insns, table, Options{Type: kernel.RawMemory})
			if err != nil {
				b.Fatal(err)
			}
			unbounded, err := Compile(insns, table, Options{Type: kernel.RawMemory, unbounded: true})
			if err != nil {
				b.Fatal(err)
			}
			r := memory.NewRegion(bc.mem, false, memory.KindContext)
			m := NewMachine()
			m.Memory.Add(r)
			args := engine.RunArgs{R1: r.Start, R2: uint64(len(bc.mem))}
			progs := [2]*Program{charged, unbounded}
			var times [2][]time.Duration
			i := 0
			for b.Loop() {
				for k := range 2 {
					k ^= i & 1 // alternate which one goes first
					start := time.Now()
					got, err := progs[k].RunRepeat(m, &args, batch)
					times[k] = append(times[k], time.Since(start))
					if err != nil || got != bc.want {
						b.Fatalf("r0 %#x, %v; want %#x", got, err, bc.want)
					}
				}
				i++
			}
			var median [2]float64
			for k := range 2 {
				slices.Sort(times[k])
				median[k] = float64(times[k][len(times[k])/2].Nanoseconds()) / batch
			}
			b.ReportMetric(median[0], "charged-ns/run")
			b.ReportMetric(median[1], "unbounded-ns/run")
			b.ReportMetric(100*(median[0]/median[1]-1), "cost-%")
		})
	}
}
