package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
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
	go s.traceLoop(cmd)
	return <-s.tr.started
}

// traceLoop starts the command and serves its stops until every traced
// thread has exited.
func (s *supervisor) traceLoop(cmd *exec.Cmd) {
	runtime.LockOSThread() // every ptrace request comes from this thread
	if err := cmd.Start(); err != nil {
		s.tr.started <- fmt.Errorf("start: %w", err)
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
	for {
		tid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ECHILD: nothing traced is left
			break
		}
		switch {
		case ws.Exited() || ws.Signaled():
			delete(threads, tid)
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
				_ = unix.PtraceCont(tid, 0)
				continue
			}
		}
		switch {
		case sig == unix.SIGTRAP|0x80: // a syscall stop: the exit of a traced call
			if t.inCall {
				t.inCall = false
				s.traceExit(tid, t, &h)
			}
			_ = unix.PtraceCont(tid, 0)
		case sig == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_SECCOMP:
			if s.traceEntry(tid, t, &h) {
				t.inCall = true
				_ = unix.PtraceSyscall(tid, 0)
			} else {
				_ = unix.PtraceCont(tid, 0)
			}
		case sig == unix.SIGTRAP && ws.TrapCause() > 0: // clone, fork, vfork, exec
			_ = unix.PtraceCont(tid, 0)
		default:
			// A signal for the thread: deliver it. A group-stop (no
			// siginfo) is resumed: job control of traced commands stops
			// nothing.
			var info unix.Siginfo
			if ptraceGetSiginfo(tid, &info) != nil {
				_ = unix.PtraceCont(tid, 0)
			} else {
				_ = unix.PtraceCont(tid, int(sig))
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
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return false
	}
	s.notifications.Add(1)
	s.ptraceStops.Add(1)
	nr := int(regs.Orig_rax)
	if nr >= 0 && nr < seccomp.TableSize {
		s.perNr[nr].Add(1)
	}
	var data [seccomp.DataSize]byte
	binary.NativeEndian.PutUint32(data[0:], uint32(regs.Orig_rax))
	binary.NativeEndian.PutUint32(data[4:], seccomp.AuditArchX86_64)
	binary.NativeEndian.PutUint64(data[8:], regs.Rip)
	args := [6]uint64{regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9}
	for i, a := range args {
		binary.NativeEndian.PutUint64(data[16+8*i:], a)
	}
	s.setTask(uint32(tid), nr, nr >= 0 && nr < seccomp.TableSize, h)
	action := uint32(seccomp.RetAllow)
	if s.policy != nil {
		action = s.runPolicy(data[:], h)
	}
	deny := func(errno syscall.Errno) {
		regs.Orig_rax = ^uint64(0) // skip the call
		regs.Rax = uint64(-int64(errno))
		_ = unix.PtraceSetRegs(tid, &regs)
	}
	switch action & 0xffff0000 {
	case seccomp.RetAllow, seccomp.RetLog:
		s.allowed.Add(1)
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
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return
	}
	s.ptraceStops.Add(1)
	nr := int(t.call.Nr)
	if nr < 0 || nr >= seccomp.TableSize {
		return
	}
	s.setTask(uint32(tid), nr, true, h)
	h.call = t.call
	h.call.Ret = int64(regs.Rax)
	for _, tp := range s.exit[nr] {
		s.runTrace(tp, h)
	}
}
