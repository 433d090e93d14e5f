package link

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"

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
	cmd    *exec.Cmd
	policy *waggle.Program
	filter seccomp.Filter
	sup    *supervisor // nil when the kernel runs the lowered policy
	proc   *attacher   // a running process traced (AttachProcess)
	target string
	exit   atomic.Int64 // the exit code, 128+signal for a killed command; -1 while it runs
}

var _ Link = (*ExecLink)(nil)

// Environment variables through which AttachExec hands the filter and the
// command to its shim; shimListenEnv asks for a filter with a listener
// (the supervised path), whose handshake goes through file descriptor 3.
const (
	shimFilterEnv = "WAGGLE_SECCOMP_FILTER"
	shimPathEnv   = "WAGGLE_SECCOMP_PATH"
	shimListenEnv = "WAGGLE_SECCOMP_LISTEN"
)

// The shim: a process that AttachExec starts from this very executable
// (/proc/self/exe) with the filter in its environment installs the filter
// on all its threads and executes the command, before anything else of
// the program runs. So the command runs under the policy from its first
// instruction, and keeps running under it whatever happens to waggle:
// the kernel enforces the filter.
func init() {
	filter, ok := os.LookupEnv(shimFilterEnv)
	if !ok {
		return
	}
	path := os.Getenv(shimPathEnv)
	_, listen := os.LookupEnv(shimListenEnv)
	os.Unsetenv(shimFilterEnv)
	os.Unsetenv(shimPathEnv)
	os.Unsetenv(shimListenEnv)
	b, err := hex.DecodeString(filter)
	if err == nil {
		var f seccomp.Filter
		if f, err = seccomp.FilterFromBytes(b); err == nil {
			if listen {
				err = supervisedShim(f, path)
			} else {
				err = seccomp.Exec(f, path, os.Args, os.Environ())
			}
		}
	}
	fmt.Fprintf(os.Stderr, "waggle: %v\n", err)
	os.Exit(126)
}

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
func AttachExec(policy *waggle.Program, opts ExecOptions) (*ExecLink, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("attach exec: waggle: system call policies need Linux (seccomp), this is %s: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	if policy == nil && len(opts.Traces) == 0 {
		return nil, errors.New("attach exec: no policy program and no traces")
	}
	if policy != nil && policy.Type() != waggle.Seccomp {
		return nil, fmt.Errorf("attach exec: program %s is of type %s; a system call policy is a waggle.Seccomp program (SEC(\"seccomp\"))", policy.Name(), policy.Type())
	}
	var (
		f   seccomp.Filter
		sup *supervisor
		err error
	)
	if policy != nil && len(opts.Traces) == 0 && !opts.Supervise && !opts.NotifyAll {
		f, err = seccomp.Lower(policy.Instructions())
		var nl *seccomp.NotLowerableError
		if err != nil && !errors.As(err, &nl) {
			return nil, fmt.Errorf("attach exec: policy %s: %w", policy.Name(), err)
		}
	}
	if f == nil {
		if sup, err = newSupervisor(policy, opts); err != nil {
			return nil, fmt.Errorf("attach exec: %w", err)
		}
		f = sup.filter
	}
	if opts.Path == "" {
		return nil, errors.New("attach exec: no command")
	}
	path, err := exec.LookPath(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("attach exec: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("attach exec: find this executable, which starts the command: %w", err)
	}
	args := opts.Args
	if len(args) == 0 {
		args = []string{opts.Path}
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(env[:len(env):len(env)], shimFilterEnv+"="+hex.EncodeToString(f.Bytes()), shimPathEnv+"="+path)
	if sup != nil {
		env = append(env, shimListenEnv+"=1")
	}
	cmd := &exec.Cmd{
		Path:   self,
		Args:   args,
		Env:    env,
		Dir:    opts.Dir,
		Stdin:  opts.Stdin,
		Stdout: opts.Stdout,
		Stderr: opts.Stderr,
	}
	l := &ExecLink{cmd: cmd, policy: policy, filter: f, sup: sup, target: strings.Join(args, " ")}
	l.exit.Store(-1)
	if sup != nil {
		if err := sup.start(cmd); err != nil {
			return nil, fmt.Errorf("attach exec: %s: %w", path, err)
		}
		l.r.start(l.supervise, sup.release)
		return l, nil
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("attach exec: start %s: %w", path, err)
	}
	l.r.start(l.wait, func() error { return nil })
	return l, nil
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

// wait waits for the command; Close kills it.
func (l *ExecLink) wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = l.cmd.Process.Kill() })
	defer stop()
	err := l.cmd.Wait()
	if st := l.cmd.ProcessState; st != nil {
		l.exit.Store(int64(exitCode(st)))
		return nil
	}
	return fmt.Errorf("wait for %s: %w", l.target, err)
}

// exitCode is a command's status as a shell reports it: its exit code, or
// 128 + the signal that killed it.
func exitCode(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}

// Close kills the command if it still runs and waits for it.
func (l *ExecLink) Close() error { return l.r.Close() }

// Wait waits until the command has exited (ExitCode tells how).
func (l *ExecLink) Wait() error { return l.r.Wait() }

// ExitCode is the command's exit code, or 128 + the signal that killed it
// (a policy's KILL_PROCESS is SIGSYS: 159); -1 while it runs.
func (l *ExecLink) ExitCode() int { return int(l.exit.Load()) }

// Pid is the command's process ID, or the traced process's.
func (l *ExecLink) Pid() int {
	if l.proc != nil {
		return l.proc.pid
	}
	return l.cmd.Process.Pid
}

// Filter is the classic filter the kernel runs: the lowered policy, or
// the pre-filter of a supervised link; none for a traced running process
// (AttachProcess).
func (l *ExecLink) Filter() seccomp.Filter {
	if l.proc != nil {
		return nil
	}
	return l.filter
}

// Supervised reports whether programs run in waggle (on notifications)
// rather than only in the kernel.
func (l *ExecLink) Supervised() bool { return l.sup != nil }

// Stats are the counts of a supervised link (zero for a lowered policy).
func (l *ExecLink) Stats() ExecStats {
	if l.sup == nil {
		return ExecStats{}
	}
	return l.sup.stats()
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
	if l.sup == nil {
		i.Counts = []Count{{Name: "classic instructions", Value: uint64(len(l.filter))}}
	} else {
		for _, t := range l.sup.traces {
			i.Programs = append(i.Programs, t.prog)
		}
		st := l.sup.stats()
		i.Runs, i.RunErrors = st.Runs, st.RunErrors
		i.Counts = []Count{{Name: "notified", Value: st.Notifications}, {Name: "denied", Value: st.Denied}, {Name: "killed", Value: st.Killed}}
	}
	if code := l.exit.Load(); code >= 0 {
		i.Counts = append(i.Counts, Count{Name: "exit code", Value: uint64(code)})
	}
	return i
}

func (l *ExecLink) isLink() {}
