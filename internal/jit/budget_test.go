package jit

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// budgetLoops are endless (or practically endless) loops that count their
// iterations in the 8 bytes at r1, each with the instructions an iteration
// runs. The budget must stop each of them, in verified as in checked code.
var budgetLoops = []struct {
	name    string
	src     string
	perIter int // instructions an iteration runs
}{
	{"ja back", "mov %r0, 0; l: add %r0, 1; stxdw [%r1], %r0; ja l", 3},
	{"conditional back", "mov %r0, 0; lddw %r2, 0xffffffffffff; l: add %r0, 1; stxdw [%r1], %r0; sub %r2, 1; jne %r2, 0, l; exit", 4},
	{"jmp32 back", "mov %r0, 0; l: add %r0, 1; stxdw [%r1], %r0; jlt32 %r0, 0x7fffffff, l; exit", 3},
	// The loop's body skips an instruction that it is charged for
	// all the same (4 charged, 3 run).
	{"branchy", "mov %r0, 0; l: add %r0, 1; stxdw [%r1], %r0; ja +1; add %r0, 10; ja l", 4},
	{"may_goto", "mov %r0, 0; l: may_goto out; add %r0, 1; stxdw [%r1], %r0; ja l; out: exit", 4},
	// Each iteration calls a subprogram of 12 instructions.
	{"calls", "mov %r6, 0; l: call local f; add %r6, 1; stxdw [%r1], %r6; ja l; " +
		"f: mov %r0, 0" + strings.Repeat("; add %r0, 1", 10) + "; exit", 4 + 12},
	// bpf_loop (helper 4) with a callback of 5 instructions, nearly
	// forever.
	{"callback", "mov %r3, %r1; lddw %r1, func cb; lddw %r2, 0xffffffffffff; call 4; exit; " +
		"cb: ldxdw %r0, [%r2]; add %r0, 1; stxdw [%r2], %r0; mov %r0, 0; exit", 5},
}

// TestBudgetStopsLoops checks that a run's budget stops loops of verified
// and checked code, after about as many instructions as the budget says:
// not fewer than half of them (branchy's loop is charged for an
// instruction it skips), not more than the budget and the program's
// length (verified code charges whole loops and functions at once), with
// budgets that fit in one refill of the Go side and budgets that take
// many.
func TestBudgetStopsLoops(t *testing.T) {
	for _, tc := range budgetLoops {
		insns := assemble(t, tc.src)
		for _, checked := range []bool{false, true} {
			for _, budget := range []uint64{100, 1000, 100_000, 1_000_000} {
				name := tc.name
				if checked {
					name += "/checked"
				}
				t.Run(name, func(t *testing.T) {
					h := &runtimeHelpers{}
					p := h.compile(t, insns, checked)
					mem := make([]byte, 8)
					r := memory.NewRegion(mem, true, memory.KindContext)
					m := NewMachine()
					m.Memory.Add(r)
					_, err := p.Run(m, engine.RunArgs{R1: r.Start, Budget: budget})
					var re *engine.Error
					if !errors.Is(err, engine.ErrBudgetExhausted) || !errors.As(err, &re) {
						t.Fatalf("budget %d: error %v, want ErrBudgetExhausted at an instruction", budget, err)
					}
					ran := binary.LittleEndian.Uint64(mem) * uint64(tc.perIter)
					if ran < budget/2 || ran > budget+uint64(len(insns)) {
						t.Errorf("budget %d: stopped after %d iterations, %d instructions", budget, ran/uint64(tc.perIter), ran)
					}
				})
			}
		}
	}
}

// TestBudgetPerRun checks that each run of a repeat has its own budget,
// and that the budget is counted afresh on the next run of a machine: a
// loop that fits in the budget runs many times; so does one that takes
// several refills of the Go side a run, in the program or in callbacks.
func TestBudgetPerRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		src       string
		want      uint64
		fits, not uint64 // a budget a run fits in, one it does not
		repeat    uint32
	}{
		// 1000 iterations of 2 instructions.
		{"loop", "mov %r0, 0; l: add %r0, 1; jlt %r0, 1000, l; exit", 1000, 3500, 1500, 100},
		// 100,000 iterations: several refills a run.
		{"long loop", "mov %r0, 0; l: add %r0, 1; jlt %r0, 100000, l; exit", 100000, 250_000, 150_000, 5},
		// 100,000 callbacks of 2 instructions.
		{"callbacks", "lddw %r1, func cb; mov %r2, 100000; mov %r3, 0; call 4; exit; cb: mov %r0, 1; exit", 100000, 250_000, 150_000, 5},
		// 10,000 callbacks of a loop of 10 iterations.
		{"callbacks with loops", "lddw %r1, func cb; mov %r2, 10000; mov %r3, 0; call 4; exit; " +
			"cb: mov %r0, 0; l: add %r0, 1; jlt %r0, 10, l; mov %r0, 1; exit", 10000, 300_000, 150_000, 5},
	} {
		insns := assemble(t, tc.src)
		for _, checked := range []bool{false, true} {
			h := &runtimeHelpers{}
			p := h.compile(t, insns, checked)
			m := NewMachine()
			for range 3 {
				args := engine.RunArgs{Budget: tc.fits}
				if r, err := p.RunRepeat(m, &args, tc.repeat); err != nil || r != tc.want {
					t.Fatalf("%s, checked %v: r0 %d, %v; want %d", tc.name, checked, r, err, tc.want)
				}
			}
			args := engine.RunArgs{Budget: tc.not}
			if _, err := p.RunRepeat(m, &args, 2); !errors.Is(err, engine.ErrBudgetExhausted) {
				t.Fatalf("%s, checked %v: budget %d: %v, want ErrBudgetExhausted", tc.name, checked, tc.not, err)
			}
		}
	}
}

