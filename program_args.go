package waggle

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/jit"
)

// MaxArgs is the most arguments an ArgsRunner passes: the u64 slots of
// the kernel's struct bpf_raw_tracepoint_args (MAX_BPF_FUNC_ARGS).
const MaxArgs = 12

// ArgsOptions bound the runs of an ArgsRunner.
type ArgsOptions struct {
	// Budget is the most instructions one run may execute; 0 means
	// DefaultBudget.
	Budget uint64
	// Timeout, if not 0, is how long one run may take
	// (RunOptions.Timeout); each run then reads the clock once more.
	Timeout time.Duration
}

// ArgsRunner runs a raw tracepoint program (SEC("raw_tp/NAME"), whose
// context is struct bpf_raw_tracepoint_args: u64 args[]) on integer
// arguments, from a service's hot paths: it is the fast path of package
// probe.
//
// It keeps one run state per CPU slot of the program, built when it is
// made, so that a run takes a free slot, writes the arguments into that
// slot's context, enters the engine and gives the slot back: no
// RunOptions, no pool, no allocation. With the JIT, each slot's machine
// is set up for the program once (jit.Program.PrepareOnce) and a run
// enters the compiled code directly; only a run that came back to Go
// (a helper call, a budget refill, an error) has anything to end and
// rearm after it. The runs are the same as
// Program.Run's with RunOptions{Context: the arguments, Budget, Timeout}
// (same context, helpers, CPU slots and per-CPU values), without a Task
// (the waggle process) or a Cancel context. Program.Run is unaffected.
//
// It is safe for concurrent use; Close ends it.
type ArgsRunner struct {
	p     *Program
	nargs int
	opts  ArgsOptions
	// jit is the program's compiled code when the JIT runs it: each
	// slot's machine is then prepared once for its runs (PrepareOnce).
	jit *jit.Program
	// fast: runs go straight into compiled code (the JIT, without a
	// timeout, which each run would set).
	fast  bool
	slots *cpuSlots // p.cpus
	// closed is the runner's own flag, userClosed the program's
	// (programLife.userClosed), looked up once.
	closed     atomic.Bool
	userClosed *atomic.Bool
	states     []argsState // by CPU slot
}

// argsState is one CPU slot's run state; its fields are used only by
// whoever holds the slot.
type argsState struct {
	st   *runState
	jm   *jit.Machine     // st.machine, with ArgsRunner.jit
	args *[MaxArgs]uint64 // the run's arguments: kernel.Run.ArgsBuffer as words
	runs uint64           // runs that returned
	errs uint64           // runs that failed
	_    [24]byte
}

