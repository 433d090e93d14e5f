package link

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/notify"
	"github.com/waggle-ebpf/waggle/internal/seccomp"
	"github.com/waggle-ebpf/waggle/internal/syscalls"
)

// shimGo is what the supervised shim waits on after installing its
// filter: waggle writes 1 into it (process_vm_writev) once it holds the
// listener. Waiting on memory makes no system call, so no decision of the
// policy can stop the shim from waiting.
var shimGo uint32

// shimHandshakeFD is the shim's end of the handshake pipe.
const shimHandshakeFD = 3

// supervisedShim installs f with a listener on this thread (package
// initialisation runs on the main thread, locked to it), tells waggle
// where to signal that it holds the listener, waits for it, and executes
// the command. It returns only on failure.
func supervisedShim(f seccomp.Filter, path string) error {
	runtime.LockOSThread()
	hs := os.NewFile(shimHandshakeFD, "handshake")
	unix.CloseOnExec(shimHandshakeFD)
	var msg [9]byte
	msg[0] = 'A'
	binary.NativeEndian.PutUint64(msg[1:], uint64(uintptr(unsafe.Pointer(&shimGo))))
	if _, err := hs.Write(msg[:]); err != nil {
		return fmt.Errorf("hand the filter's listener to waggle: %w", err)
	}
	if _, err := seccomp.InstallListener(f); err != nil {
		_, _ = hs.Write(append([]byte{'E'}, err.Error()...))
		return err
	}
	deadline := time.Now().Add(shimWait)
	for atomic.LoadUint32(&shimGo) == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("waggle did not take the filter's listener within %v", shimWait)
		}
	}
	err := unix.Exec(path, os.Args, os.Environ())
	return fmt.Errorf("execute %s: %w", path, err)
}

// shimWait bounds the handshake.
const shimWait = 30 * time.Second

// supervisor runs the programs of a supervised link on its listener.
type supervisor struct {
	*plan       // the pre-filter, and which programs run on which call
	policyRuns  atomic.Uint64
	policyErrs  atomic.Uint64
	traceCounts []runCounts // by traceProg.i
	// status caches what /proc/PID/status says of each thread (reading it
	// costs tens of µs) when a program reads the task's IDs or name
	// (needStatus); the pre-filter sends every call that could change it
	// to the supervisor, which then empties the cache.
	status   map[uint32]notify.Status
	statusMu sync.Mutex // the receiver and the tracer share the cache
	tr       *tracer    // the ptrace tracer, when there are exit programs or guard
	// guard checks, at their exec stops, the execve and execveat calls
	// that the policy allowed on their paths (nil when no policy decides
	// them: plan.guardExecs).
	guard       *execGuard
	ptraceStops atomic.Uint64
	opts        Runs

	cmd    *exec.Cmd
	lis    *notify.Listener
	wake   [2]int // a pipe that Close writes to stop the receiver
	pidfd  int
	closed atomic.Bool
	// shimErr is the shim's failure to install the filter, if it wrote
	// one to the handshake.
	shimErr atomic.Value

	continuePaths bool            // ExecOptions.ContinuePathCalls
	emuJobs       chan *emulation // path calls for the workers
	emuWorkers    atomic.Int32
	emuWG         sync.WaitGroup
	emuPending    sync.WaitGroup // the path calls not answered yet

	notifications, gone, allowed, denied, killed, trapped, emulated atomic.Uint64
	handling                                                        atomic.Int64
	perNr                                                           [seccomp.TableSize + 1]atomic.Uint64
}

// runCounts count a tracing program's runs that returned and that failed.
type runCounts struct{ runs, errs atomic.Uint64 }

