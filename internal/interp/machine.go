package interp

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

const (
	// StackSize is the size of one frame's stack, as in the kernel.
	StackSize = 512
	// MaxFrames is the deepest nesting of bpf-to-bpf calls, as in the kernel.
	MaxFrames = 8
	// DefaultBudget is the number of instructions a run may execute when
	// the caller sets no budget.
	DefaultBudget = 1 << 30
	// checkInterval is how many instructions run between two looks at the
	// context.
	checkInterval = 1 << 16
)

// Errors a run can end with, besides memory faults and helper errors.
var (
	ErrBudgetExhausted = errors.New("instruction budget exhausted")
	ErrCallDepth       = fmt.Errorf("bpf-to-bpf calls nested deeper than %d frames", MaxFrames)
)

// Machine is the mutable state of one run at a time: the stack, the memory
// regions the program may access, and the call frames. A Machine is reused
// from run to run to avoid allocation; it is not safe for concurrent use.
type Machine struct {
	// Memory holds the regions besides the stack that the program may
	// access. The caller sets them before a run.
	Memory memory.Memory
	// Packet is the region that the legacy packet loads (LD_ABS, LD_IND)
	// read. It should also be in Memory if the program may read it directly.
	Packet memory.Region

	stack     []uint64 // MaxFrames*StackSize bytes, frame 0 at the top
	stackTop  uint64   // address one past the stack: r10 of frame 0
	stackLo   uint64   // lowest address of the active frames
	stackBase unsafe.Pointer
	stackLen  uint64

	depth   int
	frames  [MaxFrames]frame
	call    helper.Call
	fault   *memory.Fault
	virtual *memory.Region // the virtual region the last refused access hit
	// virtualAccess is the access that hit virtual, for the fault message.
	virtualAccess virtualAccess

	// The run in progress.
	prog      *Program // the program of the running frame
	ctx       context.Context
	deadline  time.Time
	timeout   time.Duration
	steps     uint64 // instructions left before the next look at ctx
	budget    uint64 // instructions left after those
	tailCalls int
	// mayGoto is how many more times may_goto falls through in this run
	// (isa.MayGotoLimit at its start, and in each callback); at 0 it
	// jumps.
	mayGoto uint64
}

type virtualAccess struct {
	addr, size uint64
	acc        memory.Access
}

type frame struct {
	ret   int       // slot to return to
	prog  *Program  // the program to return into
	saved [4]uint64 // the caller's r6 to r9
}

// NewMachine allocates a machine.
func NewMachine() *Machine {
	m := &Machine{stack: make([]uint64, MaxFrames*StackSize/8)}
	m.stackTop = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.stack)))) + MaxFrames*StackSize
	m.setDepth(0)
	m.call = helper.NewCall(context.Background(), &m.Memory, m)
	return m
}

// setDepth makes the frames 0 to depth accessible.
func (m *Machine) setDepth(depth int) {
	m.depth = depth
	m.stackLen = uint64(depth+1) * StackSize
	m.stackLo = m.stackTop - m.stackLen
	m.stackBase = unsafe.Add(unsafe.Pointer(unsafe.SliceData(m.stack)), MaxFrames*StackSize-m.stackLen)
}

// StackTop is r10 at the start of a run: the address one past frame 0.
func (m *Machine) StackTop() uint64 { return m.stackTop }

// access returns a pointer to the n bytes at addr, or nil after recording
// the fault. The stack is tried first, inline.
func (m *Machine) access(addr, n uint64, acc memory.Access) unsafe.Pointer {
	if off := addr - m.stackLo; off < m.stackLen && m.stackLen-off >= n {
		return unsafe.Add(m.stackBase, off)
	}
	return m.accessRegions(addr, n, acc)
}

func (m *Machine) accessRegions(addr, n uint64, acc memory.Access) unsafe.Pointer {
	regions := m.Memory.Regions
	for i := range regions {
		r := &regions[i]
		if p := r.Pointer(addr, n); p != nil {
			if r.Virtual != nil {
				// Loads and stores go to loadVirtual and storeVirtual;
				// an atomic operation faults (see faulted).
				m.virtual = r
				m.fault = nil
				m.virtualAccess = virtualAccess{addr: addr, size: n, acc: acc}
				return nil
			}
			if acc != memory.Read && !r.Writable {
				break
			}
			return p
		}
	}
	if r := memory.FindShared(addr, n); r != nil && (acc == memory.Read || r.Writable) {
		return r.Pointer(addr, n)
	}
	m.faultAt(addr, n, acc)
	return nil
}

// loadVirtual serves a load that access refused because it hit a virtual
// region (a context), or reports false.
func (m *Machine) loadVirtual(addr, n uint64) (uint64, bool) {
	r := m.virtual
	if r == nil {
		return 0, false
	}
	m.virtual = nil
	v, ok := r.Virtual.Load(addr-r.Start, n)
	if !ok {
		m.fault = &memory.Fault{Access: memory.Read, Addr: addr, Size: n,
			Reason: fmt.Sprintf("the %s has no field of %d bytes at offset %d that the program may read", r.Kind, n, addr-r.Start)}
	}
	return v, ok
}

