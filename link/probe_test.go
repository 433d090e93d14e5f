package link

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/probe"
)

// countObserver counts what it is told.
type countObserver struct {
	runs, errs atomic.Int64
	verdict    atomic.Value
}

func (o *countObserver) ObserveRun(verdict string, d time.Duration) {
	o.runs.Add(1)
	o.verdict.Store(verdict)
}

func (o *countObserver) ObserveError(d time.Duration) { o.errs.Add(1) }

// TestProbeLink: AttachProbe's link runs the program on the point's fires
// until Close, which may be called again and races Wait; the observer is
// told every run, and Info describes the link.
func TestProbeLink(t *testing.T) {
	// r0 = args[0].
	insns, err := assembler.Assemble("ldxdw %r0, [%r1]\nexit")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "first_arg", Type: ebpf.RawTracepoint, Instructions: insns})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	p := probe.MustNew("link_test", probe.Arg{Name: "x", Type: probe.Uint64})
	var obs countObserver
	l, err := AttachProbe(p, prog, ProbeOptions{Runs: Runs{Observer: &obs}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p.Fire(uint64(i))
	}
	if obs.runs.Load() != 5 || obs.errs.Load() != 0 || obs.verdict.Load() != "ran" {
		t.Errorf("observer: %d runs (%v), %d errors; want 5 runs \"ran\"", obs.runs.Load(), obs.verdict.Load(), obs.errs.Load())
	}
	info := l.Info()
	if s := info.String(); !strings.HasPrefix(s, "first_arg on link_test(x uint64) — ") || !strings.HasSuffix(s, ", 5 runs, 0 errors") {
		t.Errorf("Info: %s", s)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(2)
		go func() { defer wg.Done(); _ = l.Wait() }()
		go func() { defer wg.Done(); _ = l.Close() }()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	p.Fire(9)
	if obs.runs.Load() != 5 || l.Stats().Runs != 5 || p.Enabled() {
		t.Errorf("a run after Close: %d observed, %d counted", obs.runs.Load(), l.Stats().Runs)
	}
}
