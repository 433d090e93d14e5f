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

// BenchmarkFire: a probe point's cost on a service's hot path, against a
// plain function call of the same run (ratio = probe/call).
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