// newSupervisor checks the programs and builds the pre-filter (newPlan).
func newSupervisor(policy *waggle.Program, opts ExecOptions) (*supervisor, error) {
	p, err := newPlan(policy, opts)
	if err != nil {
		return nil, err
	}
	s := &supervisor{plan: p, traceCounts: make([]runCounts, len(p.traces)), opts: opts.Runs, pidfd: -1, wake: [2]int{-1, -1},
		continuePaths: opts.ContinuePathCalls, emuJobs: make(chan *emulation)}
	if p.ptraced {
		s.tr = &tracer{}
	}
	if p.guardExecs {
		s.guard = newExecGuard()
	}
	if p.needStatus {
		s.status = map[uint32]notify.Status{}
	}
	return s, nil
}

// start starts the shim and takes the filter's listener from it: when it
// returns nil, the command runs (or is about to) under the supervisor.
// Anything that fails before the command starts is an error here.
func (s *supervisor) start(cmd *exec.Cmd) (err error) {
	s.cmd = cmd
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	if s.tr != nil {
		err = s.startTraced(cmd)
	} else {
		err = cmd.Start()
		if err != nil {
			err = fmt.Errorf("start: %w", err)
		}
	}
	w.Close()
	if err != nil {
		return err
	}
	fail := func(e error) error {
		_ = cmd.Process.Kill()
		s.waitCmd(cmd)
		s.release()
		return e
	}
	_ = r.SetReadDeadline(time.Now().Add(shimWait))
	var msg [9]byte
	if _, err := io.ReadFull(r, msg[:1]); err != nil {
		return fail(fmt.Errorf("the shim that installs the filter ended before the handshake: %w", err))
	}
	if msg[0] != 'A' {
		return fail(fmt.Errorf("the shim answered %q to the handshake", msg[0]))
	}
	if _, err := io.ReadFull(r, msg[1:]); err != nil {
		return fail(fmt.Errorf("the shim's handshake: %w", err))
	}
	addr := uintptr(binary.NativeEndian.Uint64(msg[1:]))
	pid := cmd.Process.Pid
	if s.pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
		return fail(fmt.Errorf("pidfd_open of the shim (Linux 5.3): %w", err))
	}
	// The shim writes an error in place of installing the filter, or
	// installs it; look for its listener until one happens.
	go func() {
		rest, _ := io.ReadAll(r)
		if len(rest) > 1 && rest[0] == 'E' {
			s.shimErr.Store(errors.New(string(rest[1:])))
		}
	}()
	deadline := time.Now().Add(shimWait)
	for pause := 20 * time.Microsecond; ; pause = min(2*pause, 5*time.Millisecond) {
		lis, found, err := notify.TakeListener(s.pidfd, pid)
		if err != nil {
			return fail(fmt.Errorf("cannot supervise the command: %w", err))
		}
		if found {
			s.lis = lis
			break
		}
		if e := s.shimErr.Load(); e != nil {
			return fail(fmt.Errorf("the shim could not install the filter: %w", e.(error)))
		}
		if exited(s.pidfd) {
			return fail(errors.New("the shim exited before installing the filter (its error is on the command's standard error)"))
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("the shim did not install its filter within %v", shimWait))
		}
		time.Sleep(pause)
	}
	// One receiver answers every call: waking the caller on the
	// receiver's CPU shortens the round trip (Linux 6.6; 24 pairs of runs
	// of a getppid entry program here: median 10.9 µs a call with it,
	// 14.9 µs without). Older kernels refuse it, which changes nothing.
	_ = s.lis.SetSyncWakeUp()
	if err := unix.Pipe2(s.wake[:], unix.O_CLOEXEC); err != nil {
		return fail(err)
	}
	one := uint32(1)
	local := []unix.Iovec{{Base: (*byte)(unsafe.Pointer(&one))}}
	local[0].SetLen(4)
	if _, err := unix.ProcessVMWritev(pid, local, []unix.RemoteIovec{{Base: addr, Len: 4}}, 0); err != nil {
		return fail(fmt.Errorf("cannot supervise the command: signal the shim (process_vm_writev): %w", err))
	}
	return nil
}

// waitCmd waits for a command that failed to start under the
// supervisor.
func (s *supervisor) waitCmd(cmd *exec.Cmd) {
	if s.tr != nil {
		<-s.tr.done
	}
	_ = cmd.Wait()
}

