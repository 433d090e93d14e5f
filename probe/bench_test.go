package probe_test

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/probe"
)

//go:noinline
func plainCall(a, b uint64) uint64 { return a + b }

var sink uint64

// BenchmarkFire: a probe point's cost on a service's hot path: with
// nothing attached against a plain function call of the same run
// (call, detached), and with a counting program attached (an atomic add
// in an array, or an add in a per-CPU array's slot) on each engine, from
// one goroutine, from GOMAXPROCS goroutines (-parallel), and the same
// program through Program.Run (-programrun) for comparison.
func BenchmarkFire(b *testing.B) {
	b.Run("call", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			sink += plainCall(uint64(i), 2)
		}
	})
	b.Run("detached", func(b *testing.B) {
		p := probe.MustNew("bench_detached", probe.Arg{Name: "a", Type: probe.Uint64}, probe.Arg{Name: "b", Type: probe.Uint64})
		for i := 0; b.Loop(); i++ {
			p.Fire(uint64(i), 2)
		}
	})
	for _, c := range []struct {
		name string
		typ  ebpf.MapType
	}{{"array", ebpf.Array}, {"percpu", ebpf.PerCPUArray}} {
		for _, eng := range []waggle.Engine{waggle.EngineJIT, waggle.EngineInterpreter} {
			name := c.name + "-" + eng.String()
			b.Run(name, func(b *testing.B) {
				p, m, prog := benchCounter(b, c.typ, eng)
				for i := 0; b.Loop(); i++ {
					p.Fire(uint64(i), 2)
				}
				checkCount(b, m, prog, b.N)
			})
			b.Run(name+"-programrun", func(b *testing.B) {
				// The same runs through Program.Run, for comparison.
				m, prog := newCounter(b, c.typ, eng)
				ctx := make([]byte, 16)
				opts := &waggle.RunOptions{Context: ctx}
				for b.Loop() {
					if _, err := prog.Run(opts); err != nil {
						b.Fatal(err)
					}
				}
				if n := count(b, m); n != uint64(b.N) {
					b.Fatalf("the map counts %d runs, want %d", n, b.N)
				}
			})
			b.Run(name+"-parallel", func(b *testing.B) {
				p, m, prog := benchCounter(b, c.typ, eng)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						p.Fire(1, 2)
					}
				})
				checkCount(b, m, prog, b.N)
			})
		}
	}
}
