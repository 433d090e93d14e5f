package link

import (
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/seccomp"
)

// ExecOptions says which command runs under a system call policy and
// tracing programs.
type ExecOptions struct {
	// Path is the command: a path, or a name looked up in PATH.
	Path string
	// Args are its arguments, Args[0] its name, as in exec.Cmd.
	Args []string
	// Env is its environment; nil means the current process's.
	Env []string
	// Dir is its working directory; "" means the current one.
	Dir string
	// Stdin, Stdout and Stderr are its standard files, as in exec.Cmd
	// (nil: the null device).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Traces are tracing programs that run on the command's system calls
	// (see Trace). Any trace makes the link supervised.
	Traces []Trace
	// Supervise runs the policy in waggle, on the notifications of a
	// pre-filter, even when it could be lowered to a classic filter.
	Supervise bool
	// NotifyAll makes the pre-filter of a supervised link send every
	// system call to waggle, also those whose action the kernel could
	// decide: to compare the supervised path with the kernel's.
	NotifyAll bool
	// ContinuePathCalls lets an allowed open, openat, creat, unlink or
	// unlinkat go on in the kernel even when the policy read its path,
	// instead of waggle making the call with the path the policy saw: the
	// kernel then reads the path again, and another thread of the command
	// may have changed it (a time-of-check/time-of-use hole). Only to
	// measure or show the difference.
	ContinuePathCalls bool
	// Runs are the options of the supervised runs: budget, timeout and
	// the observer of every run of the policy and the traces. The
	// observer's verdicts are the policy's actions as
	// seccomp.ActionName names them ("ALLOW", "ERRNO(1)",
	// "KILL_PROCESS") and "traced" for a trace's run; a policy's failed
	// run denies the call with EPERM.
	Runs
}

// Trace is a tracing program and the system call tracepoint it attaches
// to: Section is its ELF section ("tracepoint/syscalls/sys_enter_openat",
// "tp/raw_syscalls/sys_exit", "raw_tracepoint/sys_enter", ...) or the
// tracepoint's name ("syscalls/sys_enter_openat").
type Trace struct {
	Program *waggle.Program
	Section string
}

// ExecLink is a command running under a system call policy, tracing
// programs, or both: programs that see each of its system calls and
// those of every thread and process it starts. See AttachExec.
type ExecLink struct {
	r      runner
	pid    int // the command's or the traced process's ID
	policy *waggle.Program
	traces []*waggle.Program // the tracing programs, for Info
	filter seccomp.Filter    // the lowered policy or the pre-filter; nil for a traced running process
	// stats reads the supervisor's counts; nil when the kernel runs the
	// lowered policy.
	stats  func() ExecStats
	target string
	exit   atomic.Int64 // the exit code, 128+signal for a killed command; -1 while it runs
}

var _ Link = (*ExecLink)(nil)

// AttachExec starts a command under a system call policy and tracing
// programs: policy, a program of type waggle.Seccomp (or nil when there
// are traces), decides every system call of the command and of every
// thread and process it starts, from its first instruction; the traces
// see the calls their tracepoints name.
//
// A policy that reads only its struct seccomp_data and decides with
// comparisons and bit operations (no maps, no helpers, no stack, no
// loops), with no traces and without opts.Supervise, is lowered to a
// classic BPF seccomp filter (see Filter) and installed in the kernel, so
// every decision is made there, at the cost of a classic filter, and
// holds even if waggle dies.
//
// Any other policy, and every trace, runs in waggle, supervised: the
// kernel runs a pre-filter (see Prefilter) that decides in the kernel
// every system call whose action does not depend on more than its number
// and sends the others to waggle by seccomp user notification, where the
// policy runs with the calling thread as its task (RunOptions.Task: its
// IDs, name and memory). If waggle dies, the calls that would have gone
// to it fail with ENOSYS: the command never goes on unpoliced. See
// docs/ARCHITECTURE.md, "The syscall hook".
//
// The command is started from the running executable (/proc/self/exe),
// which installs the filter and then executes the command (the package's
// init does so when the process is such a shim): an executable that
// imports package link serves.
//
// System call hooks need Linux (seccomp, ptrace): on other systems
// AttachExec fails with an error matching errors.ErrUnsupported.
func AttachExec(policy *waggle.Program, opts ExecOptions) (*ExecLink, error) {
	return attachExec(policy, opts)
}

// Filter lowers a Seccomp program to the classic BPF seccomp filter that
// AttachExec installs, or says why it cannot.
func Filter(policy *waggle.Program) (seccomp.Filter, error) {
	f, err := seccomp.Lower(policy.Instructions())
	if err != nil {
		return nil, fmt.Errorf("policy %s cannot run as a classic seccomp filter: %w (policies with maps, helpers or loops run supervised, in waggle)", policy.Name(), err)
	}
	return f, nil
}

// Close kills the command if it still runs and waits for it.
func (l *ExecLink) Close() error { return l.r.Close() }

// Wait waits until the command has exited (ExitCode tells how).
func (l *ExecLink) Wait() error { return l.r.Wait() }

// ExitCode is the command's exit code, or 128 + the signal that killed it
// (a policy's KILL_PROCESS is SIGSYS: 159); -1 while it runs.
func (l *ExecLink) ExitCode() int { return int(l.exit.Load()) }

