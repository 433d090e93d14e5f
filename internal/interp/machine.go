package interp

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

const (
	// checkInterval is how many instructions run between two looks at the
	// context.
	checkInterval = 1 << 16
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

	stack     []uint64 // engine.MaxFrames*engine.StackSize bytes, frame 0 at the top
	stackTop  uint64   // address one past the stack: r10 of frame 0
	stackLo   uint64   // lowest address of the active frames
	stackBase unsafe.Pointer
	stackLen  uint64

	depth   int
	frames  [engine.MaxFrames]frame
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
	m := &Machine{stack: make([]uint64, engine.MaxFrames*engine.StackSize/8)}
	m.stackTop = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.stack)))) + engine.MaxFrames*engine.StackSize
	m.setDepth(0)
	m.call = helper.NewCall(context.Background(), &m.Memory, m)
	return m
}

// setDepth makes the frames 0 to depth accessible.
func (m *Machine) setDepth(depth int) {
	m.depth = depth
	m.stackLen = uint64(depth+1) * engine.StackSize
	m.stackLo = m.stackTop - m.stackLen
	m.stackBase = unsafe.Add(unsafe.Pointer(unsafe.SliceData(m.stack)), engine.MaxFrames*engine.StackSize-m.stackLen)
}

// StackTop is r10 at the start of a run: the address one past frame 0.
func (m *Machine) StackTop() uint64 { return m.stackTop }

// access returns a pointer to the n bytes at addr, or nil after recording
// the fault. The stack is tried first, then the run's regions, in this one
// function (a second call for every access outside the stack cost as much
// as the search); what is rare — a virtual region, a refused write, the
// shared regions, a fault — is out of line.
func (m *Machine) access(addr, n uint64, acc memory.Access) unsafe.Pointer {
	if off := addr - m.stackLo; off < m.stackLen && m.stackLen-off >= n {
		return unsafe.Add(m.stackBase, off)
	}
	regions := m.Memory.Regions
	for i := range regions {
		r := &regions[i]
		if p := r.Pointer(addr, n); p != nil {
			if r.Virtual != nil || (acc != memory.Read && !r.Writable) {
				return m.accessHit(r, addr, n, acc)
			}
			return p
		}
	}
	return m.accessShared(addr, n, acc)
}

// accessHit is access for a region of the run that holds the bytes but
// does not serve the access as memory: a virtual region, whose loads and
// stores go to loadVirtual and storeVirtual (an atomic operation faults,
// see faulted), or a read-only region written to, which the shared
// regions may still allow.
func (m *Machine) accessHit(r *memory.Region, addr, n uint64, acc memory.Access) unsafe.Pointer {
	if r.Virtual != nil {
		m.virtual = r
		m.fault = nil
		m.virtualAccess = virtualAccess{addr: addr, size: n, acc: acc}
		return nil
	}
	return m.accessShared(addr, n, acc)
}

// accessShared is access to the shared regions (the live maps' values),
// or the fault.
func (m *Machine) accessShared(addr, n uint64, acc memory.Access) unsafe.Pointer {
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

// CallFunction runs the function fn of the running program in a new frame,
// for helpers that call back into the program (bpf_loop,
// for_each_map_elem). It implements helper.Engine.
func (m *Machine) CallFunction(fn uint64, args [5]uint64) (uint64, error) {
	p := m.prog
	if p == nil || fn&engine.FuncMask != engine.FuncTag {
		return 0, fmt.Errorf("callback %#x is not a function of the program", fn)
	}
	slot := fn &^ engine.FuncMask
	if slot >= uint64(len(p.code)) || !p.funcs[slot] {
		return 0, fmt.Errorf("callback %#x is not a function of the program", fn)
	}
	if m.depth+1 >= engine.MaxFrames {
		return 0, engine.ErrCallDepth
	}
	saved, callArgs, mayGoto := m.depth, m.call.Args, m.mayGoto
	m.setDepth(saved + 1)
	// A callback has a may_goto count of its own, as in the kernel (a
	// hidden slot of its frame); the caller's goes on after it.
	m.mayGoto = isa.MayGotoLimit
	var regs [16]uint64
	regs[1], regs[2], regs[3], regs[4], regs[5] = args[0], args[1], args[2], args[3], args[4]
	regs[10] = m.stackTop - uint64(m.depth)*engine.StackSize
	r, err := p.exec(m, &regs, int(slot), m.depth)
	m.mayGoto = mayGoto
	m.setDepth(saved)
	m.prog = p
	// The callback's helper calls changed the Call its helper still uses.
	m.call.Args = callArgs
	m.call.SetStack(m.stackRegion())
	return r, err
}

// errAt builds the error for the instruction at slot.
func (p *Program) errAt(slot int, err error) error {
	return &engine.Error{Slot: slot, Instruction: p.insns[p.index[slot]], Err: err}
}
