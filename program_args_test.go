package waggle

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/isa"
)

// TestArgsRunner: runs on arguments return what the program computes from
// them, run after run on every slot, with the regions a helper added in
// one run gone after it (bpf_get_current_task adds the task's); the
// counts; the refusals.
func TestArgsRunner(t *testing.T) {
	src := `mov %r6, %r1
		call 35
		ldxdw %r0, [%r6]
		ldxdw %r1, [%r6+8]
		add %r0, %r1
		exit`
	insns, err := assembler.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, eng := range []Engine{EngineInterpreter, EngineJIT} {
		if eng == EngineJIT && !jit.Supported {
			continue
		}
		t.Run(eng.String(), func(t *testing.T) {
			p, err := NewProgramWithOptions(&ProgramSpec{Name: "sum", Type: ebpf.RawTracepoint, Instructions: insns, License: "GPL"},
				ProgramOptions{Engine: eng, CPUs: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if _, err := p.NewArgsRunner(1, ArgsOptions{}); err == nil || !strings.Contains(err.Error(), "reads its arguments up to byte 16 (args[1]), and there are 1 arguments") {
				t.Errorf("1 argument: %v", err)
			}
			if _, err := p.NewArgsRunner(13, ArgsOptions{}); err == nil || !strings.Contains(err.Error(), "13 arguments: a raw tracepoint has 0 to 12") {
				t.Errorf("13 arguments: %v", err)
			}
			r, err := p.NewArgsRunner(2, ArgsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			regions := len(r.states[0].st.mem.Regions)
			for i := range uint64(100) {
				v, err := r.Run([]uint64{i, 1 << 40})
				if err != nil || v != i+1<<40 {
					t.Fatalf("run %d: %#x, %v; want %#x", i, v, err, i+1<<40)
				}
				if n := len(r.states[0].st.mem.Regions); n != regions {
					t.Fatalf("run %d: %d regions after the run, want %d (the prepared ones: the task's is gone)", i, n, regions)
				}
			}
			if _, err := r.Run([]uint64{1}); err == nil || !strings.Contains(err.Error(), "1 arguments, not 2") {
				t.Errorf("1 argument: %v", err)
			}
			if runs, errs := r.Counts(); runs != 100 || errs != 0 {
				t.Errorf("Counts %d, %d; want 100, 0", runs, errs)
			}
			// Program.Run is unchanged beside it.
			if v, err := p.Run(&RunOptions{Context: []uint64{2, 3}}); err != nil || v != 5 {
				t.Errorf("Program.Run: %d, %v", v, err)
			}
			r.Close()
			r.Close()
			if _, err := r.Run([]uint64{1, 2}); !errors.Is(err, os.ErrClosed) {
				t.Errorf("after Close: %v, want os.ErrClosed", err)
			}
			p.Close()
			if _, err := p.NewArgsRunner(2, ArgsOptions{}); !errors.Is(err, os.ErrClosed) {
				t.Errorf("closed program: %v, want os.ErrClosed", err)
			}
		})
	}
	ret, err := assembler.Assemble("mov %r0, 2\nexit")
	if err != nil {
		t.Fatal(err)
	}
	xdp, err := NewProgram(&ProgramSpec{Name: "x", Type: ebpf.XDP, Instructions: ret})
	if err != nil {
		t.Fatal(err)
	}
	defer xdp.Close()
	if _, err := xdp.NewArgsRunner(0, ArgsOptions{}); err == nil || !strings.Contains(err.Error(), "arguments are for raw tracepoint programs") {
		t.Errorf("XDP: %v", err)
	}
}

// TestArgsRunnerMixedRuns: runs that stay in compiled code and runs that
// call a helper (exiting to Go with the JIT), in turn on one slot, each
// with its own result, the helper's region gone after each run, and the
// counts.
func TestArgsRunnerMixedRuns(t *testing.T) {
	data, err := os.ReadFile("testdata/args_runner/mixed.txt")
	if err != nil {
		t.Fatal(err)
	}
	var runs [][2]uint64
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var run [2]uint64
		if _, err := fmt.Sscan(line, &run[0], &run[1]); err != nil {
			t.Fatalf("testdata/args_runner/mixed.txt:%d: %v", i+1, err)
		}
		runs = append(runs, run)
	}
	insns, err := assembler.Assemble(`ldxdw %r6, [%r1]
		mov %r0, %r6
		jset %r6, 1, +1
		exit
		call 35
		mov %r0, %r6
		add %r0, 1000
		exit`)
	if err != nil {
		t.Fatal(err)
	}
	for _, eng := range []Engine{EngineInterpreter, EngineJIT} {
		if eng == EngineJIT && !jit.Supported {
			continue
		}
		// With a timeout, each run sets its deadline (out of Run's line).
		for _, opts := range []ArgsOptions{{}, {Timeout: time.Minute}} {
			t.Run(fmt.Sprintf("%v/timeout=%v", eng, opts.Timeout), func(t *testing.T) {
				testArgsRunnerRuns(t, eng, opts, insns, runs)
			})
		}
	}
}

// testArgsRunnerRuns makes the runs of TestArgsRunnerMixedRuns on one engine
// with opts.
func testArgsRunnerRuns(t *testing.T, eng Engine, opts ArgsOptions, insns isa.Instructions, runs [][2]uint64) {
	p, err := NewProgramWithOptions(&ProgramSpec{Name: "mixed", Type: ebpf.RawTracepoint, Instructions: insns, License: "GPL"},
		ProgramOptions{Engine: eng, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := p.NewArgsRunner(1, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	regions := len(r.states[0].st.mem.Regions)
	for round := range 2 {
		for i, run := range runs {
			v, err := r.Run([]uint64{run[0]})
			if err != nil || v != run[1] {
				t.Fatalf("round %d, run %d (%d): %d, %v; want %d", round, i, run[0], v, err, run[1])
			}
			if n := len(r.states[0].st.mem.Regions); n != regions {
				t.Fatalf("round %d, run %d: %d regions after the run, want %d", round, i, n, regions)
			}
		}
	}
	if n, errs := r.Counts(); n != uint64(2*len(runs)) || errs != 0 {
		t.Errorf("Counts %d, %d; want %d, 0", n, errs, 2*len(runs))
	}
}
