package waggle_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// budgetEngines are the engines the budget tests run verified programs
// on: the interpreter, and the JIT where waggle has one.
func budgetEngines() []waggle.Engine {
	engines := []waggle.Engine{waggle.EngineInterpreter}
	if jit.Supported {
		engines = append(engines, waggle.EngineJIT)
	}
	return engines
}

// nestedLoops loads testdata/progs/nested_loops.o with engine.
func nestedLoops(t *testing.T, engine waggle.Engine) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("testdata/progs/nested_loops.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coll.Close() })
	for name, p := range coll.Programs {
		if p.Engine() != engine {
			t.Fatalf("%s runs on %v, want %v", name, p.Engine(), engine)
		}
	}
	return coll
}

// nestedContext is the context of nested_loops.o's programs.
func nestedContext(n, seed uint32) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, n), seed)
}

// TestRunEndsNestedLoops is the case of issue 15: a verified program
// nesting bpf_loop three deep (2^23 iterations each: 2^69 callbacks) must
// end, on every engine, when its budget runs out, when its context is
// cancelled (before the run or during it), when its timeout passes, and
// when only a timeout is given (the default budget would take minutes).
func TestRunEndsNestedLoops(t *testing.T) {
	for _, engine := range budgetEngines() {
		coll := nestedLoops(t, engine)
		prog := coll.Programs["sys_nested_loops"]
		for _, tc := range []struct {
			name string
			opts func(t *testing.T) *waggle.RunOptions
			want error
		}{
			{"budget", func(*testing.T) *waggle.RunOptions { return &waggle.RunOptions{Budget: 100_000} }, waggle.ErrBudgetExhausted},
			{"budget of one refill", func(*testing.T) *waggle.RunOptions { return &waggle.RunOptions{Budget: 1 << 16} }, waggle.ErrBudgetExhausted},
			{"cancelled", func(*testing.T) *waggle.RunOptions {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return &waggle.RunOptions{Cancel: ctx, Budget: math.MaxUint64}
			}, context.Canceled},
			{"cancelled while running", func(t *testing.T) *waggle.RunOptions {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				t.Cleanup(cancel)
				return &waggle.RunOptions{Cancel: ctx, Budget: math.MaxUint64}
			}, context.Canceled},
			{"timeout", func(*testing.T) *waggle.RunOptions {
				return &waggle.RunOptions{Timeout: 20 * time.Millisecond, Budget: math.MaxUint64}
			}, context.DeadlineExceeded},
			{"timeout, no budget given", func(*testing.T) *waggle.RunOptions {
				return &waggle.RunOptions{Timeout: 20 * time.Millisecond}
			}, context.DeadlineExceeded},
			{"timeout of a repeat", func(*testing.T) *waggle.RunOptions {
				return &waggle.RunOptions{Timeout: 20 * time.Millisecond, Repeat: 1000}
			}, context.DeadlineExceeded},
		} {
			t.Run(engine.String()+"/"+tc.name, func(t *testing.T) {
				opts := tc.opts(t)
				opts.Context = nestedContext(1<<23, 5)
				_, err := prog.Run(opts)
				var re *waggle.RunError
				if !errors.Is(err, tc.want) || !errors.As(err, &re) {
					t.Fatalf("error %v, want %v at an instruction", err, tc.want)
				}
				if tc.want == context.DeadlineExceeded && !strings.Contains(err.Error(), "timeout of 20ms") {
					t.Errorf("error %v does not name the timeout", err)
				}
			})
		}
		// A run that ends in time is not disturbed by its timeout.
		t.Run(engine.String()+"/in time", func(t *testing.T) {
			if _, err := prog.Run(&waggle.RunOptions{Context: nestedContext(3, 5), Timeout: time.Minute, Budget: 1000}); err != nil {
				t.Fatal(err)
			}
			var calls uint64
			if err := coll.Maps["nl_res"].Lookup(uint32(0), &calls); err != nil || calls != 27 {
				t.Fatalf("nl_res[0] = %d, %v; want 27", calls, err)
			}
		})
	}
}

// TestBudgetStopsVerifiedLoops checks that the budget stops the loops of
// verified programs on every engine: a bounded C loop (20,000 iterations
// of 7 instructions) and a may_goto loop (2^23 iterations), which run to
// their end with enough budget.
func TestBudgetStopsVerifiedLoops(t *testing.T) {
	mayGoto, err := assembler.Assemble("mov %r0, 0\nl: may_goto out\nadd %r0, 1\nja l\nout: exit")
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range budgetEngines() {
		coll := nestedLoops(t, engine)
		bounded := coll.Programs["sys_bounded_loop"]
		mg, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: "may_goto", Instructions: mayGoto}, waggle.ProgramOptions{Engine: engine})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			prog   *waggle.Program
			ctx    []byte
			budget uint64
			want   uint64 // the return value, if budget is enough
		}{
			{"bounded C loop", bounded, nestedContext(0, 5), 1000, 0},
			{"bounded C loop, several refills", bounded, nestedContext(0, 5), 100_000, 0},
			{"bounded C loop, enough", bounded, nestedContext(0, 5), 200_000, 0},
			{"may_goto", mg, nil, 1000, 0},
			{"may_goto, several refills", mg, nil, 1 << 20, 0},
			{"may_goto, enough", mg, nil, 0, 1 << 23},
		} {
			t.Run(engine.String()+"/"+tc.name, func(t *testing.T) {
				ret, err := tc.prog.Run(&waggle.RunOptions{Context: tc.ctx, Budget: tc.budget})
				if !strings.HasSuffix(tc.name, "enough") {
					if !errors.Is(err, waggle.ErrBudgetExhausted) {
						t.Fatalf("error %v, want ErrBudgetExhausted", err)
					}
					return
				}
				if err != nil || uint64(ret) != tc.want {
					t.Fatalf("r0 %d, %v; want %d", ret, err, tc.want)
				}
			})
		}
		var h uint64
		if err := coll.Maps["nl_res"].Lookup(uint32(1), &h); err != nil || h != uint64(kerneltest.BoundedLoop(5)) {
			t.Errorf("%v: nl_res[1] = %#x, %v; want %#x", engine, h, err, kerneltest.BoundedLoop(5))
		}
	}
}
