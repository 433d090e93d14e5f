package jit

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/kernel"
)

// runOnceCase is a line of testdata/runonce.txt.
type runOnceCase struct {
	name    string
	budget  uint64
	exits   bool
	src     string
	wantErr string
}

func readRunOnceCases(t *testing.T) []runOnceCase {
	t.Helper()
	data, err := os.ReadFile("testdata/runonce.txt")
	if err != nil {
		t.Fatal(err)
	}
	var cases []runOnceCase
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 4 && len(f) != 5 {
			t.Fatalf("testdata/runonce.txt:%d: %d fields, want 4 or 5", i+1, len(f))
		}
		for j := range f {
			f[j] = strings.TrimSpace(f[j])
		}
		budget, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || f[2] != "yes" && f[2] != "no" {
			t.Fatalf("testdata/runonce.txt:%d: budget %q, exits %q", i+1, f[1], f[2])
		}
		c := runOnceCase{name: f[0], budget: budget, exits: f[2] == "yes", src: f[3]}
		if len(f) == 5 {
			c.wantErr = strings.TrimPrefix(f[4], "error: ")
		}
		cases = append(cases, c)
	}
	return cases
}

// TestRunOnce checks the fast entry of a prepared machine against
// RunRepeat: the same results, errors and helper calls, run after run on
// the same machine (a run that failed leaves it ready for the next), in
// verified and checked code; and that a run reports an exit to Go exactly
// when it made one (verified code; checked code always goes through
// RunRepeat).
func TestRunOnce(t *testing.T) {
	for _, tc := range readRunOnceCases(t) {
		verifiedAndChecked(t, tc.name, func(t *testing.T, checked bool) {
			insns := assemble(t, tc.src)
			h, href := &runtimeHelpers{}, &runtimeHelpers{}
			p := h.compile(t, insns, checked)
			ref := href.compile(t, insns, checked)
			h.target, href.target = p, ref
			m, mref := NewMachine(), NewMachine()
			args := engine.RunArgs{Budget: tc.budget, CPU: 1}
			p.PrepareOnce(m, args)
			for run := range 3 {
				got, exited, err := m.RunOnce()
				want, wantErr := ref.Run(mref, args)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || wantErr == nil {
						t.Fatalf("run %d: error %v (RunRepeat: %v), want one about %q", run, err, wantErr, tc.wantErr)
					}
				} else if err != nil || wantErr != nil {
					t.Fatalf("run %d: error %v (RunRepeat: %v)", run, err, wantErr)
				}
				if got != want || h.calls != href.calls {
					t.Fatalf("run %d: r0 %d after %d helper calls; RunRepeat: %d after %d", run, got, h.calls, want, href.calls)
				}
				if wantExit := tc.exits || checked; exited != wantExit {
					t.Fatalf("run %d: exited %v, want %v", run, exited, wantExit)
				}
			}
		})
	}
}

// TestRunOncePrepared checks that a machine runs the program it was
// prepared for on the arguments PrepareOnce took (r1, the CPU slot, which
// an inlined helper reads), with EnterOnce and Done alone when the run
// does not exit; and that FinishOnce refuses a machine not prepared, or
// one that ran something else since, until it is prepared again.
func TestRunOncePrepared(t *testing.T) {
	h := &runtimeHelpers{}
	table := h.table(t)
	p, err := Compile(assemble(t, "mov %r0, %r1; exit"), table, Options{Type: kernel.RawMemory})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Compile(assemble(t, "mov %r0, 7; exit"), table, Options{Type: kernel.RawMemory})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMachine()
	if _, _, err := m.RunOnce(); !errors.Is(err, errNotPrepared) {
		t.Fatalf("unprepared: error %v, want errNotPrepared", err)
	}
	p.PrepareOnce(m, engine.RunArgs{R1: 42})
	if m.EnterOnce(); !m.Done() || m.Result() != 42 {
		t.Fatalf("prepared: done %v, r0 %d; want done, 42", m.Done(), m.Result())
	}
	if r, err := q.Run(m, engine.RunArgs{}); err != nil || r != 7 {
		t.Fatalf("Run between: r0 %d, %v; want 7", r, err)
	}
	if m.EnterOnce(); m.Done() {
		t.Fatal("after another run: done, want not entered")
	}
	if _, _, err := m.RunOnce(); !errors.Is(err, errNotPrepared) {
		t.Fatalf("after another run: error %v, want errNotPrepared", err)
	}
	p.PrepareOnce(m, engine.RunArgs{R1: 43})
	if r, exited, err := m.RunOnce(); err != nil || r != 43 || exited {
		t.Fatalf("prepared again: r0 %d, exited %v, %v; want 43 without an exit", r, exited, err)
	}

	// The CPU slot: bpf_get_smp_processor_id (8) is compiled inline.
	kt, err := kernel.HelpersFor(ebpf.RawTracepoint, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := Compile(assemble(t, "call 8; exit"), kt, Options{Type: ebpf.RawTracepoint})
	if err != nil {
		t.Fatal(err)
	}
	cpu.PrepareOnce(m, engine.RunArgs{CPU: 3})
	for range 2 {
		if r, exited, err := m.RunOnce(); err != nil || r != 3 || exited {
			t.Fatalf("get_smp_processor_id: r0 %d, exited %v, %v; want 3 without an exit", r, exited, err)
		}
	}
}

// TestRunOnceDeadline checks that the deadline SetDeadline gives each run
// bounds it, and that the cancel context PrepareOnce took is checked.
func TestRunOnceDeadline(t *testing.T) {
	p, err := Compile(assemble(t, "mov %r0, 0; l: add %r0, 1; ja l"), nil, Options{Type: kernel.RawMemory})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMachine()
	p.PrepareOnce(m, engine.RunArgs{Timeout: time.Millisecond})
	for range 2 {
		m.SetDeadline(time.Now().Add(time.Millisecond))
		_, exited, err := m.RunOnce()
		var te *engine.TimeoutError
		if !errors.As(err, &te) || !exited {
			t.Fatalf("error %v, exited %v; want a TimeoutError after exits", err, exited)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.PrepareOnce(m, engine.RunArgs{Context: ctx})
	if _, _, err := m.RunOnce(); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}