// NewArgsRunner prepares runs of p, a raw tracepoint program, on nargs
// arguments (at most MaxArgs). It refuses a program of another type, and
// a verified program that reads its context beyond nargs arguments (the
// kernel refuses such a raw tracepoint's test run too).
func (p *Program) NewArgsRunner(nargs int, opts ArgsOptions) (*ArgsRunner, error) {
	if p.typ != ebpf.RawTracepoint {
		return nil, fmt.Errorf("program %s is a %s program: arguments are for raw tracepoint programs (SEC(\"raw_tp/NAME\"))", displayName(p.name), p.typ)
	}
	if nargs < 0 || nargs > MaxArgs {
		return nil, fmt.Errorf("program %s: %d arguments: a raw tracepoint has 0 to %d", displayName(p.name), nargs, MaxArgs)
	}
	if p.contextExtent > 8*nargs {
		return nil, fmt.Errorf("program %s reads its arguments up to byte %d (args[%d]), and there are %d arguments (%d bytes)",
			displayName(p.name), p.contextExtent, (p.contextExtent-1)/8, nargs, 8*nargs)
	}
	if p.life.userClosed.Load() {
		return nil, p.errClosed()
	}
	r := &ArgsRunner{p: p, nargs: nargs, opts: opts, userClosed: &p.life.userClosed, states: make([]argsState, p.cpus.count())}
	r.jit, _ = p.code.(*jit.Program)
	r.fast, r.slots = r.jit != nil && opts.Timeout == 0, p.cpus
	for j := range r.states {
		st := p.states.New().(*runState)
		st.cpu = j
		r1, err := st.run.PrepareArgs(st.mem, j, nargs)
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", displayName(p.name), err)
		}
		st.args.R1, st.args.CPU, st.args.Budget = r1, j, opts.Budget
		st.args.Timeout = opts.Timeout
		buf := st.run.ArgsBuffer()[:0]
		if cap(buf) < 8*MaxArgs || uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%8 != 0 {
			return nil, fmt.Errorf("program %s: the arguments' buffer holds %d bytes at %p, not %d aligned", displayName(p.name), cap(buf), unsafe.SliceData(buf), 8*MaxArgs)
		}
		// The words are the buffer's bytes in the host's byte order, as
		// the program reads them.
		r.states[j] = argsState{st: st, args: (*[MaxArgs]uint64)(unsafe.Pointer(unsafe.SliceData(buf)))}
		if r.jit != nil {
			jm, ok := st.machine.(*jit.Machine)
			if !ok {
				return nil, fmt.Errorf("program %s: compiled code with a %T machine", displayName(p.name), st.machine)
			}
			// The run is armed (PrepareArgs): each run that exits to Go
			// rearms it after its end, for the next.
			r.jit.PrepareOnce(jm, st.args)
			r.states[j].jm = jm
		}
	}
	return r, nil
}

// Program is the program the runner runs.
func (r *ArgsRunner) Program() *Program { return r.p }

// Run runs the program once on args, which must be as many as the runner
// was made for, and returns r0. An error means that the run failed (a
// *RunError: a fault, an exhausted budget), that the runner or the
// program was closed (it matches os.ErrClosed), or that args has the
// wrong length. It allocates only for an error.
func (r *ArgsRunner) Run(args []uint64) (uint64, error) {
	if len(args) != r.nargs {
		return 0, r.errCount(len(args))
	}
	s := r.slots
	j := 0 // slot 0 first, inlined: a service that fires from one goroutine at a time finds it free
	if !s.tryTake(0) {
		j = s.acquire(1)
	}
	// Close and Program.Close set their flag, then wait for the slots
	// held (as begin does).
	if r.closed.Load() || r.userClosed.Load() {
		return 0, r.refuse(j)
	}
	as := &r.states[j]
	w := as.args[:len(args)] // len(args) == r.nargs <= MaxArgs
	args = args[:len(w)]
	for i := range w {
		w[i] = args[i] // stores, not a call of memmove
	}
	if !r.fast {
		if r.jit == nil && r.opts.Timeout == 0 {
			// The interpreter (through engine.Code), in line: as
			// afterExit.
			st := as.st
			v, err := r.p.code.Exec(st.machine, &st.args, 1)
			st.run.End()
			st.run.Rearm()
			if err != nil {
				as.errs++
			} else {
				as.runs++
			}
			s.release(j)
			if err != nil {
				return 0, r.errRun(err)
			}
			return v, nil
		}
		return r.runSlow(as, j)
	}
	m := as.jm
	m.EnterOnce() // m.RunOnce, with the call of compiled code inlined
	if !m.Done() {
		v, err := m.FinishOnce()
		return r.afterExit(as, j, v, err)
	}
	// The run never left compiled code: no helper ran, nothing is held.
	v := m.Result()
	as.runs++
	s.busy[j].Store(false) // s.release(j), inlined
	if s.waiters.Load() > 0 {
		s.wake(j)
	}
	return v, nil
}

