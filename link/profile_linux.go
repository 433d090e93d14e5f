package link

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/notify"
)

// The profile's sampling source is the kernel's perf events: a software
// CPU clock event per thread of the target and CPU, inherited by the
// threads and processes it starts (perf record's arrangement: an
// inherited event can only be mmapped per CPU), each sample carrying the
// thread's IDs, its user registers and a copy of the top of its user
// stack into a ring per CPU, which waggle reads and runs the program on.

const (
	profileRingPages = 128 // data pages of each CPU's ring (512 KiB)
	// The kernel wakes the sampler when a ring is a quarter full; it
	// drains them at least this often anyway.
	profilePoll = 100 * time.Millisecond

	// The samples' content: ip, pid/tid, period, user registers, user
	// stack.
	profileSampleType = unix.PERF_SAMPLE_IP | unix.PERF_SAMPLE_TID | unix.PERF_SAMPLE_PERIOD |
		unix.PERF_SAMPLE_REGS_USER | unix.PERF_SAMPLE_STACK_USER
)

// The x86-64 perf register numbers (asm/perf_regs.h) of the user
// registers sampled, in the order a sample lists them (by number), and
// where each goes in struct pt_regs.
var profileRegs = []struct{ perf, ptRegs int }{
	{0, 80},   // ax
	{1, 40},   // bx
	{2, 88},   // cx
	{3, 96},   // dx
	{4, 104},  // si
	{5, 112},  // di
	{6, 32},   // bp
	{7, 152},  // sp
	{8, 128},  // ip
	{9, 144},  // flags
	{10, 136}, // cs
	{11, 160}, // ss
	{16, 72},  // r8
	{17, 64},  // r9
	{18, 56},  // r10
	{19, 48},  // r11
	{20, 24},  // r12
	{21, 16},  // r13
	{22, 8},   // r14
	{23, 0},   // r15
}

const (
	perfRegSP = 7
	perfRegIP = 8
	perfRegBP = 6
	// struct bpf_perf_event_data: pt_regs, sample_period, addr.
	perfCtxSize   = 168 + 16
	perfCtxPeriod = 168
)

// profileSys is the perf events' state.
type profileSys struct {
	attr   unix.PerfEventAttr
	cpus   []int
	rings  []*profileRing // one per CPU, in cpus' order
	fds    []int          // every event
	opened map[int]bool   // threads with events
	pidfd  int            // --pid: the process, to see it exit; else -1
	cmd    *exec.Cmd
	waited chan struct{} // closed when the command has been waited for

	// wake is a pipe whose write end wakes the sampler's poll: when the
	// command has exited, when the link is closed.
	wakeMu     sync.Mutex
	wakeR      int
	wakeW      int
	wakeClosed bool
}

// wake wakes the sampler, unless the pipe is closed.
func (s *profileSys) wake() {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if !s.wakeClosed && s.wakeW >= 0 {
		_, _ = unix.Write(s.wakeW, []byte{0})
	}
}

// profileRing is a CPU's ring of samples.
type profileRing struct {
	fd   int
	mem  []byte
	meta *unix.PerfEventMmapPage
	data []byte
}

