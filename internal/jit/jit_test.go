package jit

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// runtimeHelpers are helpers that exercise what compiled code asks of Go:
// 1 counts its calls (r0 = the count), 2 ends the program with r0 = 7 on
// every other call, 3 tail-calls the program in the test's target, 4 calls
// the callback r1 r2 times (bpf_loop) and returns the sum of its results.
type runtimeHelpers struct {
	calls  uint64
	target any
}

func (h *runtimeHelpers) table(tb testing.TB) *helper.Table {
	t, err := helper.NewTable(
		helper.Helper{ID: 1, Name: "count", Func: func(c *helper.Call) (uint64, error) {
			h.calls++
			return h.calls, nil
		}},
		helper.Helper{ID: 2, Name: "exit_every_other", Func: func(c *helper.Call) (uint64, error) {
			h.calls++
			if h.calls%2 == 0 {
				return 7, helper.ErrExitProgram
			}
			return 0, nil
		}},
		helper.Helper{ID: 3, Name: "tail_call", Func: func(c *helper.Call) (uint64, error) {
			return 0, &helper.TailCall{Target: h.target}
		}},
		helper.Helper{ID: 4, Name: "loop", Func: func(c *helper.Call) (uint64, error) {
			var sum uint64
			for i := range c.Args[1] {
				r, err := c.CallFunction(c.Args[0], i, c.Args[2])
				if err != nil {
					return 0, err
				}
				sum += r
			}
			return sum, nil
		}},
	)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// compile compiles insns with h's helpers for raw memory, checked or
// verified, failing the test on an error.
func (h *runtimeHelpers) compile(t testing.TB, insns isa.Instructions, checked bool) *Program {
	t.Helper()
	p, err := Compile(insns, h.table(t), Options{Type: kernel.RawMemory, Checked: checked})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// verifiedAndChecked runs f as the subtest name with checked false
// (verified code), then as name/checked with checked true.
func verifiedAndChecked(t *testing.T, name string, f func(t *testing.T, checked bool)) {
	for _, checked := range []bool{false, true} {
		n := name
		if checked {
			n += "/checked"
		}
		t.Run(n, func(t *testing.T) { f(t, checked) })
	}
}

func assemble(tb testing.TB, src string) isa.Instructions {
	insns, err := assembler.Assemble(strings.ReplaceAll(src, ";", "\n"))
	if err != nil {
		tb.Fatal(err)
	}
	return insns
}

// TestRuntime checks helper exits, early ends, tail calls, callbacks,
// bpf-to-bpf calls and the repeat loop of compiled code against what the
// interpreter does with the same runs one by one.
func TestRuntime(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		repeat uint32
		want   uint64 // the last run's r0
		calls  uint64 // helper 1 and 2 calls in all
	}{
		{"helper keeps r6-r10", "mov %r6, 5; stxdw [%r10-8], %r6; call 1; call 1; ldxdw %r7, [%r10-8]; add %r0, %r7; add %r0, %r6; exit", 3, 16, 6},
		{"early end in a repeat", "call 2; mov %r0, 1; exit", 5, 1, 5},
		{"early end in a subprogram", "call local f; mov %r0, 3; exit; f: call 2; mov %r0, 2; exit", 4, 7, 4},
		{"tail calls per run", "call 1; call 3; exit", 3, 0, 3 * 34},
		{"callback", "lddw %r1, func cb; mov %r2, 4; mov %r3, 10; call 4; exit; cb: mov %r0, %r1; add %r0, %r2; exit", 2, 46, 0},
		{"callback with a helper and the stack", "mov %r6, 1; lddw %r1, func cb; mov %r2, 3; call 4; add %r0, %r6; exit; cb: stxdw [%r10-8], %r1; call 1; ldxdw %r0, [%r10-8]; exit", 2, 4, 6},
		{"bpf-to-bpf frames", "mov %r6, 1; mov %r1, 2; call local f; add %r0, %r6; exit; f: mov %r6, 40; stxdw [%r10-8], %r6; call 1; ldxdw %r0, [%r10-8]; add %r0, %r1; exit", 2, 43, 2},
	}
	for _, tc := range tests {
		verifiedAndChecked(t, tc.name, func(t *testing.T, checked bool) {
			insns := assemble(t, tc.src)
			h := &runtimeHelpers{}
			p := h.compile(t, insns, checked)
			h.target = p
			m := NewMachine()
			args := engine.RunArgs{}
			got, err := p.RunRepeat(m, &args, tc.repeat)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || h.calls != tc.calls {
				t.Errorf("compiled: r0 %d after %d helper calls, want %d after %d", got, h.calls, tc.want, tc.calls)
			}

			hi := &runtimeHelpers{}
			ip, err := interp.Compile(insns, hi.table(t))
			if err != nil {
				t.Fatal(err)
			}
			hi.target = ip
			im := interp.NewMachine()
			var r uint64
			for range tc.repeat {
				if r, err = ip.Run(im, engine.RunArgs{}); err != nil {
					t.Fatal(err)
				}
			}
			if r != got || hi.calls != h.calls {
				t.Errorf("interpreter: r0 %d after %d helper calls; compiled: %d after %d", r, hi.calls, got, h.calls)
			}
		})
	}
}

// TestRuntimeErrors checks that errors end the run, name the instruction,
// and leave the machine ready for the next run.
func TestRuntimeErrors(t *testing.T) {
	h := &runtimeHelpers{}
	table := h.table(t)
	table2, err := helper.NewTable(helper.Helper{ID: 9, Name: "fail", Func: func(c *helper.Call) (uint64, error) {
		return 0, errors.New("no")
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMachine()
	fail, err := Compile(assemble(t, "mov %r0, 1; call 9; exit"), table2, Options{Type: kernel.RawMemory})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fail.Run(m, engine.RunArgs{})
	var re *engine.Error
	if !errors.As(err, &re) || re.Slot != 1 || !strings.Contains(err.Error(), "helper 9 (fail): no") {
		t.Fatalf("error %v, want helper 9 at slot 1", err)
	}
	ok, err := Compile(assemble(t, "call 1; exit"), table, Options{Type: kernel.RawMemory})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ok.Run(m, engine.RunArgs{}); err != nil || r != 1 {
		t.Fatalf("after an error: r0 %d, %v; want 1", r, err)
	}

	// Checked code: recursion too deep, an endless loop, a bad access.
	for _, tc := range []struct{ src, want string }{
		{"call local f; exit; f: call local f; exit", engine.ErrCallDepth.Error()},
		{"ja -1; exit", engine.ErrBudgetExhausted.Error()},
		{"ldxdw %r0, [%r10+8]; exit", "stack"},
		{"mov %r1, 0; ldxdw %r0, [%r1]; exit", "read"},
	} {
		p, err := Compile(assemble(t, tc.src), table, Options{Type: kernel.RawMemory, Checked: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Run(m, engine.RunArgs{Budget: 1 << 20})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one about %q", tc.src, err, tc.want)
		}
	}
}

// TestCallbackTailCallCount checks that a callback shares the run's count
// of tail calls, as in the interpreter: 40 callbacks each tail-call a
// program that counts its runs, then the main program tail-calls it once
// more; only helper.MaxTailCalls of them may succeed in all.
func TestCallbackTailCallCount(t *testing.T) {
	mainSrc := "lddw %r1, func cb; mov %r2, 40; call 4; call 3; mov %r0, 0; exit; cb: call 3; mov %r0, 0; exit"
	targetSrc := "call 1; mov %r0, 0; exit"
	for _, checked := range []bool{false, true} {
		h := &runtimeHelpers{}
		main := h.compile(t, assemble(t, mainSrc), checked)
		target := h.compile(t, assemble(t, targetSrc), checked)
		h.target = target
		if _, err := main.Run(NewMachine(), engine.RunArgs{}); err != nil {
			t.Fatal(err)
		}
		hi := &runtimeHelpers{}
		imain, err := interp.Compile(assemble(t, mainSrc), hi.table(t))
		if err != nil {
			t.Fatal(err)
		}
		itarget, err := interp.Compile(assemble(t, targetSrc), hi.table(t))
		if err != nil {
			t.Fatal(err)
		}
		hi.target = itarget
		if _, err := imain.Run(interp.NewMachine(), engine.RunArgs{}); err != nil {
			t.Fatal(err)
		}
		if h.calls != helper.MaxTailCalls || hi.calls != helper.MaxTailCalls {
			t.Errorf("checked=%v: the target ran %d times compiled, %d interpreted; want %d", checked, h.calls, hi.calls, helper.MaxTailCalls)
		}
	}
}

// TestCompileRunConcurrently compiles, runs and drops programs on several
// goroutines while the garbage collector runs and frees the code of the
// dropped ones: code must stay mapped while any run uses it.
func TestCompileRunConcurrently(t *testing.T) {
	fnv, err := assembler.Assemble(jittest.FNV1a)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i)
	}
	want := uint64(fnvGo(data))
	region := memory.NewRegion(data, false, memory.KindContext)
	h := &runtimeHelpers{}
	table := h.table(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := NewMachine()
			m.Memory.Add(region)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p, err := Compile(fnv, table, Options{Type: kernel.RawMemory, Checked: (w+i)%2 == 1})
				if err != nil {
					t.Error(err)
					return
				}
				r, err := p.Run(m, engine.RunArgs{R1: region.Start, R2: uint64(len(data))})
				if err != nil || r != want {
					t.Errorf("r0 %#x, %v; want %#x", r, err, want)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		runtime.GC()
	}
	close(stop)
	wg.Wait()
}

// TestNoExecutableMemory checks that a system refusing executable memory
// makes Compile fail with ErrNoExecutableMemory, which EngineAuto takes as
// the sign to interpret.
func TestNoExecutableMemory(t *testing.T) {
	saved := mmap
	mmap = func(int, int64, int, int, int) ([]byte, error) { return nil, errno.EPERM }
	defer func() { mmap = saved }()
	_, err := Compile(assemble(t, "mov %r0, 1; exit"), nil, Options{Type: kernel.RawMemory})
	if !errors.Is(err, ErrNoExecutableMemory) || !errors.Is(err, errno.EPERM) {
		t.Fatalf("error %v, want ErrNoExecutableMemory and EPERM", err)
	}
}
