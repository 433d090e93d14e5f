package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/seccomp"
	"github.com/waggle-ebpf/waggle/internal/syscalls"
)

// Exit programs need the result of the call, which seccomp user
// notification cannot give. For the system calls that exit programs name
// (and only those), the pre-filter returns SECCOMP_RET_TRACE instead,
// and waggle is the command's ptrace tracer (as strace --seccomp-bpf
// is): at the seccomp stop it runs the policy and the entry programs on
// the registers, denies by skipping the call, or restarts the thread
// until its syscall-exit stop (PTRACE_SYSCALL), where the exit programs
// get the result. That is two ptrace stops per named call, none for
// the others. With PTRACE_O_EXITKILL the command dies with waggle; and
// without a tracer the kernel fails TRACE calls with ENOSYS.

// ptraceOptions: seccomp stops, syscall stops marked (SIGTRAP|0x80),
// every new thread and process traced, the command killed if waggle
// exits.
const ptraceOptions = unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE |
	unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL

// tracedThread is what the tracer remembers of a thread between its
// seccomp stop and its syscall-exit stop.
type tracedThread struct {
	inCall bool // restarted with PTRACE_SYSCALL: the next syscall stop is the exit
	call   syscalls.Call
}

// tracer is the ptrace side of a supervisor.
type tracer struct {
	started chan error
	done    chan int // the command's exit code, when every tracee has exited
	// closing: the link is closed; the command was killed, and the tracer
	// kills whatever else it traces, so that Close does not wait for
	// processes the command left behind.
	closing atomic.Bool
}

// startTraced starts cmd traced (on a locked thread that then serves
// every ptrace stop) and returns once the command runs with its options
// set.
func (s *supervisor) startTraced(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Ptrace = true
	s.tr.started, s.tr.done = make(chan error, 1), make(chan int, 1)
	goTracer(func() { s.traceLoop(cmd) })
	return <-s.tr.started
}

// traceLoop starts the command and serves its stops until every traced
// thread has exited.
func (s *supervisor) traceLoop(cmd *exec.Cmd) {
	runtime.LockOSThread() // every ptrace request comes from this thread
	if err := cmd.Start(); err != nil {
		// The child's PTRACE_TRACEME failing (ptrace_scope 3, a seccomp
		// filter of waggle's own) fails the start.
		s.tr.started <- fmt.Errorf("start traced, for the exit programs: %w%s", err, ptraceScopeHint(err))
		return
	}
	pid := cmd.Process.Pid
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		_ = cmd.Process.Kill()
		s.tr.started <- fmt.Errorf("the traced command did not stop at its start (%v, status %#x)", err, uint32(ws))
		return
	}
	if err := unix.PtraceSetOptions(pid, ptraceOptions); err != nil {
		_ = cmd.Process.Kill()
		s.tr.started <- fmt.Errorf("cannot trace the command: PTRACE_SETOPTIONS: %w", err)
		return
	}
	if err := unix.PtraceCont(pid, 0); err != nil {
		_ = cmd.Process.Kill()
		s.tr.started <- fmt.Errorf("cannot trace the command: %w", err)
		return
	}
	s.tr.started <- nil
	threads := map[int]*tracedThread{pid: {}}
	code := -1
	var h handling
	killed := false
	for {
		if !killed && s.tr.closing.Load() {
			for t := range threads {
				_ = unix.Kill(t, unix.SIGKILL)
			}
			killed = true
		}
		tid, err := waitStop(&ws)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ECHILD: nothing traced is left
			break
		}
		switch {
		case ws.Exited() || ws.Signaled():
			delete(threads, tid)
			if s.guard != nil {
				s.guard.forget(tid)
			}
			if tid == pid {
				if ws.Signaled() {
					code = 128 + int(ws.Signal())
				} else {
					code = ws.ExitStatus()
				}
			}
			continue
		case !ws.Stopped():
			continue
		}
		sig := ws.StopSignal()
		t, known := threads[tid]
		if !known {
			t = &tracedThread{}
			threads[tid] = t
			if sig == unix.SIGSTOP {
				// A new thread's or process's first stop.
				s.traceChildExit(tid, &h)
				_ = ptraceResume(unix.PTRACE_CONT, tid, 0)
				continue
			}
		}
		switch {
		case sig == unix.SIGTRAP|0x80: // a syscall stop: the exit of a traced call
			if t.inCall {
				t.inCall = false
				s.traceExit(tid, t, &h)
			}
			_ = ptraceResume(unix.PTRACE_CONT, tid, 0)
		case sig == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_SECCOMP:
			if s.traceEntry(tid, t, &h) {
				t.inCall = true
				_ = ptraceResume(unix.PTRACE_SYSCALL, tid, 0)
			} else {
				_ = ptraceResume(unix.PTRACE_CONT, tid, 0)
			}
		case sig == unix.SIGTRAP && ws.TrapCause() > 0: // clone, fork, vfork, exec
			if ws.TrapCause() == unix.PTRACE_EVENT_EXEC {
				former := tid
				if msg, err := unix.PtraceGetEventMsg(tid); err == nil {
					former = int(msg)
				}
				// An execve by another thread of the process: the thread
				// now has the leader's id, and its call goes on there.
				if former != tid {
					if ft := threads[former]; ft != nil {
						*t = *ft
						delete(threads, former)
					}
				}
				if s.guard != nil && !s.guard.loaded(tid, former) {
					// The kernel loaded another program than the one
					// the policy allowed: the path changed after the
					// check. The process dies before it runs.
					s.guard.caught.Add(1)
					s.killed.Add(1)
					_ = unix.Kill(tid, unix.SIGKILL)
				}
			}
			// A call that stops at an event (execve, clone, fork) still
			// has its exit stop to come when it is traced: resuming with
			// PTRACE_CONT would skip it.
			req := unix.PTRACE_CONT
			if t.inCall {
				req = unix.PTRACE_SYSCALL
			}
			_ = ptraceResume(req, tid, 0)
		default:
			// A signal for the thread: deliver it. A group-stop (no
			// siginfo) is resumed: job control of traced commands stops
			// nothing.
			var info unix.Siginfo
			if ptraceGetSiginfo(tid, &info) != nil {
				_ = ptraceResume(unix.PTRACE_CONT, tid, 0)
			} else {
				_ = ptraceResume(unix.PTRACE_CONT, tid, int(sig))
			}
		}
	}
	s.tr.done <- code
}

