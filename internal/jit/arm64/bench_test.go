package arm64

import (
	"fmt"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/internal/jit/amd64"
	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
)

// BenchmarkGenerate measures the arm64 backend's code generation against
// the amd64 backend's on the same programs (internal/jit's
// BenchmarkCompile shapes: ALU, loads, stores, branches, helper calls and
// a loop) on this host: code generation is plain Go and runs anywhere, so
// unlike running the code, it can be compared on an x86-64 machine.
// µs/1000insns is the time per 1000 instructions.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		insns, err := jittest.CompileProgram(n)
		if err != nil {
			b.Fatal(err)
		}
		for _, backend := range []struct {
			name    string
			compile func(abi.Input) (*abi.Output, error)
		}{{"arm64", Compile}, {"amd64", amd64.Compile}} {
			b.Run(fmt.Sprintf("insns=%d/%s", len(insns), backend.name), func(b *testing.B) {
				in := abi.Input{Instructions: insns, Helper: func(int32) error { return nil }}
				b.ReportAllocs()
				for b.Loop() {
					out, err := backend.compile(in)
					if err != nil {
						b.Fatal(err)
					}
					in.Buffer = out.Code[:0]
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(insns))*1000, "µs/1000insns")
			})
		}
	}
}
