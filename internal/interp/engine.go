package interp

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// The interpreter as an engine.Code: a Program runs on Machines of its own.
var (
	_ engine.Code    = (*Program)(nil)
	_ engine.Machine = (*Machine)(nil)
)

// NewMachine implements engine.Code.
func (p *Program) NewMachine() engine.Machine { return NewMachine() }

// Exec implements engine.Code: Run, repeat times.
func (p *Program) Exec(em engine.Machine, args *engine.RunArgs, repeat uint32) (r uint64, err error) {
	m, ok := em.(*Machine)
	if !ok {
		return 0, fmt.Errorf("interp: a %T cannot run interpreted code", em)
	}
	for range max(repeat, 1) {
		if r, err = p.run(m, args); err != nil {
			return 0, err
		}
	}
	return r, nil
}

// RunMemory implements engine.Machine.
func (m *Machine) RunMemory() (*memory.Memory, *memory.Region) { return &m.Memory, &m.Packet }