func ptraceGetSiginfo(tid int, info *unix.Siginfo) error {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(info)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// traceEntry serves a seccomp stop: the policy and the entry programs on
// the thread's registers; it reports whether the thread is to be stopped
// again at the call's exit for the exit programs.
func (s *supervisor) traceEntry(tid int, t *tracedThread, h *handling) bool {
	start := time.Now()
	defer func() { s.handling.Add(int64(time.Since(start))) }()
	var regs unix.PtraceRegs
	if err := ptraceRegs(unix.PTRACE_GETREGS, tid, &regs); err != nil {
		return false
	}
	s.notifications.Add(1)
	s.ptraceStops.Add(1)
	nr, ip, args := callOf(&regs)
	if nr >= 0 && nr < seccomp.TableSize {
		s.perNr[nr].Add(1)
	}
	var data [seccomp.DataSize]byte
	binary.NativeEndian.PutUint32(data[0:], uint32(nr))
	binary.NativeEndian.PutUint32(data[4:], seccomp.AuditArchX86_64)
	binary.NativeEndian.PutUint64(data[8:], ip)
	for i, a := range args {
		binary.NativeEndian.PutUint64(data[16+8*i:], a)
	}
	s.setTask(uint32(tid), nr, nr >= 0 && nr < seccomp.TableSize, h)
	ec, isExec := execCalls[nr]
	isExec = isExec && s.guard != nil
	var pathErr error
	if isExec {
		var data []byte
		data, pathErr = readPath(tid, args[ec.path])
		h.mem.snap = snapshot{addr: args[ec.path], data: data}
	}
	action := uint32(seccomp.RetAllow)
	if s.policy != nil {
		action = s.runPolicy(data[:], h)
	}
	deny := func(errno syscall.Errno) {
		skipCall(&regs, errno)
		_ = ptraceRegs(unix.PTRACE_SETREGS, tid, &regs)
	}
	switch action & 0xffff0000 {
	case seccomp.RetAllow, seccomp.RetLog:
		s.allowed.Add(1)
		switch {
		case isExec && h.mem.read && pathErr != nil:
			s.guard.forget(tid)
			var errno syscall.Errno
			if !errors.As(pathErr, &errno) {
				errno = unix.EFAULT
			}
			deny(errno)
			return false
		case isExec && h.mem.read:
			if err := s.guard.expect(tid, ec, args, string(h.mem.snap.data[:len(h.mem.snap.data)-1])); err != nil {
				deny(errnoOf(err))
				return false
			}
		case isExec:
			s.guard.forget(tid)
		}
	case seccomp.RetErrno:
		s.denied.Add(1)
		deny(syscall.Errno(action & 0xffff))
		return false
	case seccomp.RetTrap, seccomp.RetTrace, seccomp.RetUserNotif:
		s.trapped.Add(1)
		if action&0xffff0000 == seccomp.RetTrap {
			_ = unix.Tgkill(int(h.task.TGID), tid, unix.SIGSYS)
		}
		deny(unix.ENOSYS)
		return false
	default:
		s.killed.Add(1)
		s.kill(uint32(tid))
		deny(unix.ENOSYS)
		return false
	}
	t.call = syscalls.Call{PID: uint32(tid), Nr: int32(nr), Args: args}
	if nr >= 0 && nr < seccomp.TableSize {
		h.call = t.call
		for _, tp := range s.enter[nr] {
			s.runTrace(tp, h)
		}
		return len(s.exit[nr]) > 0
	}
	return false
}

// traceExit runs the exit programs on a call's result.
func (s *supervisor) traceExit(tid int, t *tracedThread, h *handling) {
	start := time.Now()
	defer func() { s.handling.Add(int64(time.Since(start))) }()
	var regs unix.PtraceRegs
	if err := ptraceRegs(unix.PTRACE_GETREGS, tid, &regs); err != nil {
		return
	}
	s.ptraceStops.Add(1)
	nr := int(t.call.Nr)
	if nr < 0 || nr >= seccomp.TableSize {
		return
	}
	s.setTask(uint32(tid), nr, true, h)
	h.call = t.call
	h.call.Ret = resultOf(&regs)
	for _, tp := range s.exit[nr] {
		s.runTrace(tp, h)
	}
}

// traceChildExit runs the exit programs of the clone, fork or vfork that
// made a new thread or process, at its first stop: the kernel reports
// the call's exit in the new task too (returning 0 there), and a tool
// that counts a process's calls counts it.
func (s *supervisor) traceChildExit(tid int, h *handling) {
	var regs unix.PtraceRegs
	if err := ptraceRegs(unix.PTRACE_GETREGS, tid, &regs); err != nil {
		return
	}
	nr, _, args := callOf(&regs)
	if nr < 0 || nr >= seccomp.TableSize || len(s.exit[nr]) == 0 || resultOf(&regs) != 0 {
		return
	}
	start := time.Now()
	defer func() { s.handling.Add(int64(time.Since(start))) }()
	s.setTask(uint32(tid), nr, true, h)
	h.call = syscalls.Call{PID: uint32(tid), Nr: int32(nr), Args: args}
	for _, tp := range s.exit[nr] {
		s.runTrace(tp, h)
	}
}

// spinWait is how long waitStop polls for the next stop before it blocks.
const spinWait = 50 * time.Microsecond

// waitStop waits for the next stop or exit of any tracee of the calling
// thread (__WNOTHREAD: not the tracees or children of the process's other
// threads, which may be another link's tracer or the program's own
// exec.Cmd, whose events a wait for any child would take). It first polls
// (wait4 with WNOHANG, which never blocks) for a little while: a traced
// call's exit stop, or the next call's stop, usually comes within
// microseconds, and a blocking wait4 would hand the thread's processor to
// Go's scheduler and take tens of µs to get it back.
func waitStop(ws *unix.WaitStatus) (int, error) {
	deadline := time.Now().Add(spinWait)
	for time.Now().Before(deadline) {
		tid, _, errno := unix.RawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(ws)), unix.WALL|unix.WNOTHREAD|unix.WNOHANG, 0, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return -1, errno
		case tid != 0:
			return int(tid), nil
		}
	}
	return unix.Wait4(-1, ws, unix.WALL|unix.WNOTHREAD, nil)
}

// ptraceRegs gets or sets a stopped thread's registers. Requests to a
// stopped tracee never block: the raw system call spares the scheduler's
// bookkeeping of a blocking one.
func ptraceRegs(req, tid int, regs *unix.PtraceRegs) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), 0, uintptr(unsafe.Pointer(regs)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// ptraceResume restarts a stopped thread (PTRACE_CONT, PTRACE_SYSCALL)
// with signal sig.
func ptraceResume(req, tid, sig int) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), 0, uintptr(sig), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