// nestedLoops is the case of issue 15: bpf_loop (helper 4) nested three
// deep, 2^23 iterations each, which would run for days.
const nestedLoops = "lddw %r1, func cb1; mov %r2, 0x800000; mov %r3, 0; call 4; mov %r0, 0; exit; " +
	"cb1: lddw %r1, func cb2; mov %r2, 0x800000; mov %r3, 0; call 4; mov %r0, 0; exit; " +
	"cb2: lddw %r1, func cb3; mov %r2, 0x800000; mov %r3, 0; call 4; mov %r0, 0; exit; " +
	"cb3: mov %r0, 0; exit"

// TestBudgetEndsRuns checks that endless runs end with the interpreter's
// errors when their budget runs out, their context is cancelled (before
// the run or during it) or their deadline passes: a plain loop and
// bpf_loop callbacks nested three deep, verified and checked.
func TestBudgetEndsRuns(t *testing.T) {
	endless := []struct{ name, src string }{
		{"loop", "mov %r0, 0; l: add %r0, 1; ja l"},
		{"self", "ja -1"},
		{"nested bpf_loop", nestedLoops},
	}
	ends := []struct {
		name string
		args func(t *testing.T) engine.RunArgs
		want error
	}{
		{"budget", func(*testing.T) engine.RunArgs { return engine.RunArgs{Budget: 100_000} }, engine.ErrBudgetExhausted},
		{"cancelled", func(*testing.T) engine.RunArgs {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return engine.RunArgs{Context: ctx, Budget: math.MaxUint64}
		}, context.Canceled},
		{"cancelled while running", func(t *testing.T) engine.RunArgs {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(10*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return engine.RunArgs{Context: ctx, Budget: math.MaxUint64}
		}, context.Canceled},
		{"context deadline", func(t *testing.T) engine.RunArgs {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			t.Cleanup(cancel)
			return engine.RunArgs{Context: ctx, Budget: math.MaxUint64}
		}, context.DeadlineExceeded},
		{"deadline", func(*testing.T) engine.RunArgs {
			return engine.RunArgs{Deadline: time.Now().Add(10 * time.Millisecond), Timeout: 10 * time.Millisecond, Budget: math.MaxUint64}
		}, context.DeadlineExceeded},
		{"deadline, default budget", func(*testing.T) engine.RunArgs {
			return engine.RunArgs{Deadline: time.Now().Add(10 * time.Millisecond), Timeout: 10 * time.Millisecond}
		}, context.DeadlineExceeded},
	}
	for _, e := range endless {
		insns := assemble(t, e.src)
		for _, checked := range []bool{false, true} {
			for _, end := range ends {
				if end.name == "deadline, default budget" && e.name != "nested bpf_loop" {
					// Only the nested loop outlasts its deadline within
					// the default budget; the others spend it first.
					continue
				}
				name := e.name + "/" + end.name
				if checked {
					name += "/checked"
				}
				t.Run(name, func(t *testing.T) {
					h := &runtimeHelpers{}
					p := h.compile(t, insns, checked)
					_, err := p.Run(NewMachine(), end.args(t))
					var re *engine.Error
					if !errors.Is(err, end.want) || !errors.As(err, &re) {
						t.Fatalf("error %v, want %v at an instruction", err, end.want)
					}
					var te *engine.TimeoutError
					if strings.HasPrefix(end.name, "deadline") && (!errors.As(err, &te) || te.Timeout != 10*time.Millisecond || !strings.Contains(err.Error(), "timeout of 10ms")) {
						t.Errorf("error %v, want an *engine.TimeoutError of 10ms", err)
					}
				})
			}
		}
	}
}

// TestDeadlineAtHelperExits checks that compiled code looks at its
// deadline at helper exits too, not only when its budget needs a refill: a
// loop of calls of a helper that takes 100 µs, with a budget it would
// take seconds to spend, ends within deadlineInterval calls of its
// deadline (10 ms: at most 100 calls).
func TestDeadlineAtHelperExits(t *testing.T) {
	var calls int
	table, err := helper.NewTable(helper.Helper{ID: 1, Name: "slow", Func: func(c *helper.Call) (uint64, error) {
		calls++
		time.Sleep(100 * time.Microsecond)
		return 0, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, checked := range []bool{false, true} {
		calls = 0
		p, err := Compile(assemble(t, "l: call 1; ja l"), table, Options{Type: kernel.RawMemory, Checked: checked})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Run(NewMachine(), engine.RunArgs{Deadline: time.Now().Add(10 * time.Millisecond), Timeout: 10 * time.Millisecond, Budget: math.MaxUint64})
		if !errors.Is(err, context.DeadlineExceeded) || calls > 100+deadlineInterval {
			t.Errorf("checked %v: %v after %d calls, want a timeout within %d calls", checked, err, calls, 100+deadlineInterval)
		}
	}
}
