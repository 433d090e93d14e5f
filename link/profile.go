package link

import (
	"io"
	"sync/atomic"

	"github.com/waggle-ebpf/waggle"
)

// ProfileOptions are what AttachProfile samples and how.
type ProfileOptions struct {
	// PID profiles a running process: every thread it has and every
	// thread and process they start afterwards, until it exits or the
	// link is closed. Zero: Path and Args, a command waggle starts.
	PID int
	// Path and Args are the command to start and profile (Args[0] is its
	// name), with its standard input, output and error; Dir is its
	// working directory and Env its environment (nil: waggle's). The
	// samples begin at its first instruction and cover its threads and
	// every process it starts.
	Path   string
	Args   []string
	Dir    string
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Frequency is the samples a second of each thread's CPU time (the
	// kernel's software CPU clock); 0: 99.
	Frequency int
	// StackBytes is how much of the user stack each sample copies (the
	// rest is read from the process's memory while it lives), a multiple
	// of 8 up to 65528; 0: 16384.
	StackBytes int
	// Sampled, when set, is called for each sample before the program
	// runs, with the process, the thread and the sampled instruction:
	// while the process lives (a symboliser reads its mappings then).
	Sampled func(tgid, tid uint32, ip uint64)
	// Runs are the runs' limits and their observer.
	Runs
}

// ProfileStats count what a profile saw.
type ProfileStats struct {
	// Samples are the samples that ran the program; Lost those the
	// kernel dropped because waggle did not read its ring in time.
	Samples, Lost uint64
	// KernelSamples are samples taken while the thread was in the kernel
	// (a system call, a fault): the program sees its user registers and
	// stack as at the kernel's entry. NoUserRegs are samples of no user
	// context (a kernel thread), which the program does not see.
	KernelSamples, NoUserRegs uint64
	// RunErrors are the program's failed runs.
	RunErrors uint64
	// Threads and Processes are how many threads and processes were
	// sampled.
	Threads, Processes int
	// UserOnly is set when the kernel refused samples in kernel mode
	// (kernel.perf_event_paranoid ≥ 2 without CAP_PERFMON): samples
	// while the target is in system calls are then not taken at all.
	UserOnly bool
}

// profileCounters are the counters the sampler updates and Stats reads.
type profileCounters struct {
	samples, lost, kernel, noRegs, runErrors atomic.Uint64
	threads, processes                       atomic.Int64
}

// ProfileLink is a profile: a perf_event program running on timer
// samples of a command or a process. Close stops it (a command waggle
// started is killed; a process profiled by --pid goes on).
type ProfileLink struct {
	r        runner
	prog     *waggle.Program
	target   string
	userOnly bool
	exit     atomic.Int64
	c        profileCounters
	sys      profileSys // the system's part (perf events)
}

// Stats gives the counts so far.
func (l *ProfileLink) Stats() ProfileStats {
	return ProfileStats{
		Samples: l.c.samples.Load(), Lost: l.c.lost.Load(), KernelSamples: l.c.kernel.Load(),
		NoUserRegs: l.c.noRegs.Load(), RunErrors: l.c.runErrors.Load(),
		Threads: int(l.c.threads.Load()), Processes: int(l.c.processes.Load()), UserOnly: l.userOnly,
	}
}

// ExitCode is the command's exit status once it has exited (128 + the
// signal when a signal killed it), else -1 (and always for --pid).
func (l *ProfileLink) ExitCode() int { return int(l.exit.Load()) }

// Close stops the profile; the samples still in the kernel's rings are
// run first.
func (l *ProfileLink) Close() error { return l.r.Close() }

// Wait waits until the command or the process has exited and every
// sample has run, or the link is closed.
func (l *ProfileLink) Wait() error { return l.r.Wait() }

// Info describes the link.
func (l *ProfileLink) Info() Info {
	st := l.Stats()
	i := Info{
		Hook: "profile", Target: l.target, Programs: []*waggle.Program{l.prog},
		Attached: l.r.attached, Duration: l.r.duration(),
		Runs: st.Samples, RunErrors: st.RunErrors,
		Counts: []Count{{Name: "samples", Value: st.Samples}, {Name: "lost", Value: st.Lost}},
	}
	if code := l.exit.Load(); code >= 0 {
		i.Counts = append(i.Counts, Count{Name: "exit code", Value: uint64(code)})
	}
	return i
}

func (l *ProfileLink) isLink() {}

var _ Link = (*ProfileLink)(nil)
