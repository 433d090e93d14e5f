package interp

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// callHelper calls h with r1 to r5. The helper sees the active stack frames
// and every region of m.Memory (and the shared regions).
func (p *Program) callHelper(m *Machine, h *helper.Helper, regs *[16]uint64) (uint64, error) {
	c := &m.call
	c.SetStack(m.stackRegion())
	c.Args = [5]uint64{regs[1], regs[2], regs[3], regs[4], regs[5]}
	r, err := h.Func(c)
	if err != nil && !errors.Is(err, helper.ErrExitProgram) {
		if _, tail := err.(*helper.TailCall); !tail {
			err = fmt.Errorf("helper %d (%s): %w", h.ID, h.Name, err)
		}
	}
	return r, err
}

// helperEnd turns the error of a helper into the end of the run.
func (p *Program) helperEnd(r uint64, err error, slot int) (uint64, error) {
	if errors.Is(err, helper.ErrExitProgram) {
		return r, nil
	}
	return 0, p.errAt(slot, err)
}

// faulted returns the error for the memory fault m recorded at slot, and
// saves the instructions left.
func (p *Program) faulted(m *Machine, slot int, steps uint64) error {
	m.steps = steps
	f := m.fault
	m.fault = nil
	if f == nil && m.virtual != nil {
		r, a := m.virtual, m.virtualAccess
		f = &memory.Fault{Access: a.acc, Addr: a.addr, Size: a.size,
			Reason: fmt.Sprintf("the %s at [%#x, %#x) does not allow this access", r.Kind, r.Start, r.End())}
	}
	m.virtual = nil
	if f == nil {
		f = &memory.Fault{Reason: "access refused"}
	}
	return p.errAt(slot, f)
}

func atomicXorUint32(p *uint32, v uint32) uint32 {
	for {
		old := atomic.LoadUint32(p)
		if atomic.CompareAndSwapUint32(p, old, old^v) {
			return old
		}
	}
}

func atomicXorUint64(p *uint64, v uint64) uint64 {
	for {
		old := atomic.LoadUint64(p)
		if atomic.CompareAndSwapUint64(p, old, old^v) {
			return old
		}
	}
}

// atomicCmpXchgUint32 stores new at p if p holds expected, and returns what p
// held.
func atomicCmpXchgUint32(p *uint32, expected, new uint32) uint32 {
	for {
		old := atomic.LoadUint32(p)
		if old != expected || atomic.CompareAndSwapUint32(p, old, new) {
			return old
		}
	}
}

func atomicCmpXchgUint64(p *uint64, expected, new uint64) uint64 {
	for {
		old := atomic.LoadUint64(p)
		if old != expected || atomic.CompareAndSwapUint64(p, old, new) {
			return old
		}
	}
}

// Program memory is accessed through these functions. They are excluded from
// the race detector: programs and Go code share map values under eBPF's
// memory model, as in the kernel (see package maps); the maps' own
// bookkeeping stays checked. They inline in normal builds.

//go:norace
func loadU8(p unsafe.Pointer) uint8 { return *(*uint8)(p) }

//go:norace
func loadU16(p unsafe.Pointer) uint16 { return *(*uint16)(p) }

//go:norace
func loadU32(p unsafe.Pointer) uint32 { return *(*uint32)(p) }

//go:norace
func loadU64(p unsafe.Pointer) uint64 { return *(*uint64)(p) }

//go:norace
func loadI8(p unsafe.Pointer) int8 { return *(*int8)(p) }

//go:norace
func loadI16(p unsafe.Pointer) int16 { return *(*int16)(p) }

//go:norace
func loadI32(p unsafe.Pointer) int32 { return *(*int32)(p) }

//go:norace
func storeU8(p unsafe.Pointer, v uint8) { *(*uint8)(p) = v }

//go:norace
func storeU16(p unsafe.Pointer, v uint16) { *(*uint16)(p) = v }

//go:norace
func storeU32(p unsafe.Pointer, v uint32) { *(*uint32)(p) = v }

//go:norace
func storeU64(p unsafe.Pointer, v uint64) { *(*uint64)(p) = v }