// AttachProfile runs prog, a perf_event program (SEC("perf_event"), a
// struct bpf_perf_event_data context), on timer samples of every thread
// of a command it starts or of a running process, and of the threads and
// processes they start: each sample's user registers are the context's
// pt_regs, its period sample_period, and the run's helper.Task is the
// sampled thread, with the registers and a Memory that serves the
// sample's copy of the stack first and the process's memory for the rest
// (so bpf_get_stack and bpf_get_stackid walk its user stack).
//
// Perf events need kernel.perf_event_paranoid ≤ 2 or CAP_PERFMON (or
// root); at 2 without them only user-mode samples are taken
// (ProfileStats.UserOnly). A command is started under ptrace until its
// events are open, so waggle must be allowed to trace it
// (kernel.yama.ptrace_scope ≤ 2).
func AttachProfile(prog *waggle.Program, opts ProfileOptions) (*ProfileLink, error) {
	if prog == nil {
		return nil, errors.New("profile: no program")
	}
	if t := prog.Type(); t != ebpf.PerfEvent {
		return nil, fmt.Errorf("profile: program %s is of type %v, not a perf_event program (SEC(\"perf_event\"))", prog.Name(), t)
	}
	freq := opts.Frequency
	if freq == 0 {
		freq = 99
	}
	if freq < 1 || freq > 100000 {
		return nil, fmt.Errorf("profile: frequency %d Hz: want 1 to 100000", opts.Frequency)
	}
	stack := opts.StackBytes
	if stack == 0 {
		stack = 16384
	}
	if stack < 8 || stack > 65528 || stack%8 != 0 {
		return nil, fmt.Errorf("profile: stack copy of %d bytes: want a multiple of 8 from 8 to 65528", opts.StackBytes)
	}
	switch {
	case opts.PID < 0:
		return nil, fmt.Errorf("profile: PID %d is not a process ID", opts.PID)
	case opts.PID == 0 && opts.Path == "":
		return nil, errors.New("profile: no process (PID) and no command (Path)")
	case opts.PID != 0 && opts.Path != "":
		return nil, errors.New("profile: a process (PID) and a command (Path): choose one")
	}
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("profile: sampled user registers are decoded for x86-64 only, not %s: %w", runtime.GOARCH, errors.ErrUnsupported)
	}
	l := &ProfileLink{prog: prog}
	l.exit.Store(-1)
	s := &l.sys
	s.pidfd, s.wakeR, s.wakeW = -1, -1, -1
	s.opened = map[int]bool{}
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("profile: pipe: %w", err)
	}
	s.wakeR, s.wakeW = pipe[0], pipe[1]
	var mask uint64
	for _, r := range profileRegs {
		mask |= 1 << r.perf
	}
	s.attr = unix.PerfEventAttr{
		Type:              unix.PERF_TYPE_SOFTWARE,
		Config:            unix.PERF_COUNT_SW_CPU_CLOCK,
		Sample:            uint64(time.Second) / uint64(freq),
		Sample_type:       profileSampleType,
		Bits:              unix.PerfBitInherit | unix.PerfBitExcludeHv | unix.PerfBitWatermark,
		Wakeup:            uint32(profileRingPages * os.Getpagesize() / 4),
		Sample_regs_user:  mask,
		Sample_stack_user: uint32(stack),
	}
	s.attr.Size = uint32(unsafe.Sizeof(s.attr))
	var err error
	if s.cpus, err = onlineCPUs(); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if opts.PID != 0 {
		l.target = "process " + strconv.Itoa(opts.PID)
		err = s.attachProcess(l, opts.PID)
	} else {
		l.target = strings.Join(opts.Args, " ")
		if l.target == "" {
			l.target = opts.Path
		}
		err = s.startCommand(l, opts)
	}
	if err != nil {
		s.release()
		return nil, err
	}
	sm := &sampler{l: l, opts: opts, tasks: map[uint32]*sampledTask{}, procs: map[uint32]*sampledProc{}}
	l.r.start(sm.loop, func() error { s.release(); return nil })
	return l, nil
}

