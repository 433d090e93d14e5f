package link

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/seccomp"
	"github.com/waggle-ebpf/waggle/internal/syscalls"
)

// attachProcess is AttachProcess on Linux.
func attachProcess(opts ProcessOptions) (*ExecLink, error) {
	if len(opts.Traces) == 0 {
		return nil, errors.New("attach process: no traces")
	}
	if opts.PID <= 0 {
		return nil, fmt.Errorf("attach process: no process %d", opts.PID)
	}
	s, err := newSupervisor(nil, ExecOptions{Traces: opts.Traces, Runs: opts.Runs})
	if err != nil {
		return nil, fmt.Errorf("attach process: %w", err)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", opts.PID))
	if err != nil {
		return nil, fmt.Errorf("attach process: %w", err)
	}
	a := &attacher{s: s, pid: opts.PID, started: make(chan error, 1), done: make(chan struct{})}
	a.code.Store(-1)
	goTracer(a.loop)
	if err := <-a.started; err != nil {
		return nil, fmt.Errorf("attach process %d: %w", opts.PID, err)
	}
	l := &ExecLink{pid: opts.PID, traces: s.programs(), stats: s.stats,
		target: fmt.Sprintf("process %d (%s)", opts.PID, strings.TrimSpace(string(comm)))}
	l.exit.Store(-1)
	l.r.start(func(ctx context.Context) error {
		err := a.wait(ctx)
		l.exit.Store(a.code.Load())
		return err
	}, func() error { return nil })
	return l, nil
}

// syscallInfo is struct ptrace_syscall_info (PTRACE_GET_SYSCALL_INFO,
// Linux 5.3).
type syscallInfo struct {
	Op   uint8
	_    [3]uint8
	Arch uint32
	IP   uint64
	SP   uint64
	// entry: nr, args[6]; exit: rval, is_error.
	U [8]uint64
}

// attacher traces a running process.
type attacher struct {
	s       *supervisor
	pid     int
	started chan error
	done    chan struct{}
	detach  atomic.Bool
	code    atomic.Int64 // the process's exit status once it ended, else -1
}

// wait is the link's loop: it ends when every traced thread has exited,
// or detaches when ctx is cancelled.
func (a *attacher) wait(ctx context.Context) error {
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
	}
	a.detach.Store(true)
	// Wake the tracer out of wait4: a signal makes a traced thread stop;
	// the tracer then interrupts and detaches every thread, and drops
	// the signal.
	for range 100 {
		_ = unix.Kill(a.pid, unix.SIGCHLD)
		select {
		case <-a.done:
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	<-a.done
	return ctx.Err()
}

// threadsOf lists the threads of process pid.
func threadsOf(pid int) ([]int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, tid)
		}
	}
	return out, nil
}

// attachOptions: syscall stops marked, every new thread and process
// traced; no EXITKILL: the process must outlive waggle.
const attachOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC

func ptraceReq(req, tid int, addr, data uintptr) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), addr, data, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// seizeThreads attaches to every thread of process pid with ptrace
// options (PTRACE_SEIZE) and asks each to stop (PTRACE_INTERRUPT; the
// stops are the caller's to collect), until a pass over /proc/PID/task
// finds no new thread. On failure it detaches from those it attached to.
// The uprobe hook (uprobe_linux.go) shares it.
func seizeThreads(pid int, options uintptr) (map[int]bool, error) {
	threads := map[int]bool{}
	for pass := 0; ; pass++ {
		tids, err := threadsOf(pid)
		if err != nil {
			for t := range threads {
				_ = ptraceReq(unix.PTRACE_DETACH, t, 0, 0)
			}
			return nil, err
		}
		added := false
		for _, tid := range tids {
			if threads[tid] {
				continue
			}
			if err := ptraceReq(unix.PTRACE_SEIZE, tid, 0, options); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // it exited
				}
				if errors.Is(err, unix.EPERM) && tracedBy(tid, unix.Gettid()) {
					// Started by a thread seized with
					// PTRACE_O_TRACECLONE: attached already, and it
					// reports a stop of its own.
					threads[tid] = true
					added = true
					continue
				}
				for t := range threads {
					_ = ptraceReq(unix.PTRACE_DETACH, t, 0, 0)
				}
				if errors.Is(err, unix.EPERM) && zombie(tid) {
					// Not a permission: the kernel refuses to seize
					// a thread that has exited.
					if tid == pid {
						return nil, fmt.Errorf("process %d has exited (a zombie: its parent has not reaped it)", pid)
					}
					return nil, fmt.Errorf("thread %d of process %d has exited (a zombie)", tid, pid)
				}
				return nil, fmt.Errorf("PTRACE_SEIZE of thread %d: %w%s", tid, err, ptraceScopeHint(err))
			}
			threads[tid] = true
			added = true
			_ = ptraceReq(unix.PTRACE_INTERRUPT, tid, 0, 0)
		}
		if !added || pass > 100 {
			return threads, nil
		}
	}
}

// tracedBy reports whether thread tid's tracer is thread tracer
// (TracerPid in /proc/TID/status).
func tracedBy(tid, tracer int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(b), "\nTracerPid:\t")
	if !ok {
		return false
	}
	line, _, _ := strings.Cut(rest, "\n")
	return line == strconv.Itoa(tracer)
}