// exited reports whether the process of pidfd has exited.
func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n == 1
}

// supervise is the link's loop: the receiver answers notifications until
// no process runs under the filter; the command's exit code is its
// status.
func (l *ExecLink) supervise(ctx context.Context, s *supervisor) error {
	recvErr := make(chan error, 1)
	go func() { recvErr <- s.receive() }()
	stop := context.AfterFunc(ctx, func() {
		if s.tr != nil {
			s.tr.closing.Store(true)
		}
		_ = s.cmd.Process.Kill()
		s.stopReceiver()
	})
	defer stop()
	var err error
	if s.tr != nil {
		// The tracer reaps the command (its wait4 sees every tracee);
		// cmd.Wait then only ends the copying of its output.
		code := <-s.tr.done
		_ = s.cmd.Wait()
		l.exit.Store(int64(code))
	} else {
		err = s.cmd.Wait()
		if st := s.cmd.ProcessState; st != nil {
			l.exit.Store(int64(exitCode(st)))
			err = nil
		} else {
			err = fmt.Errorf("wait for %s: %w", l.target, err)
		}
	}
	// The command's descendants may still run under the filter: serve
	// them until they are gone too.
	if rerr := <-recvErr; rerr != nil && err == nil {
		err = rerr
	}
	// The path calls being made end, with their exit programs; no
	// process waits for them any more, so a call that blocks (a FIFO's
	// open) is not waited for long.
	pending := make(chan struct{})
	go func() { s.emuPending.Wait(); close(pending) }()
	select {
	case <-pending:
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
	return err
}

// stopReceiver wakes the receiver so that it returns.
func (s *supervisor) stopReceiver() {
	if s.closed.CompareAndSwap(false, true) && s.wake[1] >= 0 {
		_, _ = unix.Write(s.wake[1], []byte{0})
	}
}

// release closes what the supervisor opened. Closing the listener makes
// the calls of any process still under the filter fail with ENOSYS.
func (s *supervisor) release() error {
	s.stopReceiver()
	close(s.emuJobs)
	// Let the workers answer the calls they are making; one blocked for
	// good (opening a FIFO nobody opens) is left behind after a while.
	done := make(chan struct{})
	go func() { s.emuWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	for _, fd := range []int{s.wake[0], s.wake[1], s.pidfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if s.lis != nil {
		s.lis.Close()
	}
	return nil
}

// receive reads notifications and answers each until no process runs
// under the filter or stopReceiver is called.
func (s *supervisor) receive() error {
	var (
		n    notify.Notif
		call handling
	)
	for {
		ok, err := s.lis.Wait(s.wake[0])
		if errors.Is(err, notify.ErrClosed) || (err == nil && !ok) {
			return nil
		}
		if err != nil {
			return err
		}
		switch err := s.lis.Receive(&n); {
		case errors.Is(err, notify.ErrGone):
			s.gone.Add(1)
			continue
		case errors.Is(err, notify.ErrClosed):
			return nil
		case err != nil:
			return err
		}
		s.handle(&n, &call)
	}
}

// handling is the reusable state of one notification's runs.
type handling struct {
	task helper.Task
	mem  trackedMemory
	ctx  [syscalls.RecordSize]byte
	call syscalls.Call
}

// trackedMemory reads a thread's memory and remembers that it did; the
// bytes of snap, the path of a path call read before the programs ran,
// come from that copy.
type trackedMemory struct {
	m    notify.Memory
	snap snapshot
	read bool
}

// ReadAt reads the thread's memory, the snapshot's bytes from the
// snapshot.
func (t *trackedMemory) ReadAt(p []byte, off int64) (int, error) {
	t.read = true
	s, a := t.snap, uint64(off)
	if s.data != nil && a >= s.addr && a-s.addr < uint64(len(s.data)) {
		n := copy(p, s.data[a-s.addr:])
		if n == len(p) {
			return n, nil
		}
		m, err := t.m.ReadAt(p[n:], off+int64(n))
		return n + m, err
	}
	return t.m.ReadAt(p, off)
}

// handle runs the programs on one notification and answers it.
func (s *supervisor) handle(n *notify.Notif, h *handling) {
	start := time.Now()
	s.notifications.Add(1)
	nr := int(n.Nr())
	inTable := n.Arch() == seccomp.AuditArchX86_64 && nr >= 0 && nr < seccomp.TableSize
	if inTable {
		s.perNr[nr].Add(1)
	} else {
		s.perNr[seccomp.TableSize].Add(1)
	}
	if !s.setTask(n.PID, nr, inTable, h) && !s.lis.Valid(n.ID) {
		// The thread was killed (another thread's exit_group) after the
		// kernel queued its call: the call never runs, and the kernel's
		// tracepoints, which come after seccomp, never see it.
		s.gone.Add(1)
		s.handling.Add(int64(time.Since(start)))
		return
	}
	// A path call: the path is read once, here; the policy sees this copy
	// and, if it allows the call, waggle makes it with this copy.
	var (
		pc      pathCall
		isPath  bool
		pathErr error
	)
	ec, isExec := execCalls[nr]
	isExec = isExec && inTable && s.guard != nil
	if s.policy != nil && inTable && !s.continuePaths {
		if pc, isPath = pathCalls[nr]; isPath {
			var data []byte
			data, pathErr = readPath(int(n.PID), n.Arg(pc.path))
			h.mem.snap = snapshot{addr: n.Arg(pc.path), data: data}
		}
	}
	if isExec {
		var data []byte
		data, pathErr = readPath(int(n.PID), n.Arg(ec.path))
		h.mem.snap = snapshot{addr: n.Arg(ec.path), data: data}
	}
	action := uint32(seccomp.RetAllow)
	if s.policy != nil {
		action = s.runPolicy(n.Data[:], h)
	}
	if h.mem.read && !s.lis.Valid(n.ID) {
		s.gone.Add(1)
		s.handling.Add(int64(time.Since(start)))
		return
	}
	var err error
	switch action & 0xffff0000 {
	case seccomp.RetAllow, seccomp.RetLog:
		s.allowed.Add(1)
		traces := s.enterOther
		if inTable {
			traces = s.enter[nr]
		}
		if len(traces) > 0 {
			h.call = syscalls.Call{PID: n.PID, Nr: n.Nr()}
			for i := range h.call.Args {
				h.call.Args[i] = n.Arg(i)
			}
			for _, t := range traces {
				s.runTrace(t, h)
			}
		}
		switch {
		case isExec && h.mem.read && pathErr != nil:
			var errno syscall.Errno
			if !errors.As(pathErr, &errno) {
				errno = unix.EFAULT
			}
			s.guard.forget(int(n.PID))
			err = s.lis.Fail(n.ID, errno)
		case isExec && h.mem.read:
			var args [6]uint64
			for i := range args {
				args[i] = n.Arg(i)
			}
			if gerr := s.guard.expect(int(n.PID), ec, args, string(h.mem.snap.data[:len(h.mem.snap.data)-1])); gerr != nil {
				err = s.lis.Fail(n.ID, errnoOf(gerr))
			} else {
				err = s.lis.Continue(n.ID)
			}
		case isExec:
			s.guard.forget(int(n.PID))
			err = s.lis.Continue(n.ID)
		case isPath && (h.mem.read || s.emulateExit[nr]) && pathErr != nil:
			// The policy decided on a path it could not read whole; the
			// kernel must not read another.
			var errno syscall.Errno
			if !errors.As(pathErr, &errno) {
				errno = unix.EFAULT
			}
			err = s.lis.Fail(n.ID, errno)
			if s.emulateExit[nr] {
				s.runExits(n.PID, nr, n, -int64(errno), h)
			}
		case isPath && (h.mem.read || s.emulateExit[nr]):
			e := &emulation{id: n.ID, pid: n.PID, call: pc, path: string(h.mem.snap.data[:len(h.mem.snap.data)-1]), start: start, nr: nr, exits: s.emulateExit[nr]}
			for i := range e.args {
				e.args[i] = n.Arg(i)
			}
			s.emulate(e)
			return
		default:
			err = s.lis.Continue(n.ID)
		}
	case seccomp.RetErrno:
		s.denied.Add(1)
		err = s.lis.Fail(n.ID, syscall.Errno(action&0xffff))
	case seccomp.RetTrap, seccomp.RetTrace, seccomp.RetUserNotif:
		// TRAP's SIGSYS carries seccomp's siginfo, which only the kernel
		// can send; TRACE without a tracer fails with ENOSYS, as in the
		// kernel.
		s.trapped.Add(1)
		if action&0xffff0000 == seccomp.RetTrap {
			_ = unix.Tgkill(int(h.task.TGID), int(n.PID), unix.SIGSYS)
		}
		err = s.lis.Fail(n.ID, unix.ENOSYS)
	default: // KILL_PROCESS, KILL_THREAD and unknown actions, which the kernel treats as KILL_PROCESS
		s.killed.Add(1)
		s.kill(n.PID)
		err = s.lis.Fail(n.ID, unix.ENOSYS)
	}
	if errors.Is(err, notify.ErrGone) {
		s.gone.Add(1)
	}
	s.handling.Add(int64(time.Since(start)))
}

// setTask makes h's task thread pid (the call nr, in the table or not):
// its memory, and its process, IDs and name when a program reads them.
// It reports false if they could not be read (the thread is gone): the
// task is then the thread alone, its own process.
func (s *supervisor) setTask(pid uint32, nr int, inTable bool, h *handling) bool {
	h.mem = trackedMemory{m: notify.Memory{PID: int(pid)}}
	h.task = helper.Task{PID: pid, TGID: pid, Memory: &h.mem}
	if s.needStatus {
		// A call that may change what the cache holds (a name, IDs, a
		// thread ID that a new thread reuses) empties it, and what is
		// read for it now is not kept: it is the status before the call.
		identity := inTable && identityCalls[nr]
		s.statusMu.Lock()
		if identity {
			clear(s.status)
		}
		st, ok := s.status[pid]
		s.statusMu.Unlock()
		if !ok {
			var err error
			if st, err = notify.ReadStatus(pid); err != nil {
				return false
			}
			if !identity {
				s.statusMu.Lock()
				s.status[pid] = st
				s.statusMu.Unlock()
			}
		}
		h.task.TGID, h.task.PPID, h.task.UID, h.task.GID, h.task.Comm = st.TGID, st.PPID, st.UID, st.GID, st.Comm
	}
	return true
}

// runPolicy runs the policy on the notification; a run that fails denies
// the call with EPERM.
func (s *supervisor) runPolicy(data []byte, h *handling) uint32 {
	t := time.Now()
	res, err := s.policy.Run(&waggle.RunOptions{Context: data, Task: &h.task, Budget: s.opts.Budget, Timeout: s.opts.Timeout})
	d := time.Since(t)
	if err != nil {
		s.policyErrs.Add(1)
		if s.opts.Observer != nil {
			s.opts.Observer.ObserveError(d)
		}
		return seccomp.RetErrno | uint32(unix.EPERM)
	}
	s.policyRuns.Add(1)
	action := res
	if s.opts.Observer != nil {
		s.opts.Observer.ObserveRun(seccomp.ActionName(action), d)
	}
	return action
}

// runExits runs the exit programs of call nr of thread pid, whose
// result waggle made.
func (s *supervisor) runExits(pid uint32, nr int, n *notify.Notif, ret int64, h *handling) {
	s.setTask(pid, nr, true, h)
	h.call = syscalls.Call{PID: pid, Nr: int32(nr), Ret: ret}
	for i := range h.call.Args {
		h.call.Args[i] = n.Arg(i)
	}
	for _, t := range s.exit[nr] {
		s.runTrace(t, h)
	}
}

// runTrace runs a tracing program on a call.
func (s *supervisor) runTrace(t *traceProg, h *handling) {
	ctx := t.tp.Context(h.ctx[:], &h.call)
	start := time.Now()
	_, err := t.prog.Run(&waggle.RunOptions{Context: ctx, Task: &h.task, Budget: s.opts.Budget, Timeout: s.opts.Timeout})
	d := time.Since(start)
	if err != nil {
		s.traceCounts[t.i].errs.Add(1)
		if s.opts.Observer != nil {
			s.opts.Observer.ObserveError(d)
		}
		return
	}
	s.traceCounts[t.i].runs.Add(1)
	if s.opts.Observer != nil {
		s.opts.Observer.ObserveRun("traced", d)
	}
}

// kill ends the process of thread pid, as KILL_PROCESS does: with SIGSYS
// (a status of 128 + 31) unless the process catches, blocks or ignores
// it, and then with SIGKILL.
func (s *supervisor) kill(pid uint32) {
	tgid := int(pid)
	sig := unix.SIGSYS
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		if v, ok := statusMaskHas(st, unix.SIGSYS); ok && v {
			sig = unix.SIGKILL
		}
		if t, ok := statusTgid(st); ok {
			tgid = t
		}
	}
	_ = unix.Kill(tgid, sig)
}

// stats reads the counts.
func (s *supervisor) stats() ExecStats {
	st := ExecStats{
		Notifications: s.notifications.Load(), Gone: s.gone.Load(),
		Allowed: s.allowed.Load(), Denied: s.denied.Load(), Killed: s.killed.Load(), Trapped: s.trapped.Load(),
		Emulated: s.emulated.Load(), PtraceStops: s.ptraceStops.Load(), Handling: time.Duration(s.handling.Load()),
		Syscalls: map[string]uint64{},
	}
	if s.guard != nil {
		st.ExecsChanged = s.guard.caught.Load()
	}
	if s.policy != nil {
		ps := ProgramStats{Name: s.policy.Name(), Attach: "policy", Runs: s.policyRuns.Load(), Errors: s.policyErrs.Load()}
		st.Programs = append(st.Programs, ps)
	}
	for _, t := range s.traces {
		st.Programs = append(st.Programs, ProgramStats{Name: t.prog.Name(), Attach: t.tp.String(), Runs: s.traceCounts[t.i].runs.Load(), Errors: s.traceCounts[t.i].errs.Load()})
	}
	for _, p := range st.Programs {
		st.Runs += p.Runs
		st.RunErrors += p.Errors
	}
	for nr := range s.perNr {
		if c := s.perNr[nr].Load(); c > 0 {
			name := "other"
			if nr < seccomp.TableSize {
				name = syscalls.Name(nr)
			}
			st.Syscalls[name] = c
		}
	}
	return st
}

// statusMaskHas reports whether /proc/PID/status shows sig blocked,
// ignored or caught.
func statusMaskHas(status []byte, sig unix.Signal) (has, ok bool) {
	for _, field := range []string{"SigBlk", "SigIgn", "SigCgt"} {
		v, found := statusField(status, field)
		if !found {
			return false, false
		}
		mask, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return false, false
		}
		if mask&(1<<(uint(sig)-1)) != 0 {
			has = true
		}
	}
	return has, true
}

// statusTgid reads Tgid from /proc/PID/status.
func statusTgid(status []byte) (int, bool) {
	v, found := statusField(status, "Tgid")
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

func statusField(status []byte, name string) (string, bool) {
	for line := range strings.SplitSeq(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// programs are the tracing programs, in the order of the link's traces.
func (p *plan) programs() []*waggle.Program {
	out := make([]*waggle.Program, len(p.traces))
	for i, t := range p.traces {
		out[i] = t.prog
	}
	return out
}