// onlineCPUs reads the online CPUs (/sys/devices/system/cpu/online:
// "0-3,5").
func onlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		cpus := make([]int, runtime.NumCPU())
		for i := range cpus {
			cpus[i] = i
		}
		return cpus, nil
	}
	var cpus []int
	for part := range strings.SplitSeq(strings.TrimSpace(string(b)), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		z := a
		var err2 error
		if isRange {
			z, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || z < a {
			return nil, fmt.Errorf("/sys/devices/system/cpu/online: %q is not a CPU list", strings.TrimSpace(string(b)))
		}
		for c := a; c <= z; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// paranoid reads kernel.perf_event_paranoid, or "unknown".
func paranoid() string {
	b, err := os.ReadFile("/proc/sys/kernel/perf_event_paranoid")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// ProfilingAvailable tells whether AttachProfile can sample: it opens a
// software CPU clock event of the calling thread, user mode only, as
// perf_event_paranoid 2 allows, and closes it. The error is the one
// AttachProfile would give (naming kernel.perf_event_paranoid when
// refused).
func ProfilingAvailable() error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("profile: sampled user registers are decoded for x86-64 only, not %s: %w", runtime.GOARCH, errors.ErrUnsupported)
	}
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_CPU_CLOCK,
		Sample: 10_000_000, Bits: unix.PerfBitDisabled | unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return perfOpenError(err, 0, -1)
	}
	return unix.Close(fd)
}

// perfOpenError explains a failed perf_event_open of thread tid (0: the
// caller) on cpu (-1: any).
func perfOpenError(err error, tid, cpu int) error {
	switch {
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
		return fmt.Errorf("profile: perf_event_open of thread %d refused (%w): kernel.perf_event_paranoid is %s; sampling needs it at 2 or less (sysctl -w kernel.perf_event_paranoid=2), or CAP_PERFMON, or root", tid, err, paranoid())
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("profile: perf_event_open: this kernel has no software CPU clock events (%w)", err)
	}
	return fmt.Errorf("profile: perf_event_open of thread %d on CPU %d: %w", tid, cpu, err)
}

// openThread opens the events of a thread, one per CPU, each writing to
// its CPU's ring (made with the first thread's events). ESRCH (the
// thread is gone) is no error.
func (s *profileSys) openThread(l *ProfileLink, tid int) error {
	if s.opened[tid] {
		return nil
	}
	for i, cpu := range s.cpus {
		fd, err := unix.PerfEventOpen(&s.attr, tid, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) && s.attr.Bits&unix.PerfBitExcludeKernel == 0 {
			// Not allowed to sample the kernel: user mode only.
			s.attr.Bits |= unix.PerfBitExcludeKernel
			l.userOnly = true
			fd, err = unix.PerfEventOpen(&s.attr, tid, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		}
		switch {
		case errors.Is(err, unix.ESRCH):
			return nil
		case err != nil:
			return perfOpenError(err, tid, cpu)
		}
		s.fds = append(s.fds, fd)
		if len(s.rings) <= i {
			r, err := newProfileRing(fd)
			if err != nil {
				return err
			}
			s.rings = append(s.rings, r)
			continue
		}
		if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_OUTPUT, s.rings[i].fd); err != nil {
			return fmt.Errorf("profile: PERF_EVENT_IOC_SET_OUTPUT of thread %d on CPU %d: %w", tid, cpu, err)
		}
	}
	s.opened[tid] = true
	return nil
}

func newProfileRing(fd int) (*profileRing, error) {
	page := os.Getpagesize()
	mem, err := unix.Mmap(fd, 0, (1+profileRingPages)*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("profile: mmap of a perf event ring of %d pages: %w (the limit is kernel.perf_event_mlock_kb)", profileRingPages, err)
	}
	r := &profileRing{fd: fd, mem: mem, meta: (*unix.PerfEventMmapPage)(unsafe.Pointer(&mem[0]))}
	r.data = mem[page:]
	return r, nil
}

// attachProcess opens the events of every thread of a running process,
// again until a listing of its threads finds none new.
func (s *profileSys) attachProcess(l *ProfileLink, pid int) error {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("profile: no process %d", pid)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("profile: pidfd_open of process %d: %w", pid, err)
	}
	s.pidfd = fd
	for range 100 {
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return fmt.Errorf("profile: threads of process %d: %w", pid, err)
		}
		added := false
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || s.opened[tid] {
				continue
			}
			if err := s.openThread(l, tid); err != nil {
				return err
			}
			added = true
		}
		if !added {
			break
		}
	}
	if len(s.opened) == 0 {
		return fmt.Errorf("profile: process %d has no threads left", pid)
	}
	return nil
}

