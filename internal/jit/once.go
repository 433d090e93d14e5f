package jit

import (
	"errors"
	"time"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// PrepareOnce sets m up for single runs of p on args with RunOnce (or
// EnterOnce and FinishOnce), the fast entry of a run fired from a hot
// path (package probe): what RunRepeat sets up before every run (the
// arguments, the CPU slot, the budget, the cancel context, the helpers'
// state) is set here once, and a run only enters the code. Each run then
// runs as RunRepeat(m, args, 1) does, but for the deadline, which
// SetDeadline sets before each run that has a timeout. A run of m by
// RunRepeat or Run undoes the preparation (FinishOnce then fails until
// PrepareOnce is called again).
//
// Checked code, which sets its windows and budget before each run from
// the run's memory, is prepared too: FinishOnce runs it through
// RunRepeat.
func (p *Program) PrepareOnce(m *Machine, args engine.RunArgs) {
	m.onceState = oncePreparing
	_, _ = p.RunRepeat(m, &args, 1) // the setup alone: it returns before any run, with no error
	m.onceArgs = args
	m.onceEntry = p.base + uintptr(p.out.Entry)
	m.rearmOnce(p)
	m.once = p
	m.onceState = onceVerified
	if p.checked {
		m.onceState = onceChecked
	}
}

// SetDeadline sets the deadline of the next run of a prepared machine
// whose arguments have a timeout (RunArgs.Timeout, RunArgs.Deadline).
func (m *Machine) SetDeadline(t time.Time) {
	m.deadline = t
	m.onceArgs.Deadline = t
}

// errNotPrepared is FinishOnce's error on a machine that PrepareOnce did
// not set up (or that ran something else since).
var errNotPrepared = errors.New("jit: a run of a machine not prepared for it (PrepareOnce)")

// RunOnce runs the program m was prepared for once, and returns r0 as
// RunRepeat(m, args, 1) does. exited reports whether the run returned to
// Go before its end (a helper call, an instruction or a budget refill Go
// serves), failed, or went through RunRepeat (checked code): a run that
// did not exit ran in compiled code alone, returned no error, and left
// the helpers' state as it found it. It is EnterOnce, then FinishOnce if
// the run is not Done.
func (m *Machine) RunOnce() (r uint64, exited bool, err error) {
	m.EnterOnce()
	if m.Done() {
		return m.Result(), false, nil
	}
	r, err = m.FinishOnce()
	return r, true, err
}

// EnterOnce starts a run of the program of verified code m was prepared
// for: it enters the compiled code, where the run either ends (Done, and
// Result is its r0) or exits to Go, and FinishOnce finishes it: it serves
// the exits. It does not enter checked code, or a machine not prepared,
// which FinishOnce runs or refuses. EnterOnce and Done are small enough
// to be inlined into their caller: a run of verified code that makes no
// exit costs the entry into compiled code and back, two compares and a
// store.
func (m *Machine) EnterOnce() {
	// What else a run starts from (NativeSP, restRepeat, prog) only an
	// exit changes: PrepareOnce and FinishOnce set it.
	if m.onceState == onceVerified {
		m.ctx.Repeat = 1
		enter(m.onceEntry, &m.ctx)
	}
}

// Done reports whether the run EnterOnce started ended in compiled code,
// without exiting to Go, with r0 = Result.
func (m *Machine) Done() bool { return m.ctx.ExitCode == abi.ExitDone && m.onceState == onceVerified }

// Result is r0 of a run that Done says ended.
func (m *Machine) Result() uint64 { return m.ctx.Ret }

// FinishOnce finishes a run that EnterOnce started and that is not Done,
// with RunOnce's results.
//
//go:noinline
func (m *Machine) FinishOnce() (r uint64, err error) {
	p := m.once
	switch m.onceState {
	case onceVerified:
		r, err = m.serve()
		if len(m.progs) > maxProgs {
			m.progs = append(m.progs[:0], p) // as RunRepeat's next run would
		}
		m.rearmOnce(p)
		return r, err
	case onceChecked:
		r, err = p.RunRepeat(m, &m.onceArgs, 1)
		m.onceState = onceChecked // RunRepeat's setup undid it; the arguments are the same
		return r, err
	}
	return 0, errNotPrepared
}

// rearmOnce sets what a run of a prepared machine starts from besides
// Repeat, which only the exits of a run change: where compiled code's
// stack starts, the rest of the budget (the first refill gives the run
// the rest0 of a whole one), the program the exits are looked up from
// first.
func (m *Machine) rearmOnce(p *Program) {
	m.ctx.NativeSP = m.nativeSP
	m.restRepeat = 0
	m.prog = p
}
