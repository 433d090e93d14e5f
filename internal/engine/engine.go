// Package engine is the seam between package waggle and the engines that
// run programs (internal/interp, internal/jit): what a loaded program's
// code offers (Code), the state of one run (Machine), the inputs of a run
// (RunArgs), the errors that end one, and the constants both engines share.
// The engines implement it and never import each other; package waggle
// holds a program's Code without knowing which engine made it.
//
// This is the shape of wazero's engine split: an engine compiles a program
// once into immutable code, and each run happens on a machine of that
// engine's, reused run after run.
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// Code is a program loaded by an engine. It is immutable and may run on
// many Machines at once. A tail call reaches the Code of the program in
// the prog_array slot, which is always of the same engine (a prog_array
// refuses programs of another).
type Code interface {
	// Instructions are the instructions the code was made from.
	Instructions() isa.Instructions
	// NewMachine makes a Machine for runs of this engine's code.
	NewMachine() Machine
	// Exec runs the code repeat times (at least once) on m, each run from
	// the same arguments, and returns r0 of the last.
	Exec(m Machine, args *RunArgs, repeat uint32) (uint64, error)
}

// Machine is the mutable state of one run at a time: the stack, the
// registers and the memory the run may access. It is reused from run to
// run and is not safe for concurrent use.
type Machine interface {
	// RunMemory returns the regions besides the stack that the program
	// and its helpers may access, which the caller resets and fills
	// before each run, and the region that the legacy packet loads
	// (LD_ABS, LD_IND) read, which the caller sets. (Pointers: a call
	// through the interface stays cheap.)
	RunMemory() (mem *memory.Memory, packet *memory.Region)
}

const (
	// StackSize is the size of one frame's stack, as in the kernel.
	StackSize = 512
	// MaxFrames is the deepest nesting of bpf-to-bpf calls, as in the
	// kernel.
	MaxFrames = 8
	// DefaultBudget is the number of instructions a run may execute when
	// the caller sets no budget.
	DefaultBudget = 1 << 30
)

// FuncTag marks a function pointer: lddw of a function (BPF_PSEUDO_FUNC)
// gives FuncTag | the function's first slot. Like map handles, the tag
// makes it an address that is never in user space, so a program that
// dereferences it faults in every engine.
const (
	FuncTag  uint64 = 0xffff_b000_0000_0000
	FuncMask uint64 = 0xffff_f000_0000_0000 // selects the tag
)

// Errors a run can end with, besides memory faults and helper errors.
var (
	ErrBudgetExhausted = errors.New("instruction budget exhausted")
	ErrCallDepth       = fmt.Errorf("bpf-to-bpf calls nested deeper than %d frames", MaxFrames)
)

// Error is a run that ended in error at an instruction.
type Error struct {
	Slot        int             // the instruction's slot
	Instruction isa.Instruction // the instruction
	Err         error           // what went wrong: a *memory.Fault, ErrBudgetExhausted, ...
}

func (e *Error) Error() string {
	return fmt.Sprintf("instruction %d (%s): %v", e.Slot, e.Instruction, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// RunArgs are the inputs of one run.
type RunArgs struct {
	// R1 to R5 are the initial values of r1 to r5 (for example the context
	// pointer); r0 and r6 to r9 start at zero, r10 at the top of the stack.
	R1, R2, R3, R4, R5 uint64
	// CPU is the run's CPU slot, which helpers see.
	CPU int
	// State is the per-run state that helpers see (helper.Call.State).
	State any
	// Context is checked for cancellation every few tens of thousands of
	// instructions; nil means never.
	Context context.Context
	// Budget is the maximum number of instructions to execute; 0 means
	// DefaultBudget.
	Budget uint64
	// Timeout, if not 0, ends the run with a *TimeoutError once Deadline
	// has passed (Timeout is the duration Deadline stands for, which the
	// error names). The deadline is checked when the context is, so a run
	// reads the clock every few tens of thousands of instructions, not at
	// each.
	Timeout  time.Duration
	Deadline time.Time
}

// TimeoutError is the error of a run that passed its deadline
// (RunArgs.Timeout). It matches context.DeadlineExceeded with errors.Is.
type TimeoutError struct {
	Timeout time.Duration // the run's timeout
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the run's timeout of %v passed: %v", e.Timeout, context.DeadlineExceeded)
}

// Unwrap returns context.DeadlineExceeded.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// CheckRun returns the error that ends a run when ctx (if not nil) is done
// or, if timeout is not 0, deadline has passed, else nil: what both
// engines check whenever they refill a run's budget.
func CheckRun(ctx context.Context, deadline time.Time, timeout time.Duration) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if timeout != 0 && !time.Now().Before(deadline) {
		return &TimeoutError{Timeout: timeout}
	}
	return nil
}