// startCommand starts the command stopped at its first instruction
// (PTRACE_TRACEME: the stop after execve), opens its events, inherited by
// all it starts, and lets it go.
func (s *profileSys) startCommand(l *ProfileLink, opts ProfileOptions) error {
	cmd := exec.Command(opts.Path)
	cmd.Args = opts.Args
	if len(cmd.Args) == 0 {
		cmd.Args = []string{opts.Path}
	}
	cmd.Dir, cmd.Env = opts.Dir, opts.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	started := make(chan error, 1)
	go func() {
		// The thread that starts the command is its tracer: the
		// requests must all come from it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("profile: start %s: %w%s", opts.Path, err, ptraceScopeHint(err))
			return
		}
		pid := cmd.Process.Pid
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			started <- fmt.Errorf("profile: %s did not stop at its start (%v, status %#x)", opts.Path, err, uint32(ws))
			return
		}
		err := s.openThread(l, pid)
		if err != nil {
			_ = cmd.Process.Kill()
		}
		if derr := unix.PtraceDetach(pid); derr != nil && err == nil {
			_ = cmd.Process.Kill()
			err = fmt.Errorf("profile: PTRACE_DETACH of %s: %w", opts.Path, derr)
		}
		if err != nil {
			_ = cmd.Wait()
		}
		started <- err
	}()
	if err := <-started; err != nil {
		return err
	}
	s.cmd = cmd
	s.waited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			code = 128 + int(st.Signal())
		}
		l.exit.Store(int64(code))
		close(s.waited)
		s.wake()
	}()
	return nil
}

// ended tells whether the target has exited.
func (s *profileSys) ended() bool {
	if s.waited != nil {
		select {
		case <-s.waited:
			return true
		default:
			return false
		}
	}
	fds := []unix.PollFd{{Fd: int32(s.pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// release closes every event and unmaps the rings.
func (s *profileSys) release() {
	for _, r := range s.rings {
		_ = unix.Munmap(r.mem)
	}
	s.rings = nil
	for _, fd := range s.fds {
		_ = unix.Close(fd)
	}
	s.fds = nil
	if s.pidfd >= 0 {
		_ = unix.Close(s.pidfd)
		s.pidfd = -1
	}
	s.wakeMu.Lock()
	if !s.wakeClosed {
		s.wakeClosed = true
		_ = unix.Close(s.wakeR)
		_ = unix.Close(s.wakeW)
	}
	s.wakeMu.Unlock()
}

// sampler runs the program on the samples of the rings.
type sampler struct {
	l     *ProfileLink
	ctx   context.Context // the loop's: Close stops a run in progress
	opts  ProfileOptions
	data  [perfCtxSize]byte // the program's context
	tasks map[uint32]*sampledTask
	procs map[uint32]*sampledProc
	rec   []byte // a record that wraps around the ring's end, copied
}

// sampledTask is what the sampler knows of a thread.
type sampledTask struct{ comm string }

// sampledProc is what it knows of a process.
type sampledProc struct{ uid, gid, ppid uint32 }

func (sm *sampler) loop(ctx context.Context) error {
	sm.ctx = ctx
	s := &sm.l.sys
	stop := context.AfterFunc(ctx, s.wake)
	defer stop()
	// The poll waits for a ring a quarter full (the events' watermark),
	// the wake pipe, the process's pidfd, or the timeout.
	fds := make([]unix.PollFd, 0, len(s.rings)+2)
	for _, r := range s.rings {
		fds = append(fds, unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN})
	}
	fds = append(fds, unix.PollFd{Fd: int32(s.wakeR), Events: unix.POLLIN})
	if s.pidfd >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(s.pidfd), Events: unix.POLLIN})
	}
	var junk [64]byte
	for {
		if _, err := unix.Poll(fds, int(profilePoll/time.Millisecond)); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("profile: poll: %w", err)
		}
		for i := range s.rings {
			// A ring whose event's thread has exited polls as hung up
			// from then on: the other threads' samples still come into
			// it, found by the timeout and the other rings' wake-ups.
			if fds[i].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				fds[i].Fd = -1
			}
		}
		for {
			if n, err := unix.Read(s.wakeR, junk[:]); n <= 0 || err != nil {
				break
			}
		}
		if ctx.Err() != nil {
			if s.cmd != nil {
				// Close kills the command it started.
				_ = s.cmd.Process.Kill()
				<-s.waited
			}
			// The samples still in the rings run, without the
			// cancelled context (their budget and timeout bound them).
			sm.ctx = nil
			sm.drain()
			return ctx.Err()
		}
		done := s.ended()
		sm.drain()
		if done {
			return nil
		}
	}
}