// loop attaches to every thread, then serves their stops.
func (a *attacher) loop() {
	runtime.LockOSThread() // every ptrace request comes from this thread
	defer close(a.done)
	threads, err := seizeThreads(a.pid, attachOptions)
	if err != nil {
		a.started <- err
		return
	}
	a.started <- nil
	var (
		ws    unix.WaitStatus
		h     handling
		info  syscallInfo
		calls = map[int]syscalls.Call{}
		// interrupted: every thread was asked to stop for the detach.
		interrupted bool
	)
	for len(threads) > 0 {
		tid, err := waitStop(&ws)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			break
		}
		if ws.Exited() || ws.Signaled() {
			delete(threads, tid)
			delete(calls, tid)
			if tid == a.pid { // the process's status, as its parent sees it
				if ws.Signaled() {
					a.code.Store(int64(128 + int(ws.Signal())))
				} else {
					a.code.Store(int64(ws.ExitStatus()))
				}
			}
			continue
		}
		if !ws.Stopped() {
			continue
		}
		threads[tid] = true
		sig := ws.StopSignal()
		if a.detach.Load() {
			// Stop every thread (each reports a stop) and let each go
			// at its stop, dropping the signal that woke us.
			if !interrupted {
				for t := range threads {
					_ = ptraceReq(unix.PTRACE_INTERRUPT, t, 0, 0)
				}
				interrupted = true
			}
			deliver := 0
			if sig != unix.SIGTRAP && sig != unix.SIGTRAP|0x80 && sig != unix.SIGCHLD {
				deliver = int(sig)
			}
			_ = ptraceReq(unix.PTRACE_DETACH, tid, 0, uintptr(deliver))
			delete(threads, tid)
			continue
		}
		resume := 0
		switch {
		case sig == unix.SIGTRAP|0x80:
			n, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid), unsafe.Sizeof(info), uintptr(unsafe.Pointer(&info)), 0, 0)
			if errno != 0 || n == 0 {
				break
			}
			a.syscallStop(tid, &info, calls, &h)
		case sig == unix.SIGTRAP && ws.TrapCause() > 0:
			// clone, fork, exec events, and PTRACE_EVENT_STOP: the stop
			// of our interrupt or of a new tracee; a group-stop too,
			// which resuming ends (job control does not stop a traced
			// process).
		case sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU:
			// Under PTRACE_SEIZE a group-stop reports PTRACE_EVENT_STOP;
			// this is the signal's delivery: deliver it.
			resume = int(sig)
		default:
			resume = int(sig)
		}
		_ = ptraceResume(unix.PTRACE_SYSCALL, tid, resume)
	}
}

// syscallStop runs the programs at a syscall entry or exit stop.
func (a *attacher) syscallStop(tid int, info *syscallInfo, calls map[int]syscalls.Call, h *handling) {
	s := a.s
	switch info.Op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY:
		if info.Arch != seccomp.AuditArchX86_64 {
			return
		}
		nr := int(info.U[0])
		c := syscalls.Call{PID: uint32(tid), Nr: int32(nr)}
		copy(c.Args[:], info.U[1:7])
		calls[tid] = c
		if nr < 0 || nr >= seccomp.TableSize || len(s.enter[nr]) == 0 {
			return
		}
		start := time.Now()
		s.notifications.Add(1)
		s.ptraceStops.Add(1)
		s.perNr[nr].Add(1)
		s.allowed.Add(1)
		s.setTask(uint32(tid), nr, true, h)
		h.call = c
		for _, t := range s.enter[nr] {
			s.runTrace(t, h)
		}
		s.handling.Add(int64(time.Since(start)))
	case 2: // PTRACE_SYSCALL_INFO_EXIT
		c, ok := calls[tid]
		delete(calls, tid)
		nr := int(c.Nr)
		if !ok || nr < 0 || nr >= seccomp.TableSize || len(s.exit[nr]) == 0 {
			return
		}
		start := time.Now()
		s.ptraceStops.Add(1)
		if len(s.enter[nr]) == 0 {
			s.notifications.Add(1)
			s.perNr[nr].Add(1)
			s.allowed.Add(1)
		}
		s.setTask(uint32(tid), nr, true, h)
		h.call = c
		h.call.Ret = int64(info.U[0])
		for _, t := range s.exit[nr] {
			s.runTrace(t, h)
		}
		s.handling.Add(int64(time.Since(start)))
	}
}

// ptraceScopeHint explains an EPERM of ptrace.
func ptraceScopeHint(err error) string {
	if !errors.Is(err, unix.EPERM) {
		return ""
	}
	scope, _ := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	s := strings.TrimSpace(string(scope))
	if s == "" {
		return " (waggle may not ptrace this process: another user's, or already traced)"
	}
	return fmt.Sprintf(" (waggle may not ptrace this process: kernel.yama.ptrace_scope is %s; 1 allows only descendants, 2 needs CAP_SYS_PTRACE, 3 forbids it)", s)
}

// zombie reports whether thread tid has exited and is not yet reaped
// (state Z or X in /proc/TID/stat).
func zombie(tid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", tid))
	if err != nil {
		return false
	}
	// "PID (COMM) STATE ...": COMM may hold parentheses; the state
	// follows the last one.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] == 'Z' || b[i+2] == 'X'
}
