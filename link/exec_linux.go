package link

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/seccomp"
)

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

// attachExec is AttachExec on Linux.
func attachExec(policy *waggle.Program, opts ExecOptions) (*ExecLink, error) {
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
	l := &ExecLink{policy: policy, filter: f, target: strings.Join(args, " ")}
	l.exit.Store(-1)
	if sup != nil {
		if err := sup.start(cmd); err != nil {
			return nil, fmt.Errorf("attach exec: %s: %w", path, err)
		}
		l.pid, l.traces, l.stats = cmd.Process.Pid, sup.programs(), sup.stats
		l.r.start(func(ctx context.Context) error { return l.supervise(ctx, sup) }, sup.release)
		return l, nil
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("attach exec: start %s: %w", path, err)
	}
	l.pid = cmd.Process.Pid
	l.r.start(func(ctx context.Context) error { return l.wait(ctx, cmd) }, func() error { return nil })
	return l, nil
}

// wait waits for the command; Close kills it.
func (l *ExecLink) wait(ctx context.Context, cmd *exec.Cmd) error {
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	defer stop()
	err := cmd.Wait()
	if st := cmd.ProcessState; st != nil {
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