// drain runs the program on every record waiting in the rings.
func (sm *sampler) drain() {
	for _, r := range sm.l.sys.rings {
		head := atomic.LoadUint64(&r.meta.Data_head)
		tail := r.meta.Data_tail
		size := uint64(len(r.data))
		for tail+8 <= head {
			off := tail % size
			var hdr [8]byte
			sm.copyRing(r, off, hdr[:])
			typ := binary.NativeEndian.Uint32(hdr[0:])
			n := uint64(binary.NativeEndian.Uint16(hdr[6:]))
			if n < 8 || tail+n > head {
				break
			}
			var rec []byte
			if off+n <= size {
				rec = r.data[off : off+n]
			} else {
				if uint64(cap(sm.rec)) < n {
					sm.rec = make([]byte, n)
				}
				rec = sm.rec[:n]
				sm.copyRing(r, off, rec)
			}
			switch typ {
			case unix.PERF_RECORD_SAMPLE:
				sm.sample(rec[8:])
			case unix.PERF_RECORD_LOST:
				if len(rec) >= 24 {
					sm.l.c.lost.Add(binary.NativeEndian.Uint64(rec[16:]))
				}
			}
			tail += n
		}
		atomic.StoreUint64(&r.meta.Data_tail, tail)
	}
}

// copyRing copies len(p) bytes of the ring from off, around its end.
func (sm *sampler) copyRing(r *profileRing, off uint64, p []byte) {
	n := copy(p, r.data[off:])
	copy(p[n:], r.data)
}

// perfSample is a sample record's body, parsed.
type perfSample struct {
	ip, period uint64 // the sampled instruction (a kernel one in the kernel), the period
	tgid, tid  uint32
	userRegs   bool   // the thread had a user context (abi != NONE)
	regs       []byte // the user registers, in profileRegs' order
	stack      []byte // the copy of the user stack from sp (its valid part)
}

// parseSample parses a sample's body: ip, pid, tid, period, the user
// registers (abi, then the registers), the user stack (size, data,
// dynamic size); false when it is too short for its fields.
func parseSample(b []byte) (perfSample, bool) {
	var p perfSample
	regsEnd := 32 + 8*len(profileRegs)
	if len(b) < 32 {
		return p, false
	}
	u64 := func(off int) uint64 { return binary.NativeEndian.Uint64(b[off:]) }
	p.ip = u64(0)
	p.tgid = binary.NativeEndian.Uint32(b[8:])
	p.tid = binary.NativeEndian.Uint32(b[12:])
	p.period = u64(16)
	off := 32
	if u64(24) != unix.PERF_SAMPLE_REGS_ABI_NONE {
		if len(b) < regsEnd {
			return p, false
		}
		p.userRegs = true
		p.regs = b[32:regsEnd]
		off = regsEnd
	}
	if len(b) < off+8 {
		return p, false
	}
	size := u64(off)
	off += 8
	if size == 0 {
		return p, true
	}
	if size > uint64(len(b)-off) || uint64(len(b)-off)-size < 8 {
		return p, false
	}
	dyn := min(u64(off+int(size)), size)
	p.stack = b[off : off+int(dyn)]
	return p, true
}