// Pid is the command's process ID, or the traced process's.
func (l *ExecLink) Pid() int { return l.pid }

// Filter is the classic filter the kernel runs: the lowered policy, or
// the pre-filter of a supervised link; none for a traced running process
// (AttachProcess).
func (l *ExecLink) Filter() seccomp.Filter { return l.filter }

// Supervised reports whether programs run in waggle (on notifications)
// rather than only in the kernel.
func (l *ExecLink) Supervised() bool { return l.stats != nil }

// Stats are the counts of a supervised link (zero for a lowered policy).
func (l *ExecLink) Stats() ExecStats {
	if l.stats == nil {
		return ExecStats{}
	}
	return l.stats()
}

// Info describes the link: hook "syscalls", the command line as target,
// the programs; for a lowered policy the kernel makes the decisions, so
// Runs stays 0, and the counts are the filter's length and, once it
// ended, the command's exit code; a supervised link counts the system
// calls that reached waggle and its decisions.
func (l *ExecLink) Info() Info {
	i := Info{
		Hook: "syscalls", Target: l.target,
		Attached: l.r.attached, Duration: l.r.duration(),
	}
	if l.policy != nil {
		i.Programs = append(i.Programs, l.policy)
	}
	if l.stats == nil {
		i.Counts = []Count{{Name: "classic instructions", Value: uint64(len(l.filter))}}
	} else {
		i.Programs = append(i.Programs, l.traces...)
		st := l.stats()
		i.Runs, i.RunErrors = st.Runs, st.RunErrors
		i.Counts = []Count{{Name: "notified", Value: st.Notifications}, {Name: "denied", Value: st.Denied}, {Name: "killed", Value: st.Killed}}
	}
	if code := l.exit.Load(); code >= 0 {
		i.Counts = append(i.Counts, Count{Name: "exit code", Value: uint64(code)})
	}
	return i
}

func (l *ExecLink) isLink() {}

// ExecStats are the counts of a supervised command.
type ExecStats struct {
	// Notifications are the system calls that reached waggle; Gone those
	// whose thread went away (killed, interrupted) before the answer.
	Notifications, Gone uint64
	// Runs and RunErrors count the runs of all the programs.
	Runs, RunErrors uint64
	// The decisions on the notified calls: allowed (ALLOW, LOG), denied
	// (ERRNO, and a failed run of the policy: EPERM), killed (KILL_*),
	// trapped (TRAP, TRACE: ENOSYS).
	Allowed, Denied, Killed, Trapped uint64
	// Emulated counts the calls waggle made itself for the thread, so
	// that what the policy checked is what the call uses (see
	// docs/ARCHITECTURE.md, "No time-of-check/time-of-use hole").
	Emulated uint64
	// ExecsChanged counts the processes killed at their exec because the
	// kernel loaded another program than the one the policy allowed: the
	// path was rewritten after the check (see docs/ARCHITECTURE.md). They
	// count in Killed too.
	ExecsChanged uint64
	// PtraceStops counts the stops of calls that exit programs name (two
	// a call: at the seccomp check and at the exit).
	PtraceStops uint64
	// Handling is the time waggle spent on notified calls, from reading
	// each to answering it.
	Handling time.Duration
	// Programs are the runs of each program.
	Programs []ProgramStats
	// Syscalls count the notified calls by system call name.
	Syscalls map[string]uint64
}

// ProgramStats are the runs of one program of a link.
type ProgramStats struct {
	// Name is the program's name.
	Name string
	// Attach is where it runs: "policy", or its tracepoint.
	Attach string
	// Runs and Errors count its runs that returned and that failed.
	Runs, Errors uint64
}

// SyscallsByCount lists the notified system calls, the most frequent
// first (ties by name).
func (st ExecStats) SyscallsByCount() []Count {
	out := make([]Count, 0, len(st.Syscalls))
	for name, c := range st.Syscalls {
		out = append(out, Count{Name: name, Value: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value > out[j].Value
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// ProcessOptions say which running process to trace.
type ProcessOptions struct {
	// PID is the process: all its threads, and the threads and
	// processes they start while traced.
	PID int
	// Traces are the tracing programs (see Trace).
	Traces []Trace
	// Runs are the options of the programs' runs.
	Runs
}

// AttachProcess traces a running process: waggle attaches to each of its
// threads with ptrace (PTRACE_SEIZE) and stops them at every system
// call's entry and exit (PTRACE_SYSCALL), where the entry and exit
// programs of the calls they name run; no filter can be added to a
// process that runs already, so every call stops twice, and the process
// is traced, not policed. Close detaches, and the process goes on as
// before. The link ends by itself when the process and everything it
// started while traced have exited (ExitCode is then the process's
// status). It needs the right to ptrace the process (the same user and a
// kernel.yama.ptrace_scope of 0, or CAP_SYS_PTRACE).
//
// System call hooks need Linux (seccomp, ptrace): on other systems
// AttachProcess fails with an error matching errors.ErrUnsupported.
func AttachProcess(opts ProcessOptions) (*ExecLink, error) {
	return attachProcess(opts)
}
