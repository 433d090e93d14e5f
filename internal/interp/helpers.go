package interp

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// callHelper calls h with r1 to r5. The helper sees the active stack frames
// and every region of m.Memory.
func (p *Program) callHelper(m *Machine, h *helper.Helper, regs *[16]uint64) (uint64, error) {
	m.helperMemory.Reset()
	m.helperMemory.Add(m.stackRegion())
	m.helperMemory.Regions = append(m.helperMemory.Regions, m.Memory.Regions...)
	c := &m.call
	c.Args = [5]uint64{regs[1], regs[2], regs[3], regs[4], regs[5]}
	r, err := h.Func(c)
	if err != nil && !errors.Is(err, helper.ErrExitProgram) {
		err = fmt.Errorf("helper %d (%s): %w", h.ID, h.Name, err)
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

// faulted returns the error for the memory fault m recorded at slot.
func (p *Program) faulted(m *Machine, slot int) error {
	f := m.fault
	m.fault = nil
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
