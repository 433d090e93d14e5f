package waggle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// StackSize is the stack of each call frame in bytes, as in the kernel.
const StackSize = interp.StackSize

// MaxCallDepth is the deepest nesting of bpf-to-bpf calls (frames), as in
// the kernel.
const MaxCallDepth = interp.MaxFrames

// DefaultBudget is the number of instructions a run may execute unless
// RunOptions.Budget says otherwise.
const DefaultBudget = interp.DefaultBudget

// Errors that end a run. Match them with errors.Is; memory faults are
// *MemoryFault, matched with errors.As.
var (
	// ErrBudgetExhausted: the run executed its whole instruction budget.
	ErrBudgetExhausted = interp.ErrBudgetExhausted
	// ErrCallDepth: bpf-to-bpf calls nested deeper than MaxCallDepth.
	ErrCallDepth = interp.ErrCallDepth
)

// MemoryFault describes a load, store or atomic operation outside the memory
// the program may access. A *RunError wraps it.
type MemoryFault = memory.Fault

// RunError is a run that stopped at an instruction. Its Err is a
// *MemoryFault, ErrBudgetExhausted, ErrCallDepth, the context's error, or a
// helper's error.
type RunError = interp.Error

// ProgramSpec describes a program to load.
type ProgramSpec struct {
	// Name is the program's name, for messages.
	Name string
	// Instructions is the program. Its first instruction is the entry
	// point; subprograms follow.
	Instructions isa.Instructions
}

// ProgramOptions control how a program is loaded.
type ProgramOptions struct {
	// Helpers are the helper functions the program may call, by ID. A
	// program that calls a helper not in the table is refused.
	Helpers *helper.Table
}

// Program is a loaded program. It is safe to run from many goroutines at
// once; each run gets its own stack and registers.
type Program struct {
	name     string
	code     *interp.Program
	machines sync.Pool // of *runState
}

// runState is what one run at a time needs; Programs keep them in a pool.
type runState struct {
	machine *interp.Machine
	data    []byte
}

// NewProgram loads a program that calls no helpers.
func NewProgram(spec *ProgramSpec) (*Program, error) {
	return NewProgramWithOptions(spec, ProgramOptions{})
}

// NewProgramWithOptions loads a program. It fails, naming the instruction,
// if an instruction is not valid eBPF, a jump leaves the program, or a helper
// is not available.
func NewProgramWithOptions(spec *ProgramSpec, opts ProgramOptions) (*Program, error) {
	if spec == nil {
		return nil, errors.New("load program: nil ProgramSpec")
	}
	code, err := interp.Compile(spec.Instructions, opts.Helpers)
	if err != nil {
		return nil, fmt.Errorf("load program %s: %w", displayName(spec.Name), err)
	}
	p := &Program{name: spec.Name, code: code}
	p.machines.New = func() any { return &runState{machine: interp.NewMachine()} }
	return p, nil
}

func displayName(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return fmt.Sprintf("%q", name)
}

// Name is the program's name.
func (p *Program) Name() string { return p.name }

// Instructions returns the program's instructions.
func (p *Program) Instructions() isa.Instructions { return p.code.Instructions() }

// RunOptions are the inputs of Program.Run.
type RunOptions struct {
	// Data is the memory the program works on: it gets r1 = the address of
	// a copy of Data, r2 = its length. The program may read and write the
	// copy; Data itself is never changed.
	Data []byte
	// DataOut, if not nil, receives the copy of Data as the program left
	// it (as much as fits).
	DataOut []byte
	// Repeat, when not 0, runs the program this many times on the same
	// copy of Data and measures the average time of one run, as the
	// kernel's BPF_PROG_TEST_RUN does. 0 runs it once, untimed, which
	// saves the cost of reading the clock.
	Repeat uint32
	// Context, if not nil, cancels the run.
	Context context.Context
	// Budget is the most instructions one run may execute before it stops
	// with ErrBudgetExhausted; 0 means DefaultBudget.
	Budget uint64
}

// RunResult is the outcome of Program.Run.
type RunResult struct {
	// ReturnValue is r0 at the program's exit.
	ReturnValue uint64
	// Duration is the average time of one run, when RunOptions.Repeat was
	// set; else 0.
	Duration time.Duration
}

// Run runs the program. An error means the program did not exit normally: a
// *RunError says at which instruction and why.
func (p *Program) Run(opts *RunOptions) (RunResult, error) {
	if opts == nil {
		opts = &RunOptions{}
	}
	st := p.machines.Get().(*runState)
	res, err := p.run(st, opts)
	p.machines.Put(st)
	return res, err
}

func (p *Program) run(st *runState, opts *RunOptions) (RunResult, error) {
	st.data = append(st.data[:0], opts.Data...)
	m := st.machine
	data := memory.NewRegion(st.data, true, memory.KindContext)
	// The buffer is usually the one of the previous run: keep its regions
	// rather than store them again (each store of a pointer costs a write
	// barrier check).
	if len(m.Memory.Regions) != 1 || m.Memory.Regions[0] != data {
		m.Memory.Reset()
		m.Memory.Add(data)
		m.Packet = memory.NewRegion(st.data, false, memory.KindPacket)
	}
	args := interp.RunArgs{Context: opts.Context, Budget: opts.Budget, R1: data.Start, R2: data.Size}

	var res RunResult
	var err error
	if opts.Repeat == 0 {
		res.ReturnValue, err = p.code.Run(m, args)
	} else {
		start := time.Now()
		for range opts.Repeat {
			if res.ReturnValue, err = p.code.Run(m, args); err != nil {
				break
			}
		}
		res.Duration = time.Since(start) / time.Duration(opts.Repeat)
	}
	if err != nil {
		return RunResult{}, fmt.Errorf("run program %s: %w", displayName(p.name), err)
	}
	copy(opts.DataOut, st.data)
	return res, nil
}