// sample runs the program on one sample's body.
func (sm *sampler) sample(b []byte) {
	c := &sm.l.c
	p, ok := parseSample(b)
	if !ok {
		return
	}
	if !p.userRegs {
		c.noRegs.Add(1)
		return
	}
	tgid, tid, stack := p.tgid, p.tid, p.stack
	clear(sm.data[:])
	var ur helper.UserRegs
	for i, r := range profileRegs {
		v := binary.NativeEndian.Uint64(p.regs[8*i:])
		binary.NativeEndian.PutUint64(sm.data[r.ptRegs:], v)
		switch r.perf {
		case perfRegIP:
			ur.IP = v
		case perfRegSP:
			ur.SP = v
		case perfRegBP:
			ur.BP = v
		}
	}
	binary.NativeEndian.PutUint64(sm.data[perfCtxPeriod:], p.period)
	if p.ip != ur.IP {
		c.kernel.Add(1)
	}
	if sm.opts.Sampled != nil {
		sm.opts.Sampled(tgid, tid, ur.IP)
	}
	task := sm.task(tgid, tid)
	task.Regs = &ur
	task.Memory = &sampleMemory{sp: ur.SP, stack: stack, rest: notify.Memory{PID: int(tgid)}}
	start := time.Now()
	_, err := sm.l.prog.Run(&waggle.RunOptions{Context: sm.data[:], Task: task, Budget: sm.opts.Budget, Timeout: sm.opts.Timeout, Cancel: sm.ctx})
	d := time.Since(start)
	c.samples.Add(1)
	if err != nil {
		c.runErrors.Add(1)
		if sm.opts.Observer != nil {
			sm.opts.Observer.ObserveError(d)
		}
		return
	}
	if sm.opts.Observer != nil {
		sm.opts.Observer.ObserveRun("sampled", d)
	}
}

// task gives the helper.Task of a thread, its name and its process's
// IDs read from /proc at its first sample.
func (sm *sampler) task(tgid, tid uint32) *helper.Task {
	t := sm.tasks[tid]
	if t == nil {
		t = &sampledTask{}
		if st, err := notify.ReadStatus(tid); err == nil {
			t.comm = st.Comm
		}
		sm.tasks[tid] = t
		sm.l.c.threads.Add(1)
	}
	p := sm.procs[tgid]
	if p == nil {
		p = &sampledProc{}
		if st, err := notify.ReadStatus(tgid); err == nil {
			p.uid, p.gid, p.ppid = st.UID, st.GID, st.PPID
			if t.comm == "" {
				t.comm = st.Comm
			}
		}
		sm.procs[tgid] = p
		sm.l.c.processes.Add(1)
	}
	return &helper.Task{PID: tid, TGID: tgid, UID: p.uid, GID: p.gid, Comm: t.comm, PPID: p.ppid}
}

// sampleMemory is a sampled thread's memory: the sample's copy of its
// stack from sp, then the process's memory (process_vm_readv) for
// everything else.
type sampleMemory struct {
	sp    uint64
	stack []byte
	rest  notify.Memory
}

// ReadAt reads from the stack copy what it holds, the rest from the
// process.
func (m *sampleMemory) ReadAt(p []byte, off int64) (int, error) {
	addr := uint64(off)
	end := m.sp + uint64(len(m.stack))
	if addr >= m.sp && addr < end {
		n := copy(p, m.stack[addr-m.sp:])
		if n == len(p) {
			return n, nil
		}
		k, err := m.rest.ReadAt(p[n:], int64(end))
		return n + k, err
	}
	return m.rest.ReadAt(p, off)
}
