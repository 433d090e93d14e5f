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

// ExecOptions says which command runs under a system call policy.
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
}

// ExecLink is a command running under a system call policy: a Seccomp
// program that decides each of its system calls and those of every thread
// and process it starts. See AttachExec.
type ExecLink struct {
	r      runner
	cmd    *exec.Cmd
	policy *waggle.Program
	filter seccomp.Filter
	target string
	exit   atomic.Int64 // the exit code, 128+signal for a killed command; -1 while it runs
}

var _ Link = (*ExecLink)(nil)

// Environment variables through which AttachExec hands the filter and the
// command to its shim.
const (
	shimFilterEnv = "WAGGLE_SECCOMP_FILTER"
	shimPathEnv   = "WAGGLE_SECCOMP_PATH"
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
	os.Unsetenv(shimFilterEnv)
	os.Unsetenv(shimPathEnv)
	b, err := hex.DecodeString(filter)
	if err == nil {
		var f seccomp.Filter
		if f, err = seccomp.FilterFromBytes(b); err == nil {
			err = seccomp.Exec(f, path, os.Args, os.Environ())
		}
	}
	fmt.Fprintf(os.Stderr, "waggle: %v\n", err)
	os.Exit(126)
}

// AttachExec starts a command under a system call policy: policy, a
// program of type waggle.Seccomp, decides every system call of the command
// and of every thread and process it starts, from its first instruction.
//
// This version runs policies that the kernel can run itself: one that
// reads only its struct seccomp_data and decides with comparisons and bit
// operations (no maps, no helpers, no stack, no loops) is lowered to a
// classic BPF seccomp filter (see Filter) and installed in the kernel, so
// every decision is made there, at the cost of a classic filter, and holds
// even if waggle dies. A policy that needs more is refused with the
// instruction that cannot be lowered.
//
// The command is started from the running executable (/proc/self/exe),
// which installs the filter and then executes the command (the package's
// init does so when the process is such a shim): an executable that
// imports package link serves.
func AttachExec(policy *waggle.Program, opts ExecOptions) (*ExecLink, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("attach exec: waggle: system call policies need Linux (seccomp), this is %s: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	if policy == nil {
		return nil, errors.New("attach exec: no policy program")
	}
	if policy.Type() != waggle.Seccomp {
		return nil, fmt.Errorf("attach exec: program %s is of type %s; a system call policy is a waggle.Seccomp program (SEC(\"seccomp\"))", policy.Name(), policy.Type())
	}
	f, err := Filter(policy)
	if err != nil {
		return nil, fmt.Errorf("attach exec: %w", err)
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
	cmd := &exec.Cmd{
		Path:   self,
		Args:   args,
		Env:    append(env[:len(env):len(env)], shimFilterEnv+"="+hex.EncodeToString(f.Bytes()), shimPathEnv+"="+path),
		Dir:    opts.Dir,
		Stdin:  opts.Stdin,
		Stdout: opts.Stdout,
		Stderr: opts.Stderr,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("attach exec: start %s: %w", path, err)
	}
	l := &ExecLink{cmd: cmd, policy: policy, filter: f, target: strings.Join(args, " ")}
	l.exit.Store(-1)
	l.r.start(l.wait, func() error { return nil })
	return l, nil
}

// Filter lowers a Seccomp program to the classic BPF seccomp filter that
// AttachExec installs, or says why it cannot.
func Filter(policy *waggle.Program) (seccomp.Filter, error) {
	f, err := seccomp.Lower(policy.Instructions())
	if err != nil {
		return nil, fmt.Errorf("policy %s cannot run as a classic seccomp filter: %w (policies with maps, helpers or loops need the supervised path, which this version does not have)", policy.Name(), err)
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

// Pid is the command's process ID.
func (l *ExecLink) Pid() int { return l.cmd.Process.Pid }

// Filter is the classic filter the kernel runs for the policy.
func (l *ExecLink) Filter() seccomp.Filter { return l.filter }

// Info describes the link: hook "syscalls", the command line as target,
// the policy; the kernel makes the decisions, so Runs stays 0, and the
// counts are the filter's length and, once it ended, the command's exit
// code.
func (l *ExecLink) Info() Info {
	i := Info{
		Hook: "syscalls", Target: l.target, Programs: []*waggle.Program{l.policy},
		Attached: l.r.attached, Duration: l.r.duration(),
		Counts: []Count{{Name: "classic instructions", Value: uint64(len(l.filter))}},
	}
	if code := l.exit.Load(); code >= 0 {
		i.Counts = append(i.Counts, Count{Name: "exit code", Value: uint64(code)})
	}
	return i
}

func (l *ExecLink) isLink() {}
