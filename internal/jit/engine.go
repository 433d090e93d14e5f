package jit

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Compiled code as an engine.Code: a Program runs on Machines of its own.
var (
	_ engine.Code    = (*Program)(nil)
	_ engine.Machine = (*Machine)(nil)
)

// NewMachine implements engine.Code.
func (p *Program) NewMachine() engine.Machine { return NewMachine() }

// Exec implements engine.Code: RunRepeat.
func (p *Program) Exec(em engine.Machine, args *engine.RunArgs, repeat uint32) (uint64, error) {
	m, ok := em.(*Machine)
	if !ok {
		return 0, fmt.Errorf("jit: a %T cannot run compiled code", em)
	}
	return p.RunRepeat(m, args, repeat)
}

// RunMemory implements engine.Machine.
func (m *Machine) RunMemory() (*memory.Memory, *memory.Region) { return &m.Memory, &m.Packet }