// storeVirtual serves a store to a virtual region, or reports false.
func (m *Machine) storeVirtual(addr, n, value uint64) bool {
	r := m.virtual
	if r == nil {
		return false
	}
	m.virtual = nil
	if !r.Virtual.Store(addr-r.Start, n, value) {
		m.fault = &memory.Fault{Access: memory.Write, Addr: addr, Size: n,
			Reason: fmt.Sprintf("the %s has no field of %d bytes at offset %d that the program may write", r.Kind, n, addr-r.Start)}
		return false
	}
	return true
}

// faultAt records why the access at addr failed, with the stack among the
// regions considered.
func (m *Machine) faultAt(addr, n uint64, acc memory.Access) {
	all := memory.Memory{Regions: make([]memory.Region, 0, len(m.Memory.Regions)+1)}
	all.Regions = append(all.Regions, m.stackRegion())
	all.Regions = append(all.Regions, m.Memory.Regions...)
	if _, err := all.Lookup(addr, n, acc); err != nil {
		m.fault = err.(*memory.Fault)
		return
	}
	m.fault = &memory.Fault{Access: acc, Addr: addr, Size: n, Reason: "access refused"}
}

func (m *Machine) stackRegion() memory.Region {
	b := unsafe.Slice((*byte)(m.stackBase), m.stackLen)
	return memory.NewRegion(b, true, memory.KindStack)
}

// atomicAccess is access for atomic operations, which must be aligned and
// cannot reach virtual regions.
func (m *Machine) atomicAccess(addr, n uint64) unsafe.Pointer {
	if addr%n != 0 {
		m.fault = &memory.Fault{Access: memory.Atomic, Addr: addr, Size: n,
			Reason: fmt.Sprintf("atomic access is not aligned to %d bytes", n)}
		return nil
	}
	return m.access(addr, n, memory.Atomic)
}

// orderedAccess is access for load-acquire (acc Read) and store-release
// (acc Write): aligned like atomic operations, and refused in virtual
// regions (faulted explains it), but a load-acquire may read read-only
// memory.
func (m *Machine) orderedAccess(addr, n uint64, acc memory.Access) unsafe.Pointer {
	if addr%n != 0 {
		m.fault = &memory.Fault{Access: acc, Addr: addr, Size: n,
			Reason: fmt.Sprintf("load-acquire and store-release accesses must be aligned to %d bytes", n)}
		return nil
	}
	return m.access(addr, n, acc)
}

// FuncTag marks a function pointer: lddw of a function (BPF_PSEUDO_FUNC)
// gives FuncTag | the function's first slot. Like map handles, the tag
// makes the value an address that no program can dereference.
const (
	FuncTag  uint64 = 0xffff_b000_0000_0000
	FuncMask uint64 = 0xffff_f000_0000_0000 // selects the tag
)

// CallFunction runs the function fn of the running program in a new frame,
// for helpers that call back into the program (bpf_loop,
// for_each_map_elem). It implements helper.Engine.
func (m *Machine) CallFunction(fn uint64, args [5]uint64) (uint64, error) {
	p := m.prog
	if p == nil || fn&FuncMask != FuncTag {
		return 0, fmt.Errorf("callback %#x is not a function of the program", fn)
	}
	slot := fn &^ FuncMask
	if slot >= uint64(len(p.code)) || !p.funcs[slot] {
		return 0, fmt.Errorf("callback %#x is not a function of the program", fn)
	}
	if m.depth+1 >= MaxFrames {
		return 0, ErrCallDepth
	}
	saved, callArgs, mayGoto := m.depth, m.call.Args, m.mayGoto
	m.setDepth(saved + 1)
	// A callback has a may_goto count of its own, as in the kernel (a
	// hidden slot of its frame); the caller's goes on after it.
	m.mayGoto = isa.MayGotoLimit
	var regs [16]uint64
	regs[1], regs[2], regs[3], regs[4], regs[5] = args[0], args[1], args[2], args[3], args[4]
	regs[10] = m.stackTop - uint64(m.depth)*StackSize
	r, err := p.exec(m, &regs, int(slot), m.depth)
	m.mayGoto = mayGoto
	m.setDepth(saved)
	m.prog = p
	// The callback's helper calls changed the Call its helper still uses.
	m.call.Args = callArgs
	m.call.SetStack(m.stackRegion())
	return r, err
}

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

// errAt builds the error for the instruction at slot.
func (p *Program) errAt(slot int, err error) error {
	return &Error{Slot: slot, Instruction: p.insns[p.index[slot]], Err: err}
}
