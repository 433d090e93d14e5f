package waggle_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/isa"
)

// mustProgram assembles and loads a RawMemory program. The programs are
// loaded without the verifier: these tests are about runs
// and the checks of the engine at run time (faults, budgets), which
// programs the verifier accepts never meet.
func mustProgram(t testing.TB, src string) *waggle.Program {
	t.Helper()
	insns, err := assembler.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: t.Name(), Instructions: insns}, waggle.ProgramOptions{SkipVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewProgramErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  *waggle.ProgramSpec
		wants []string
	}{
		{"nil spec", nil, []string{"nil ProgramSpec"}},
		{"empty", &waggle.ProgramSpec{Name: "empty"}, []string{`"empty"`, "no instructions"}},
		{"falls off the end", &waggle.ProgramSpec{Instructions: isa.Instructions{{Opcode: isa.OpMov64, Imm: 1}}},
			[]string{"instruction 0", "fall off the end"}},
		{"helper the type may not call", &waggle.ProgramSpec{Instructions: isa.Instructions{{Opcode: isa.OpCall, Imm: 44}, {Opcode: isa.OpExit}}},
			[]string{"instruction 0", "bpf_xdp_adjust_head (helper 44)", "may not call"}},
		{"GPL-only helper, MIT license", &waggle.ProgramSpec{License: "MIT", Instructions: isa.Instructions{{Opcode: isa.OpCall, Imm: 6}, {Opcode: isa.OpExit}}},
			[]string{"instruction 0", "bpf_trace_printk (helper 6)", "only GPL-compatible programs", `"MIT"`}},
		{"helper waggle lacks", &waggle.ProgramSpec{Instructions: isa.Instructions{{Opcode: isa.OpCall, Imm: 9999}, {Opcode: isa.OpExit}}},
			[]string{"instruction 0", "helper 9999", "neither a kernel helper waggle implements"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := waggle.NewProgram(tc.spec)
			if err == nil {
				t.Fatal("NewProgram accepted the program")
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestRunData: the program works on a copy of Data; DataOut receives it.
func TestRunData(t *testing.T) {
	p := mustProgram(t, `
		ldxb %r0, [%r1]
		add32 %r0, 1
		stxb [%r1], %r0
		exit`)
	data := []byte{41, 7}
	out := make([]byte, 2)
	var res waggle.RunResult
	ret, err := p.Run(&waggle.RunOptions{Data: data, DataOut: out, Repeat: 3, Result: &res})
	if err != nil {
		t.Fatal(err)
	}
	if ret != 44 || res.ReturnValue != 44 {
		t.Errorf("r0 = %d (Result: %d) after three runs on the same copy, want 44", ret, res.ReturnValue)
	}
	if !bytes.Equal(data, []byte{41, 7}) {
		t.Errorf("Data was changed to %v", data)
	}
	if !bytes.Equal(out, []byte{44, 7}) {
		t.Errorf("DataOut = %v, want [44 7]", out)
	}
	if res.Duration <= 0 {
		t.Errorf("Duration = %v", res.Duration)
	}
}

// TestRunResult: Run returns r0's low 32 bits, as cilium/ebpf's Run
// returns the kernel's 32-bit retval; RunOptions.Result receives all 64
// of a RawMemory program's r0, and nothing when the run fails.
func TestRunResult(t *testing.T) {
	p := mustProgram(t, `
		lddw %r0, 0x123456789
		ldxb %r2, [%r1]
		jeq %r2, 0, ok
		mov %r3, 0
		ldxb %r0, [%r3]
	ok:
		exit`)
	var res waggle.RunResult
	ret, err := p.Run(&waggle.RunOptions{Data: []byte{0}, Result: &res})
	if err != nil {
		t.Fatal(err)
	}
	if ret != 0x23456789 || res.ReturnValue != 0x123456789 || res.Duration != 0 {
		t.Errorf("Run = %#x, Result %#x in %v; want 0x23456789, 0x123456789 in 0s", ret, res.ReturnValue, res.Duration)
	}
	if ret, err := p.Run(nil); err == nil || ret != 0 {
		t.Errorf("a run that faults: %#x, %v; want 0 and an error", ret, err)
	}
	failed := waggle.RunResult{ReturnValue: 1}
	if ret, err := p.Run(&waggle.RunOptions{Data: []byte{1}, Result: &failed}); err == nil || ret != 0 || failed.ReturnValue != 1 {
		t.Errorf("a run that faults: %#x, %v, Result %#x; want 0, an error, the Result untouched", ret, err, failed.ReturnValue)
	}
}

func TestRunErrors(t *testing.T) {
	p := mustProgram(t, `
		ldxdw %r0, [%r1+8]
		exit`)
	_, err := p.Run(&waggle.RunOptions{Data: make([]byte, 8)})
	var fault *waggle.MemoryFault
	var runErr *waggle.RunError
	if !errors.As(err, &fault) || !errors.As(err, &runErr) {
		t.Fatalf("err = %v, want a *RunError wrapping a *MemoryFault", err)
	}
	if runErr.Slot != 0 || fault.Size != 8 {
		t.Errorf("RunError slot %d, fault size %d", runErr.Slot, fault.Size)
	}
	loop := mustProgram(t, `
		ja -1
		exit`)
	if _, err := loop.Run(&waggle.RunOptions{Budget: 100}); !errors.Is(err, waggle.ErrBudgetExhausted) {
		t.Fatalf("err = %v, want ErrBudgetExhausted", err)
	}
}

// TestRunConcurrently: one Program, many goroutines, each with its own data.
func TestRunConcurrently(t *testing.T) {
	p := mustProgram(t, `
		mov %r0, 0
		mov %r3, %r1
		add %r3, %r2
	loop:
		jge %r1, %r3, done
		ldxb %r4, [%r1]
		add %r0, %r4
		add %r1, 1
		ja loop
	done:
		exit`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte(g)}, 100)
			for range 200 {
				ret, err := p.Run(&waggle.RunOptions{Data: data})
				if err != nil {
					t.Error(err)
					return
				}
				if uint64(ret) != uint64(g)*100 {
					t.Errorf("goroutine %d: r0 = %d", g, ret)
					return
				}
			}
		})
	}
	wg.Wait()
}
