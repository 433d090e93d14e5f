package probe_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/isa"
	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/probe"
)

// counterSource is a raw tracepoint program that adds 1 to element 0 of
// the map HANDLE: an atomic add in an array, a plain one in a per-CPU
// array (the slot's own value).
const counterSource = `
	stw [%%r10-4], 0
	mov %%r2, %%r10
	add %%r2, -4
	lddw %%r1, %#x
	call 1
	jeq %%r0, 0, +%d
	%s
	mov %%r0, 0
	exit`

// newCounter loads the counting program over a new map of type typ.
func newCounter(tb testing.TB, typ ebpf.MapType, eng waggle.Engine) (*waggle.Map, *waggle.Program) {
	tb.Helper()
	if eng == waggle.EngineJIT && !jit.Supported {
		tb.Skipf("no JIT on this system: %s", jit.Unsupported)
	}
	m, err := waggle.NewMap(&ebpf.MapSpec{Name: "count", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	add, skip := "mov %r1, 1\n\tlock add [%r0], %r1", 2
	if typ == ebpf.PerCPUArray {
		add, skip = "ldxdw %r1, [%r0]\n\tadd %r1, 1\n\tstxdw [%r0], %r1", 3
	}
	insns, err := assembler.Assemble(fmt.Sprintf(counterSource, m.Handle(), skip, add))
	if err != nil {
		tb.Fatal(err)
	}
	prog, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: "count", Type: ebpf.RawTracepoint, Instructions: insns},
		waggle.ProgramOptions{Engine: eng})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { prog.Close() })
	return m, prog
}

// count sums element 0 of a counting map over its CPU slots.
func count(tb testing.TB, m *waggle.Map) uint64 {
	tb.Helper()
	if m.Type() == ebpf.PerCPUArray {
		var vs []uint64
		if err := m.Lookup(uint32(0), &vs); err != nil {
			tb.Fatal(err)
		}
		var n uint64
		for _, v := range vs {
			n += v
		}
		return n
	}
	var n uint64
	if err := m.Lookup(uint32(0), &n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// benchCounter attaches a new counting program to a new point with two
// arguments.
func benchCounter(b *testing.B, typ ebpf.MapType, eng waggle.Engine) (*probe.Point, *waggle.Map, *link.ProbeLink) {
	m, prog := newCounter(b, typ, eng)
	p := probe.MustNew("bench_"+strings.ToLower(typ.String()), probe.Arg{Name: "a", Type: probe.Uint64}, probe.Arg{Name: "b", Type: probe.Uint64})
	l, err := link.AttachProbe(p, prog, link.ProbeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return p, m, l
}

func checkCount(b *testing.B, m *waggle.Map, l *link.ProbeLink, n int) {
	b.Helper()
	if got := count(b, m); got != uint64(n) {
		b.Fatalf("the map counts %d fires, want %d", got, n)
	}
	if s := l.Stats(); s.Errors != 0 {
		b.Fatalf("%d runs failed: %v", s.Errors, s.LastError)
	}
}

func mustAssemble(tb testing.TB, src string) isa.Instructions {
	tb.Helper()
	insns, err := assembler.Assemble(src)
	if err != nil {
		tb.Fatal(err)
	}
	return insns
}