// runSlow is a run with a timeout (which sets a deadline per run), on
// slot j, which it gives back.
//
//go:noinline
func (r *ArgsRunner) runSlow(as *argsState, j int) (uint64, error) {
	st := as.st
	var v uint64
	var err error
	if r.jit != nil {
		if r.opts.Timeout != 0 {
			as.jm.SetDeadline(time.Now().Add(r.opts.Timeout))
		}
		v, _, err = as.jm.RunOnce()
	} else {
		if r.opts.Timeout != 0 {
			st.args.Deadline = time.Now().Add(r.opts.Timeout)
		}
		v, err = r.p.code.Exec(st.machine, &st.args, 1)
	}
	return r.afterExit(as, j, v, err)
}

// afterExit ends a run on slot j that came back to Go, where helpers may
// have held or changed what End and Rearm undo, counts it, and gives the
// slot back.
//
//go:noinline
func (r *ArgsRunner) afterExit(as *argsState, j int, v uint64, err error) (uint64, error) {
	as.st.run.End()
	as.st.run.Rearm()
	if err != nil {
		as.errs++
	} else {
		as.runs++
	}
	r.slots.release(j)
	if err != nil {
		return 0, r.errRun(err)
	}
	return v, nil
}

// refuse is Run's refusal of a run on slot j, which it gives back, by a
// closed runner or program.
//
//go:noinline
func (r *ArgsRunner) refuse(j int) error {
	r.slots.release(j)
	return r.errRun(os.ErrClosed)
}

// errCount and errRun make Run's errors, out of its line (which keeps its
// registers for the run).
//
//go:noinline
func (r *ArgsRunner) errCount(n int) error {
	return fmt.Errorf("run program %s: %d arguments, not %d", displayName(r.p.name), n, r.nargs)
}

//go:noinline
func (r *ArgsRunner) errRun(err error) error {
	return fmt.Errorf("run program %s: %w", displayName(r.p.name), err)
}

// Counts are the runner's runs so far that returned and that failed
// (closed runners' refusals are not runs). It takes every CPU slot in turn,
// so it waits for the runs in progress.
func (r *ArgsRunner) Counts() (runs, errs uint64) {
	for j := range r.states {
		takeSlot(r.p.cpus, j)
		runs += r.states[j].runs
		errs += r.states[j].errs
		r.p.cpus.release(j)
	}
	return runs, errs
}

// Close stops the runner: the runs in progress end first (Close waits for
// them, and for those of the other programs that share the program's CPU
// slots), later runs fail with an error matching os.ErrClosed. The program
// itself stays open. Close may be called more than once; a helper must not
// call it.
func (r *ArgsRunner) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		quiesce(r.p.cpus)
	}
	return nil
}

// spins is how many times takeSlot and quiesce look at a slot before
// they yield between looks, and yields how many times they yield before
// they wait as Program.Close does. A service that fires from all its
// goroutines all along gives a slot back and takes it again at once: the
// waits of cpuSlots, woken by a release, then wait for the waker's
// processor to be scheduled (up to Go's 10 ms time slice, many times),
// and so does a yield, while a look between two runs finds the slot free
// within a few hundred looks.
const (
	spins  = 1 << 14
	yields = 100
)

// free waits until cond holds, looking, then yielding between looks;
// false if it did not.
func free(cond func() bool) bool {
	for n := 0; n < spins+yields; n++ {
		if cond() {
			return true
		}
		if n >= spins {
			runtime.Gosched()
		}
	}
	return false
}

// quiesce waits until every slot has been seen free once since it was
// called. A run holding a slot when it was called has then ended: the
// slot stays taken until that run gives it back. Runs that take a slot
// later see what the caller set before calling (ArgsRunner.closed).
func quiesce(s *cpuSlots) {
	for j := range s.busy {
		if !free(func() bool { return !s.busy[j].Load() }) {
			s.drain()
			return
		}
	}
}

// takeSlot takes slot j as acquireSlot does, looking for it free first.
func takeSlot(s *cpuSlots, j int) {
	if !free(func() bool { return s.tryTake(j) }) {
		s.acquireSlot(j)
	}
}
