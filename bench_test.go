package waggle_test

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
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

// BenchmarkObjects runs the examples' XDP programs on their packets, in
// each of waggle's engines and, as root, in the kernel (BPF_PROG_TEST_RUN
// with its JIT) in the same run: ns/op is waggle's time per packet,
// kernel-ns/op the kernel's.
func BenchmarkObjects(b *testing.B) {
	for _, bc := range []struct{ obj, prog, data string }{
		{"examples/proto_count/proto_count.o", "proto_count", "examples/proto_count/packet.bin"},
		{"examples/firewall/firewall.o", "firewall", "examples/firewall/packet.bin"},
	} {
		data, err := os.ReadFile(bc.data)
		if err != nil {
			b.Fatal(err)
		}
		kernelNS, kernelOK := kernelBenchmark(bc.obj, bc.prog, data)
		for _, engine := range []waggle.Engine{waggle.EngineInterpreter, waggle.EngineJIT} {
			b.Run(bc.prog+"/"+engine.String(), func(b *testing.B) {
				spec, err := waggle.LoadCollectionSpec(bc.obj)
				if err != nil {
					b.Fatal(err)
				}
				coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: engine})
				if err != nil {
					b.Fatal(err)
				}
				defer coll.Close()
				prog := coll.Programs[bc.prog]
				b.ResetTimer()
				var res waggle.RunResult
				if _, err := prog.Run(&waggle.RunOptions{Data: data, Repeat: uint32(b.N), Result: &res}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if kernelOK {
					b.ReportMetric(kernelNS, "kernel-ns/op")
					b.ReportMetric(float64(res.Duration.Nanoseconds())/kernelNS, "x-kernel")
				}
			})
		}
	}
}

// kernelBenchmark is the kernel's time per run of the program on data, or
// false where the kernel cannot run it here.
func kernelBenchmark(obj, prog string, data []byte) (float64, bool) {
	if kerneltest.Available() != nil {
		return 0, false
	}
	coll, err := ebpf.LoadCollection(obj)
	if err != nil {
		return 0, false
	}
	defer coll.Close()
	_, d, err := coll.Programs[prog].Benchmark(data, 1_000_000, nil)
	if err != nil {
		return 0, false
	}
	return float64(d.Nanoseconds()), true
}
