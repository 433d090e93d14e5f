package jit

import (
	"errors"
	"time"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// PrepareOnce sets m up for single runs of p on args with RunOnce, the
// fast entry of a run fired from a hot path (package probe): what
// RunRepeat sets up before every run (the arguments, the CPU slot, the
// budget, the cancel context, the helpers' state) is set here once, and
// RunOnce only starts the run. Each RunOnce then runs as RunRepeat(m,
// args, 1) does, but for the deadline, which SetDeadline sets before each
// run that has a timeout. A run of m by RunRepeat or Run undoes the
// preparation (RunOnce returns errNotPrepared until PrepareOnce is called
// again).
//
// Checked code, which sets its windows and budget before each run from
// the run's memory, is prepared too, and RunOnce runs it through
// RunRepeat.
func (p *Program) PrepareOnce(m *Machine, args engine.RunArgs) {
	p.setup(m, &args)
	m.onceArgs = args
	m.once = p
}

// SetDeadline sets the deadline of the next RunOnce of a prepared machine
// whose arguments have a timeout (RunArgs.Timeout, RunArgs.Deadline).
func (m *Machine) SetDeadline(t time.Time) {
	m.deadline = t
	m.onceArgs.Deadline = t
}

// errNotPrepared is RunOnce's error on a machine that PrepareOnce did not
// set up for the program (or that ran something else since).
var errNotPrepared = errors.New("jit: RunOnce on a machine not prepared for the program (PrepareOnce)")

// RunOnce runs p once on m, which PrepareOnce set up for it, and returns
// r0 as RunRepeat(m, args, 1) does. exited reports whether the run
// returned to Go before its end (a helper call, an instruction or a
// budget refill Go serves, or an error): a run that did not left the
// helpers' state as it found it.
//
// A run of verified code that makes no exit costs the entry into
// compiled code and back, and four stores: nothing is checked or set
// that is the same from run to run.
func (p *Program) RunOnce(m *Machine) (r uint64, exited bool, err error) {
	if m.once != p || p.checked {
		return p.runOnceSlow(m)
	}
	m.ctx.Repeat = 1
	m.ctx.NativeSP = m.nativeSP
	m.restRepeat = 0 // the first refill gives the run the rest0 of a whole budget
	m.prog = p
	enter(p.base+uintptr(p.out.Entry), &m.ctx)
	if m.ctx.ExitCode == abi.ExitDone {
		return m.ctx.Ret, false, nil
	}
	return p.runOnceExits(m)
}

// runOnceExits serves the exits of a RunOnce, out of its line.
//
//go:noinline
func (p *Program) runOnceExits(m *Machine) (uint64, bool, error) {
	r, err := m.serve()
	if len(m.progs) > maxProgs {
		m.progs = append(m.progs[:0], p) // as RunRepeat's next run would
	}
	return r, true, err
}

// runOnceSlow is RunOnce for checked code, through RunRepeat, and the
// error of an unprepared machine.
//
//go:noinline
func (p *Program) runOnceSlow(m *Machine) (uint64, bool, error) {
	if m.once != p {
		return 0, false, errNotPrepared
	}
	r, err := p.RunRepeat(m, &m.onceArgs, 1)
	m.once = p // RunRepeat's setup undid it; the arguments are the same
	return r, true, err
}
