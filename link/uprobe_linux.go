//go:build linux && amd64

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
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/notify"
	"github.com/waggle-ebpf/waggle/internal/symtab"
)

// How uprobes work here (see docs/ARCHITECTURE.md, "The uprobe hook"):
// waggle is the process's ptrace tracer and writes an int3 over the
// first byte of each probed instruction. A thread that reaches one stops
// with SIGTRAP; waggle runs the entry programs on its registers (a struct
// pt_regs, ip the probed address, as the kernel's), then executes the
// displaced instruction: it emulates the usual first instructions of a
// function (push REG, mov %rsp,%rbp, a 64-bit mov from a rip-relative
// address, endbr64, nops) on the registers, as
// the kernel's uprobes emulate some, and single-steps any other with the
// original byte back in place while every other thread of the process is
// stopped, so that none runs past the missing breakpoint. Where the first
// instructions can move, they run out of line instead, and a jmp to a
// slot that starts with the int3 replaces them (uprobe_xol_linux.go):
// no emulation, no step, no register write. Return probes
// replace the return address at [rsp] with the process's entry point
// (AT_ENTRY, _start, which runs once at the start and never again),
// where an int3 stays; a per-thread shadow stack holds the original
// return addresses and the stack pointers they were taken at, so
// recursion returns right and frames that longjmp skipped are dropped.

// uprobeOptions: every new thread and process traced, exec events.
const uprobeOptions = unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC

// uprobePoint is a Uprobe resolved in its file.
type uprobePoint struct {
	u          Uprobe
	file       string // the file's path (a library's found by name when the process maps it)
	off        uint64 // the file offset of the probed instruction
	fnOff      uint64 // the file offset of its function
	fnSize     uint64 // the function's size (0: unknown)
	noRegs     bool   // the program reads no registers (needsRegs is false); false: it may
	runs, errs atomic.Uint64
	cookie     uint64     // the runs' attach cookie (bpf_get_attach_cookie)
	usdt       *usdtPoint // a USDT site's, or nil
}

// insnKind is how the displaced instruction is executed.
type insnKind uint8

const (
	insnStep   insnKind = iota // single-stepped, the other threads stopped
	insnNop                    // endbr64, nops: only rip moves
	insnPush                   // push REG
	insnMovRBP                 // mov %rsp,%rbp
	insnMovRIP                 // mov disp32(%rip),REG (64-bit)
)

// breakpoint is an int3 in a process's memory.
type breakpoint struct {
	addr   uint64
	orig   byte
	kind   insnKind
	length uint64 // of the displaced instruction, when emulated
	reg    int    // push, mov: the register's number (0 rax ... 15 r15)
	disp   int64  // mov disp32(%rip): the displacement
	entry  []*uprobePoint
	ret    []*uprobePoint
	xol    *xolSite // the displaced instructions run out of line (bps has it at its slot too)
}

// space is one address space: a process, with its breakpoints.
type space struct {
	tgid   int
	bps    map[uint64]*breakpoint
	entry  uint64 // AT_ENTRY: the trampoline of return probes
	armed  bool   // the probes are in; before, the only int3 is at entry
	status notify.Status
	sems   []uint64   // the USDT semaphores incremented (usdt_linux.go)
	xol    []*xolPage // pages of out-of-line code
	// xolFound: pages that an earlier attach left were looked for.
	xolFound bool
	// ripOnly: every breakpoint runs out of line, has no return probe,
	// and no program of its reads registers: a hit reads rip alone.
	ripOnly bool
}

// retFrame is a pending return of a probed function.
type retFrame struct {
	sp  uint64 // rsp at the entry: the return address is at [sp]
	ret uint64 // the original return address
	bp  *breakpoint
}

// uthread is a traced thread.
type uthread struct {
	tid     int
	sp      *space
	shadow  []retFrame
	running bool
	fresh   bool // its first stop, which is swallowed, has not come yet
	sig     int  // a signal to deliver when it is next resumed
}

// event is a thread's stop or end, waited for and not yet served.
type event struct {
	tid int
	ws  unix.WaitStatus
}

// uprobeTracer serves the process's stops on one locked OS thread.
type uprobeTracer struct {
	probes  []*uprobePoint
	opts    Runs
	started chan error
	done    chan struct{}
	detach  atomic.Bool
	// detached is closed once every thread was let go.
	detached chan struct{}
	code     atomic.Int64
	leader   int // the process started or attached to
	cmd      *exec.Cmd

	threads map[int]*uthread
	newborn map[int]event // first stops of threads whose creator's event has not come yet
	parents map[int]*uthread
	forked  map[int]bool // the children that are processes (fork, vfork), not threads
	queue   []event      // stops taken out of order, served before waiting again
	task    helper.Task
	mem     notify.Memory
	regsBuf helper.UserRegs

	hits, returns, stepped atomic.Uint64
	xolPlaced              atomic.Uint64        // sites whose instructions run out of line
	fileCode               map[string]*fileCode // files' executable code (enteredFromOutside)
	ripOnlyHits            atomic.Uint64        // hits that read rip alone (space.ripOnly)
	handling               atomic.Int64

	specs []specID  // the USDT spec IDs taken (usdt_linux.go), freed by Close
	ips   []ipEntry // the USDT IP map entries written, deleted by Close
}

func (t *uprobeTracer) exitCode() int { return int(t.code.Load()) }

func (t *uprobeTracer) programs() []*waggle.Program {
	var out []*waggle.Program
	seen := map[*waggle.Program]bool{}
	for _, p := range t.probes {
		if !seen[p.u.Program] {
			seen[p.u.Program] = true
			out = append(out, p.u.Program)
		}
	}
	return out
}

func (t *uprobeTracer) stats() UprobeStats {
	st := UprobeStats{Hits: t.hits.Load(), Returns: t.returns.Load(), Stepped: t.stepped.Load(), Handling: time.Duration(t.handling.Load())}
	for i, p := range t.probes {
		if p.usdt != nil {
			t.usdtStats(&st, i)
			continue
		}
		kind := "uprobe"
		if p.u.Return {
			kind = "uretprobe"
		}
		at := p.u.Path + ":" + p.u.Symbol
		if p.u.Offset != 0 {
			at += fmt.Sprintf("+%#x", p.u.Offset)
		}
		st.Programs = append(st.Programs, UprobeProgram{Name: p.u.Program.Name(), Attach: kind + "/" + at, Runs: p.runs.Load(), Errors: p.errs.Load()})
	}
	return st
}

// AttachUprobe runs uprobe and uretprobe programs (ebpf.Kprobe, as in
// the kernel) on functions of a process: a running one (opts.PID) or a
// command it starts (opts.Path), stopped before its first instruction
// and probed once the dynamic loader has mapped its libraries (at its
// entry point). Every thread runs the probes, and so do the threads and
// processes it starts (an executed program is probed again if it maps a
// probed file). Programs get the thread's registers as a struct pt_regs
// (PT_REGS_PARM1, PT_REGS_RC) and the thread as their task (its IDs,
// name, registers and memory for bpf_probe_read_user). Each probe costs a
// ptrace stop. Symbols are resolved before anything starts: a missing
// file or symbol, or a process waggle may not ptrace, is an error and
// the process is left untouched. Libraries that the process loads later
// (dlopen) are not probed.
func AttachUprobe(opts UprobeOptions) (*UprobeLink, error) {
	if len(opts.Probes) == 0 && len(opts.USDT) == 0 {
		return nil, errors.New("attach uprobe: no probes")
	}
	if (opts.PID == 0) == (opts.Path == "") {
		return nil, errors.New("attach uprobe: give a process (PID) or a command (Path), one of them")
	}
	if opts.PID < 0 {
		return nil, fmt.Errorf("attach uprobe: no process %d", opts.PID)
	}
	var maps []symtab.Mapping
	if opts.PID > 0 {
		var err error
		if maps, err = symtab.ReadMaps(opts.PID); err != nil {
			return nil, fmt.Errorf("attach uprobe: process %d: %w", opts.PID, err)
		}
	}
	t := &uprobeTracer{opts: opts.Runs, started: make(chan error, 1), done: make(chan struct{}), detached: make(chan struct{}),
		threads: map[int]*uthread{}, newborn: map[int]event{}, parents: map[int]*uthread{}, forked: map[int]bool{}}
	t.code.Store(-1)
	for _, u := range opts.Probes {
		if u.Program == nil {
			return nil, errors.New("attach uprobe: a probe without a program")
		}
		if u.Program.Type() != ebpf.Kprobe {
			return nil, fmt.Errorf("attach uprobe: program %s is of type %s; uprobes are ebpf.Kprobe programs (SEC(\"uprobe/...\"))", u.Program.Name(), u.Program.Type())
		}
		if u.Return && u.Offset != 0 {
			return nil, fmt.Errorf("attach uprobe: program %s: a uretprobe takes no offset", u.Program.Name())
		}
		file, err := symtab.FindLibrary(maps, u.Path)
		if err != nil && !strings.Contains(u.Path, "/") {
			// Not a library the process maps or the loader finds: a
			// command's name, in PATH.
			if p, lerr := exec.LookPath(u.Path); lerr == nil {
				file, err = p, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("attach uprobe: program %s: %w", u.Program.Name(), err)
		}
		sym, err := symtab.Resolve(file, u.Symbol)
		if err != nil {
			return nil, fmt.Errorf("attach uprobe: program %s: %w", u.Program.Name(), err)
		}
		if sym.Size != 0 && u.Offset >= sym.Size {
			return nil, fmt.Errorf("attach uprobe: program %s: offset %#x is past the end of %s (%d bytes)", u.Program.Name(), u.Offset, u.Symbol, sym.Size)
		}
		t.probes = append(t.probes, &uprobePoint{u: u, file: file, off: sym.Offset + u.Offset, cookie: u.Cookie,
			fnOff: sym.Offset, fnSize: sym.Size, noRegs: !needsRegs(u.Program.Instructions())})
	}
	if err := t.addUSDT(opts.USDT, maps); err != nil {
		t.releaseSpecs()
		return nil, fmt.Errorf("attach uprobe: %w", err)
	}
	l := &UprobeLink{t: t}
	if opts.PID > 0 {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", opts.PID))
		if err != nil {
			t.releaseSpecs()
			return nil, fmt.Errorf("attach uprobe: %w", err)
		}
		t.leader = opts.PID
		l.target = fmt.Sprintf("process %d (%s)", opts.PID, strings.TrimSpace(string(comm)))
		goTracer(func() { t.loop(nil) })
	} else {
		path, err := exec.LookPath(opts.Path)
		if err != nil {
			t.releaseSpecs()
			return nil, fmt.Errorf("attach uprobe: %w", err)
		}
		args := opts.Args
		if len(args) == 0 {
			args = []string{opts.Path}
		}
		cmd := &exec.Cmd{Path: path, Args: args, Env: opts.Env, Dir: opts.Dir, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}
		l.target = strings.Join(args, " ")
		goTracer(func() { t.loop(cmd) })
	}
	if err := <-t.started; err != nil {
		<-t.done
		t.releaseSpecs()
		return nil, fmt.Errorf("attach uprobe: %s: %w", l.target, err)
	}
	l.pid = t.leader
	// Close frees the USDT spec IDs and IP map entries, once the tracer
	// has ended: they stay for the maps' readers until then, as a
	// libbpf link's do until it is destroyed.
	l.r.start(t.wait, func() error { t.releaseSpecs(); return nil })
	return l, nil
}

// wait ends when every traced thread has exited, or detaches when ctx
// is cancelled (and then waits for a started command to exit).
func (t *uprobeTracer) wait(ctx context.Context) error {
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
	}
	t.detach.Store(true)
	// Wake the tracer out of wait4: a signal stops a traced thread; the
	// tracer knows it for waggle's (wakeSignal) and drops it. One is
	// enough (the tracer checks the flag before it waits); another goes
	// only if the tracer has not finished after a while.
	for {
		_ = unix.Kill(t.leader, unix.SIGCHLD)
		select {
		case <-t.done:
			return ctx.Err()
		case <-t.detached:
			// Detached: no more signals (a started command may run on
			// for long, untraced; Close waits for it).
			<-t.done
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// wakeSignal reports whether the signal of a signal-delivery stop is
// waggle's own SIGCHLD (sent by wait to wake the tracer): it is dropped,
// never delivered.
func wakeSignal(info *unix.Siginfo) bool {
	b := (*[128]byte)(unsafe.Pointer(info))
	return info.Signo == int32(unix.SIGCHLD) && info.Code == 0 && // SI_USER
		int(binary.NativeEndian.Uint32(b[16:])) == os.Getpid()
}

// loop starts cmd (or attaches to t.leader), puts the probes in and
// serves the stops.
func (t *uprobeTracer) loop(cmd *exec.Cmd) {
	runtime.LockOSThread() // every ptrace request comes from this thread
	defer close(t.done)
	if cmd != nil {
		if err := t.start(cmd); err != nil {
			t.started <- err
			return
		}
	} else if err := t.attach(); err != nil {
		t.started <- err
		return
	}
	defer func() {
		if t.cmd != nil {
			// The command's output goroutines end with Wait (the process
			// itself was reaped here).
			_ = t.cmd.Wait()
		}
	}()
	for len(t.threads) > 0 || len(t.newborn) > 0 {
		if t.detach.Load() {
			t.detachAll()
			close(t.detached)
			break
		}
		var ev event
		if len(t.queue) > 0 {
			ev, t.queue = t.queue[0], t.queue[1:]
		} else {
			tid, err := waitStop(&ev.ws)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				break
			}
			ev.tid = tid
		}
		t.serve(ev)
	}
	if cmd != nil && t.code.Load() < 0 {
		// Detached from the command: it is still waggle's child.
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(t.leader, &ws, 0, nil)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		t.setCode(ws)
	}
}

func (t *uprobeTracer) setCode(ws unix.WaitStatus) {
	switch {
	case ws.Signaled():
		t.code.Store(int64(128 + int(ws.Signal())))
	case ws.Exited():
		t.code.Store(int64(ws.ExitStatus()))
	}
}

// uprobeExecEnv hands AttachUprobe's shim the command to execute.
const uprobeExecEnv = "WAGGLE_UPROBE_EXEC"

// The shim of AttachUprobe: a process started from this executable with
// uprobeExecEnv set waits (reading file descriptor 3) until waggle has
// seized its threads, then executes the command. So the command is
// traced from its first instruction with PTRACE_SEIZE (whose
// PTRACE_INTERRUPT stops a thread without a signal), not PTRACE_TRACEME.
// Package init runs on the main thread, whose ID becomes the command's.
func init() {
	path, ok := os.LookupEnv(uprobeExecEnv)
	if !ok {
		return
	}
	os.Unsetenv(uprobeExecEnv)
	unix.CloseOnExec(3)
	var b [1]byte
	if n, _ := unix.Read(3, b[:]); n != 1 {
		os.Exit(126) // waggle is gone
	}
	err := syscall.Exec(path, os.Args, os.Environ())
	fmt.Fprintf(os.Stderr, "waggle: execute %s: %v\n", path, err)
	os.Exit(126)
}

// start starts the command through the shim, seizes it, lets it execute
// the command and sets a breakpoint at the command's entry point, where
// the probes go in; it returns once they are in.
func (t *uprobeTracer) start(cmd *exec.Cmd) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this executable, which starts the command: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	defer w.Close()
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env[:len(env):len(env)], uprobeExecEnv+"="+cmd.Path)
	cmd.Path = self
	cmd.ExtraFiles = []*os.File{r}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	pid := cmd.Process.Pid
	t.leader, t.cmd = pid, cmd
	r.Close()
	fail := func(err error) error {
		_ = cmd.Process.Kill()
		for t.threads[pid] != nil {
			var ws unix.WaitStatus
			tid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
			if err != nil && !errors.Is(err, unix.EINTR) {
				break
			}
			if tid == pid && (ws.Exited() || ws.Signaled()) {
				break
			}
		}
		t.threads = map[int]*uthread{}
		return err
	}
	tids, err := seizeThreads(pid, uprobeOptions|unix.PTRACE_O_EXITKILL)
	if err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	shim := &space{tgid: pid, bps: map[uint64]*breakpoint{}, armed: true}
	for tid := range tids {
		t.threads[tid] = &uthread{tid: tid, sp: shim, running: true}
	}
	if _, err := w.Write([]byte{1}); err != nil {
		return fail(fmt.Errorf("start: %w", err))
	}
	// Serve stops until the command's probes are in, or it ended.
	for {
		th := t.threads[pid]
		if th != nil && th.sp != shim && th.sp.armed {
			break
		}
		ev := event{}
		tid, err := waitStop(&ev.ws)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("the command ended before its entry point: %w", err)
		}
		ev.tid = tid
		if tid == pid && (ev.ws.Exited() || ev.ws.Signaled()) {
			t.setCode(ev.ws)
			t.threads = map[int]*uthread{}
			return fmt.Errorf("the command ended before its entry point (status %d)", t.code.Load())
		}
		if th != nil && th.sp != shim {
			if err := t.serveStart(ev, th); err != nil {
				return fail(err)
			}
			continue
		}
		if tid == pid && ev.ws.Stopped() && ev.ws.TrapCause() == unix.PTRACE_EVENT_EXEC {
			// The shim's own execve may still have been under way when
			// its threads were seized: its exec comes while the byte
			// that releases it is still in the pipe.
			if n, err := unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ); err == nil && n > 0 {
				if th != nil {
					t.resume(th, 0)
				}
				continue
			}
		}
		t.serve(ev)
	}
	t.started <- nil
	return nil
}

// serveStart serves a stop before the entry point: the entry's
// breakpoint puts the probes in (an error then stops everything).
func (t *uprobeTracer) serveStart(ev event, th *uthread) error {
	if ev.tid == th.tid && ev.ws.Stopped() && ev.ws.StopSignal() == unix.SIGTRAP && ev.ws.TrapCause() <= 0 {
		var regs unix.PtraceRegs
		if err := ptraceRegs(unix.PTRACE_GETREGS, th.tid, &regs); err != nil {
			return err
		}
		if regs.Rip-1 == th.sp.entry && !th.sp.armed {
			th.running = false
			return t.arm(th, &regs, true)
		}
	}
	t.serve(ev)
	return nil
}

// attach seizes every thread of t.leader, stops them, puts the probes in
// and lets them go.
func (t *uprobeTracer) attach() error {
	tids, err := seizeThreads(t.leader, uprobeOptions)
	if err != nil {
		return err
	}
	for tid := range tids {
		t.threads[tid] = &uthread{tid: tid, running: true}
	}
	// Collect each thread's stop; other stops that come first are
	// served later.
	for tid := range tids {
		t.collect(t.threads[tid])
	}
	sp := &space{tgid: t.leader}
	for _, th := range t.threads {
		th.sp = sp
	}
	if err := t.prepare(sp, t.leader); err != nil {
		t.release(tids)
		return err
	}
	if err := t.insert(sp, t.leader, true); err != nil {
		releaseSemaphores(sp, t.leader) // the USDT semaphores set before the error
		t.release(tids)
		return err
	}
	sp.armed = true
	t.started <- nil
	for _, th := range t.threads {
		if !th.running && !t.queued(th.tid) {
			t.resume(th, 0)
		}
	}
	return nil
}

// release detaches from threads after a failed attach, before anything
// changed.
func (t *uprobeTracer) release(tids map[int]bool) {
	for tid := range tids {
		_ = ptraceReq(unix.PTRACE_DETACH, tid, 0, 0)
	}
	t.threads = map[int]*uthread{}
	t.queue = nil
}

func (t *uprobeTracer) queued(tid int) bool {
	for _, ev := range t.queue {
		if ev.tid == tid {
			return true
		}
	}
	return false
}

// collect makes a running thread stop (PTRACE_INTERRUPT) and waits for
// its stop; a stop other than the interrupt's is queued, to be served.
func (t *uprobeTracer) collect(th *uthread) {
	if !th.running {
		return
	}
	_ = ptraceReq(unix.PTRACE_INTERRUPT, th.tid, 0, 0)
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(th.tid, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		th.running = false
		if err != nil {
			return
		}
		if ws.Stopped() && ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_STOP {
			return
		}
		t.queue = append(t.queue, event{tid: th.tid, ws: ws})
		return
	}
}

// newSpace makes th's process (after its exec: a new image) a space
// whose probes go in at its entry point.
func (t *uprobeTracer) newSpace(th *uthread, tgid int) error {
	sp := &space{tgid: tgid, bps: map[uint64]*breakpoint{}}
	th.sp, th.shadow = sp, nil
	if err := t.prepare(sp, th.tid); err != nil {
		return err
	}
	orig, err := peekByte(th.tid, sp.entry)
	if err != nil {
		return fmt.Errorf("read the entry point %#x: %w", sp.entry, err)
	}
	sp.bps[sp.entry] = &breakpoint{addr: sp.entry, orig: orig}
	if err := pokeByte(th.tid, sp.entry, 0xcc); err != nil {
		return fmt.Errorf("breakpoint at the entry point %#x: %w", sp.entry, err)
	}
	return nil
}

// prepare reads a process's entry point and status.
func (t *uprobeTracer) prepare(sp *space, tid int) error {
	if sp.bps == nil {
		sp.bps = map[uint64]*breakpoint{}
	}
	auxv, err := os.ReadFile(fmt.Sprintf("/proc/%d/auxv", tid))
	if err != nil {
		return err
	}
	for i := 0; i+16 <= len(auxv); i += 16 {
		if binary.NativeEndian.Uint64(auxv[i:]) == atEntry {
			sp.entry = binary.NativeEndian.Uint64(auxv[i+8:])
		}
	}
	if sp.entry == 0 {
		return fmt.Errorf("process %d: no entry point (AT_ENTRY) in its auxiliary vector", tid)
	}
	sp.status, _ = notify.ReadStatus(uint32(tid))
	return nil
}

// arm puts the probes in when th reached the entry point of a new image
// (regs: at the breakpoint there), and executes the entry's instruction.
func (t *uprobeTracer) arm(th *uthread, regs *unix.PtraceRegs, first bool) error {
	sp := th.sp
	bp := sp.bps[sp.entry]
	if err := t.insert(sp, th.tid, first); err != nil {
		return err
	}
	sp.armed = true
	regs.Rip = sp.entry
	if !t.anyReturn() {
		// No return probes: the entry's int3 goes.
		delete(sp.bps, sp.entry)
		sp.ripOnly = ripOnly(sp)
		_ = pokeByte(th.tid, sp.entry, bp.orig)
		_ = ptraceRegs(unix.PTRACE_SETREGS, th.tid, regs)
		t.resume(th, 0)
		return nil
	}
	// The entry's own instruction runs once, now; the int3 stays as the
	// trampoline of return probes.
	t.stepOver(th, bp, regs)
	return nil
}

// insert writes the int3 of every probe whose file the process maps; an
// unmapped file is an error for the first process, and skipped in those
// it starts (another program may have been executed).
func (t *uprobeTracer) insert(sp *space, tid int, strict bool) error {
	maps, err := symtab.ReadMaps(tid)
	if err != nil {
		return err
	}
	if sp.bps[sp.entry] == nil && t.anyReturn() {
		orig, err := peekByte(tid, sp.entry)
		if err != nil {
			return fmt.Errorf("read the entry point %#x: %w", sp.entry, err)
		}
		sp.bps[sp.entry] = &breakpoint{addr: sp.entry, orig: orig}
	}
	type write struct {
		bp  *breakpoint
		new bool
	}
	var writes []write
	for _, p := range t.probes {
		file := p.file
		if !strings.Contains(p.u.Path, "/") {
			if f, err := symtab.FindLibrary(maps, p.u.Path); err == nil {
				file = f
			}
		}
		addr, err := symtab.Address(maps, file, p.off)
		if err != nil {
			if strict {
				return fmt.Errorf("program %s: %w", p.u.Program.Name(), err)
			}
			continue
		}
		if addr == sp.entry {
			return fmt.Errorf("program %s: %s is the process's entry point, which return probes use", p.u.Program.Name(), p.u.Symbol)
		}
		bp := sp.bps[addr]
		if bp == nil {
			var code [16]byte
			if _, err := unix.PtracePeekData(tid, uintptr(addr), code[:]); err != nil {
				if strict {
					return fmt.Errorf("program %s: read the code at %#x: %w", p.u.Program.Name(), addr, err)
				}
				continue
			}
			bp = &breakpoint{addr: addr, orig: code[0]}
			bp.kind, bp.length, bp.reg = decodeDisplaced(code[:])
			if bp.kind == insnMovRIP {
				bp.disp = int64(int32(binary.LittleEndian.Uint32(code[3:])))
			}
			sp.bps[addr] = bp
			writes = append(writes, write{bp, true})
		}
		if p.u.Return {
			bp.ret = append(bp.ret, p)
		} else {
			bp.entry = append(bp.entry, p)
		}
		if p.usdt != nil {
			if err := t.placeUSDT(sp, tid, p, addr, maps, file); err != nil && strict {
				return fmt.Errorf("program %s: %w", p.u.Program.Name(), err)
			}
		}
	}
	moving := make([]*breakpoint, len(writes))
	for i, w := range writes {
		moving[i] = w.bp
	}
	t.outOfLine(sp, tid, moving)
	for _, w := range writes {
		if w.bp.xol != nil {
			continue
		}
		if err := pokeByte(tid, w.bp.addr, 0xcc); err != nil {
			// Nothing of this image stays changed: the jmps and int3s
			// already written are undone.
			for _, u := range writes {
				restoreCode(tid, u.bp)
			}
			return fmt.Errorf("breakpoint at %#x: %w", w.bp.addr, err)
		}
	}
	if bp := sp.bps[sp.entry]; bp != nil && !sp.armed {
		if err := pokeByte(tid, sp.entry, 0xcc); err != nil {
			return fmt.Errorf("breakpoint at the entry point %#x: %w", sp.entry, err)
		}
	}
	sp.ripOnly = ripOnly(sp)
	return nil
}

func (t *uprobeTracer) anyReturn() bool {
	for _, p := range t.probes {
		if p.u.Return {
			return true
		}
	}
	return false
}

// decodeDisplaced says how the instruction in code runs: emulated (the
// usual first instructions of a function) or single-stepped.
func decodeDisplaced(code []byte) (insnKind, uint64, int) {
	switch {
	case code[0] >= 0x50 && code[0] <= 0x57: // push rax..rdi
		return insnPush, 1, int(code[0] - 0x50)
	case code[0] == 0x41 && code[1] >= 0x50 && code[1] <= 0x57: // push r8..r15
		return insnPush, 2, 8 + int(code[1]-0x50)
	case code[0] == 0x48 && code[1] == 0x89 && code[2] == 0xe5, code[0] == 0x48 && code[1] == 0x8b && code[2] == 0xec:
		return insnMovRBP, 3, 0
	case (code[0] == 0x48 || code[0] == 0x4c) && code[1] == 0x8b && code[2]&0xc7 == 0x05: // mov disp32(%rip),REG
		reg := int(code[2] >> 3 & 7)
		if code[0] == 0x4c {
			reg += 8
		}
		return insnMovRIP, 7, reg
	case code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa: // endbr64
		return insnNop, 4, 0
	case code[0] == 0x90:
		return insnNop, 1, 0
	case code[0] == 0x66 && code[1] == 0x90:
		return insnNop, 2, 0
	case code[0] == 0x0f && code[1] == 0x1f && code[2] == 0x00:
		return insnNop, 3, 0
	case code[0] == 0x0f && code[1] == 0x1f && code[2] == 0x40 && code[3] == 0x00:
		return insnNop, 4, 0
	case code[0] == 0x0f && code[1] == 0x1f && code[2] == 0x44 && code[3] == 0x00 && code[4] == 0x00:
		return insnNop, 5, 0
	case code[0] == 0x66 && code[1] == 0x0f && code[2] == 0x1f && code[3] == 0x44 && code[4] == 0x00 && code[5] == 0x00:
		return insnNop, 6, 0
	}
	return insnStep, 0, 0
}

// regPtr is register n (x86-64 numbering) of regs.
func regPtr(r *unix.PtraceRegs, n int) *uint64 {
	return [...]*uint64{&r.Rax, &r.Rcx, &r.Rdx, &r.Rbx, &r.Rsp, &r.Rbp, &r.Rsi, &r.Rdi,
		&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15}[n]
}

// serve serves one stop or end of a thread.
func (t *uprobeTracer) serve(ev event) {
	tid, ws := ev.tid, ev.ws
	th := t.threads[tid]
	if ws.Exited() || ws.Signaled() {
		if tid == t.leader {
			t.setCode(ws)
		}
		delete(t.threads, tid)
		delete(t.newborn, tid)
		return
	}
	if !ws.Stopped() {
		return
	}
	if th == nil {
		parent := t.parents[tid]
		if parent == nil {
			// Its creator's event comes later.
			t.newborn[tid] = ev
			return
		}
		t.adopt(tid, parent)
		th = t.threads[tid]
	}
	th.running = false
	if th.fresh {
		// A new thread's or process's first stop.
		th.fresh = false
		t.resume(th, 0)
		return
	}
	sig := ws.StopSignal()
	switch {
	case sig == unix.SIGTRAP && ws.TrapCause() > 0:
		t.event(th, ws.TrapCause())
		t.resume(th, 0)
	case sig == unix.SIGTRAP:
		t.trap(th)
	default:
		// A signal for the thread: deliver it. A group-stop (no
		// siginfo) is resumed.
		var info unix.Siginfo
		if ptraceGetSiginfo(tid, &info) != nil || wakeSignal(&info) {
			t.resume(th, 0)
		} else {
			t.resume(th, int(sig))
		}
	}
}

// adopt makes a new thread or process traced: a thread shares its
// creator's space; a process (fork, vfork) gets a copy of it with the
// same breakpoints (the memory is a copy) and of its creator's pending
// returns.
func (t *uprobeTracer) adopt(tid int, parent *uthread) {
	delete(t.parents, tid)
	th := &uthread{tid: tid, sp: parent.sp, fresh: true}
	if t.forked[tid] {
		delete(t.forked, tid)
		old := parent.sp
		sp := &space{tgid: tid, bps: make(map[uint64]*breakpoint, len(old.bps)), entry: old.entry, armed: old.armed, sems: old.sems[:len(old.sems):len(old.sems)]}
		for a, bp := range old.bps {
			sp.bps[a] = bp
		}
		for _, pg := range old.xol {
			sp.xol = append(sp.xol, &xolPage{base: pg.base, used: pg.used})
		}
		sp.ripOnly, sp.xolFound = old.ripOnly, old.xolFound
		sp.status, _ = notify.ReadStatus(uint32(tid))
		th.sp = sp
		th.shadow = append([]retFrame(nil), parent.shadow...)
	}
	t.threads[tid] = th
}

// event serves a ptrace event stop: clone, fork, vfork, exec.
func (t *uprobeTracer) event(th *uthread, cause int) {
	switch cause {
	case unix.PTRACE_EVENT_CLONE, unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK:
		msg, err := unix.PtraceGetEventMsg(th.tid)
		if err != nil {
			return
		}
		child := int(msg)
		if t.threads[child] != nil {
			return // seized while it started (seizeThreads)
		}
		if cause != unix.PTRACE_EVENT_CLONE {
			t.forked[child] = true
		} else if st, err := notify.ReadStatus(uint32(child)); err == nil && int(st.TGID) != th.sp.tgid {
			t.forked[child] = true // clone without CLONE_THREAD
		}
		t.parents[child] = th
		if ev, ok := t.newborn[child]; ok {
			delete(t.newborn, child)
			t.adopt(child, th)
			t.queue = append(t.queue, ev)
		}
	case unix.PTRACE_EVENT_EXEC:
		// A new image: its threads but this one are gone; this one now
		// has the process's ID. The probes go in at its entry point.
		msg, _ := unix.PtraceGetEventMsg(th.tid)
		if old := int(msg); old != th.tid {
			delete(t.threads, old)
		}
		tgid := th.tid
		if st, err := notify.ReadStatus(uint32(th.tid)); err == nil {
			tgid = int(st.TGID)
		}
		if err := t.newSpace(th, tgid); err != nil {
			th.sp = &space{tgid: tgid, bps: map[uint64]*breakpoint{}, armed: true}
		}
	}
}

// resume lets a stopped thread go, with signal sig (and one it was
// holding).
func (t *uprobeTracer) resume(th *uthread, sig int) {
	if sig == 0 {
		sig, th.sig = th.sig, 0
	}
	_ = ptraceResume(unix.PTRACE_CONT, th.tid, sig)
	th.running = true
}

// trap serves a SIGTRAP: a breakpoint of ours, or the process's own.
func (t *uprobeTracer) trap(th *uthread) {
	var regs unix.PtraceRegs
	sp := th.sp
	var err error
	if sp.ripOnly {
		regs.Rip, err = peekRIP(th.tid)
	} else {
		err = ptraceRegs(unix.PTRACE_GETREGS, th.tid, &regs)
	}
	if err != nil {
		t.resume(th, 0)
		return
	}
	bp := sp.bps[regs.Rip-1]
	if bp == nil {
		t.resume(th, int(unix.SIGTRAP)) // not ours
		return
	}
	start := time.Now()
	defer func() { t.handling.Add(int64(time.Since(start))) }()
	regs.Rip = bp.addr
	if bp.addr == sp.entry {
		if !sp.armed {
			if err := t.arm(th, &regs, false); err != nil {
				t.stepOver(th, bp, &regs)
			}
			return
		}
		t.returned(th, &regs)
		return
	}
	t.hits.Add(1)
	for _, p := range bp.entry {
		t.run(p, th, &regs, "entry")
	}
	if len(bp.ret) > 0 {
		t.pushReturn(th, bp, &regs)
	}
	if bp.xol != nil {
		// rip is at the moved instructions already.
		if sp.ripOnly {
			t.ripOnlyHits.Add(1)
		}
		t.resume(th, 0)
		return
	}
	switch bp.kind {
	case insnNop:
		regs.Rip += bp.length
	case insnMovRBP:
		regs.Rbp = regs.Rsp
		regs.Rip += bp.length
	case insnMovRIP:
		var b [8]byte
		if n, err := (notify.Memory{PID: th.tid}).ReadAt(b[:], int64(bp.addr+bp.length)+bp.disp); err != nil || n != 8 {
			t.stepOver(th, bp, &regs)
			return
		}
		*regPtr(&regs, bp.reg) = binary.LittleEndian.Uint64(b[:])
		regs.Rip += bp.length
	case insnPush:
		v := *regPtr(&regs, bp.reg)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		if _, err := unix.PtracePokeData(th.tid, uintptr(regs.Rsp-8), b[:]); err != nil {
			t.stepOver(th, bp, &regs)
			return
		}
		regs.Rsp -= 8
		regs.Rip += bp.length
	default:
		t.stepOver(th, bp, &regs)
		return
	}
	_ = ptraceRegs(unix.PTRACE_SETREGS, th.tid, &regs)
	t.resume(th, 0)
}

// pushReturn replaces the return address at [rsp] with the trampoline
// and remembers it.
func (t *uprobeTracer) pushReturn(th *uthread, bp *breakpoint, regs *unix.PtraceRegs) {
	var b [8]byte
	if _, err := unix.PtracePeekData(th.tid, uintptr(regs.Rsp), b[:]); err != nil {
		return
	}
	// Frames deeper than this one were left without returning
	// (longjmp, exceptions): forget them.
	for n := len(th.shadow); n > 0 && th.shadow[n-1].sp <= regs.Rsp; n-- {
		if th.shadow[n-1].sp == regs.Rsp && binary.LittleEndian.Uint64(b[:]) == th.sp.entry {
			break // a tail call into a probed function: both return together
		}
		th.shadow = th.shadow[:n-1]
	}
	th.shadow = append(th.shadow, retFrame{sp: regs.Rsp, ret: binary.LittleEndian.Uint64(b[:]), bp: bp})
	binary.LittleEndian.PutUint64(b[:], th.sp.entry)
	if _, err := unix.PtracePokeData(th.tid, uintptr(regs.Rsp), b[:]); err != nil {
		th.shadow = th.shadow[:len(th.shadow)-1]
	}
}

// returned serves a return to the trampoline: the frame whose return
// address was at rsp-8 returns to it, and its return programs run.
func (t *uprobeTracer) returned(th *uthread, regs *unix.PtraceRegs) {
	for len(th.shadow) > 0 && th.shadow[len(th.shadow)-1].sp+8 < regs.Rsp {
		th.shadow = th.shadow[:len(th.shadow)-1] // skipped by a longjmp
	}
	n := len(th.shadow)
	if n == 0 || th.shadow[n-1].sp+8 != regs.Rsp {
		// No pending return of ours: the entry point itself ran again.
		t.stepOver(th, th.sp.bps[th.sp.entry], regs)
		return
	}
	f := th.shadow[n-1]
	th.shadow = th.shadow[:n-1]
	regs.Rip = f.ret
	t.returns.Add(1)
	for _, p := range f.bp.ret {
		t.run(p, th, regs, "return")
	}
	_ = ptraceRegs(unix.PTRACE_SETREGS, th.tid, regs)
	t.resume(th, 0)
}

// run runs a probe's program on a thread's registers.
func (t *uprobeTracer) run(p *uprobePoint, th *uthread, regs *unix.PtraceRegs, verdict string) {
	ctx := unsafe.Slice((*byte)(unsafe.Pointer(regs)), ptRegsSize)
	st := th.sp.status
	t.mem = notify.Memory{PID: th.tid}
	t.regsBuf = helper.UserRegs{IP: regs.Rip, SP: regs.Rsp, BP: regs.Rbp}
	t.task = helper.Task{PID: uint32(th.tid), TGID: uint32(th.sp.tgid), UID: st.UID, GID: st.GID, Comm: st.Comm, PPID: st.PPID, Regs: &t.regsBuf, Memory: t.mem}
	if th.sp.ripOnly {
		t.task.Regs = nil // not read: no program of this process's needs them
	}
	var start time.Time
	if t.opts.Observer != nil {
		start = time.Now()
	}
	_, err := p.u.Program.Run(&waggle.RunOptions{Context: ctx, Task: &t.task, Budget: t.opts.Budget, Timeout: t.opts.Timeout, Cookie: p.cookie})
	var d time.Duration
	if t.opts.Observer != nil {
		d = time.Since(start)
	}
	if err != nil {
		p.errs.Add(1)
		if t.opts.Observer != nil {
			t.opts.Observer.ObserveError(d)
		}
		return
	}
	p.runs.Add(1)
	if t.opts.Observer != nil {
		t.opts.Observer.ObserveRun(verdict, d)
	}
}

// ptRegsSize is the size of the x86-64 struct pt_regs: the first 21
// words of struct user_regs_struct (unix.PtraceRegs), in the same order.
const ptRegsSize = 21 * 8

// stepOver executes the displaced instruction of bp in th (stopped at
// it, regs its registers with rip at bp): every other thread of the
// process is stopped, the original byte written back, th single-stepped,
// the int3 written again, and everyone let go.
func (t *uprobeTracer) stepOver(th *uthread, bp *breakpoint, regs *unix.PtraceRegs) {
	t.stepped.Add(1)
	var others []*uthread
	for _, o := range t.threads {
		if o != th && o.sp == th.sp && o.running {
			t.collect(o)
			others = append(others, o)
		}
	}
	regs.Rip = bp.addr
	_ = ptraceRegs(unix.PTRACE_SETREGS, th.tid, regs)
	_ = pokeByte(th.tid, bp.addr, bp.orig)
	gone := false
	for range 100 {
		if err := ptraceResume(unix.PTRACE_SINGLESTEP, th.tid, 0); err != nil {
			gone = true
			break
		}
		var ws unix.WaitStatus
		_, err := unix.Wait4(th.tid, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			if err == nil {
				t.queue = append(t.queue, event{tid: th.tid, ws: ws})
			}
			gone = true
			break
		}
		if ws.Stopped() && ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() <= 0 {
			break // stepped
		}
		if ws.Stopped() && ws.TrapCause() <= 0 {
			// A signal came first: hold it, deliver it once stepped.
			var info unix.Siginfo
			if ptraceGetSiginfo(th.tid, &info) == nil && !wakeSignal(&info) {
				th.sig = int(ws.StopSignal())
			}
		}
	}
	// The int3 goes back through a thread that is stopped.
	writer := th.tid
	if gone {
		for _, o := range others {
			writer = o.tid
			break
		}
	}
	_ = pokeByte(writer, bp.addr, 0xcc)
	if !gone {
		t.resume(th, 0)
	}
	for _, o := range others {
		if !t.queued(o.tid) {
			t.resume(o, 0)
		}
	}
}

// detachAll stops every thread, undoes what the probes changed and
// detaches: threads stopped at a breakpoint are put back before it,
// returns to the trampoline go where they were to go, the return
// addresses replaced on the stacks are written back, and the original
// bytes too.
func (t *uprobeTracer) detachAll() {
	for _, th := range t.threads {
		t.collect(th)
	}
	t.undoQueued()
	// A thread that executed an int3 just before its interrupt reported
	// the interrupt first (job control traps come before signals) and
	// still has the breakpoint's SIGTRAP pending: let it take the signal
	// (it stops at its delivery before any instruction), undo it, and
	// drop it, so that no SIGTRAP reaches the detached process.
	for _, th := range t.threads {
		for range 8 {
			if th.running || !sigtrapPending(th.tid) {
				break
			}
			if ptraceResume(unix.PTRACE_CONT, th.tid, 0) != nil {
				break
			}
			th.running = true
			var ws unix.WaitStatus
			for {
				if _, err := unix.Wait4(th.tid, &ws, unix.WALL, nil); !errors.Is(err, unix.EINTR) {
					break
				}
			}
			th.running = false
			t.queue = append(t.queue, event{tid: th.tid, ws: ws})
			t.undoQueued()
		}
	}
	// Threads inside out-of-line code: to the same instruction in the
	// original code.
	for _, th := range t.threads {
		leaveXOL(th)
	}
	// Pending returns: the original return addresses back on the stacks.
	for _, th := range t.threads {
		for i := len(th.shadow) - 1; i >= 0; i-- {
			f := th.shadow[i]
			var b [8]byte
			if _, err := unix.PtracePeekData(th.tid, uintptr(f.sp), b[:]); err != nil || binary.LittleEndian.Uint64(b[:]) != th.sp.entry {
				continue
			}
			binary.LittleEndian.PutUint64(b[:], f.ret)
			_, _ = unix.PtracePokeData(th.tid, uintptr(f.sp), b[:])
		}
		th.shadow = nil
	}
	// The original bytes, once per address space.
	done := map[*space]bool{}
	for _, th := range t.threads {
		if done[th.sp] {
			continue
		}
		done[th.sp] = true
		for _, bp := range th.sp.bps {
			restoreCode(th.tid, bp)
			if bp.xol != nil {
				// A signal frame of a thread interrupted between the
				// jmp and the slot's int3 returns to the int3: a nop
				// there now, the moved instructions run, unprobed.
				_ = pokeByte(th.tid, bp.xol.slot, 0x90)
			}
		}
		releaseSemaphores(th.sp, th.tid)
	}
	for _, th := range t.threads {
		_ = ptraceReq(unix.PTRACE_DETACH, th.tid, 0, uintptr(th.sig))
	}
	for tid := range t.newborn {
		_ = ptraceReq(unix.PTRACE_DETACH, tid, 0, 0)
	}
	t.threads = map[int]*uthread{}
	t.newborn = map[int]event{}
}

// undoQueued serves the stops queued while detaching: new threads are
// adopted (and then stopped), breakpoints undone (the thread put back
// before the int3, or sent to its return address from the trampoline),
// other signals kept for the detach, waggle's wake-up dropped.
func (t *uprobeTracer) undoQueued() {
	for len(t.queue) > 0 {
		ev := t.queue[0]
		t.queue = t.queue[1:]
		th := t.threads[ev.tid]
		if ev.ws.Exited() || ev.ws.Signaled() {
			if ev.tid == t.leader {
				t.setCode(ev.ws)
			}
			delete(t.threads, ev.tid)
			continue
		}
		if th == nil || !ev.ws.Stopped() {
			continue
		}
		sig := ev.ws.StopSignal()
		switch {
		case sig == unix.SIGTRAP && ev.ws.TrapCause() > 0:
			t.event(th, ev.ws.TrapCause())
			for tid, parent := range t.parents {
				if parent == th {
					t.adopt(tid, th)
					t.threads[tid].running = true
					t.collect(t.threads[tid])
				}
			}
		case sig == unix.SIGTRAP:
			var regs unix.PtraceRegs
			if ptraceRegs(unix.PTRACE_GETREGS, th.tid, &regs) != nil {
				break
			}
			bp := th.sp.bps[regs.Rip-1]
			if bp == nil {
				th.sig = int(unix.SIGTRAP)
				break
			}
			regs.Rip = bp.addr
			if bp.addr == th.sp.entry && th.sp.armed {
				n := len(th.shadow)
				for n > 0 && th.shadow[n-1].sp+8 < regs.Rsp {
					n--
				}
				if n > 0 && th.shadow[n-1].sp+8 == regs.Rsp {
					regs.Rip = th.shadow[n-1].ret
					n--
				}
				th.shadow = th.shadow[:n]
			}
			_ = ptraceRegs(unix.PTRACE_SETREGS, th.tid, &regs)
		default:
			var info unix.Siginfo
			if th.fresh {
				th.fresh = false
			} else if ptraceGetSiginfo(th.tid, &info) == nil && !wakeSignal(&info) {
				th.sig = int(sig)
			}
		}
	}
}

// sigtrapPending reports whether thread tid has a SIGTRAP pending
// (SigPnd of /proc/TID/status).
func sigtrapPending(tid int) bool { return signalPending(tid, unix.SIGTRAP) }

// signalPending reports whether thread tid has signal sig pending
// (SigPnd of /proc/TID/status).
func signalPending(tid int, sig unix.Signal) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(b), "\nSigPnd:\t")
	if !ok {
		return false
	}
	line, _, _ := strings.Cut(rest, "\n")
	mask, err := strconv.ParseUint(line, 16, 64)
	return err == nil && mask&(1<<(sig-1)) != 0
}

// peekByte reads one byte of a stopped tracee's memory.
func peekByte(tid int, addr uint64) (byte, error) {
	var b [1]byte
	_, err := unix.PtracePeekData(tid, uintptr(addr), b[:])
	return b[0], err
}

// pokeByte writes one byte of a stopped tracee's memory (code too:
// ptrace writes through the page's protection).
func pokeByte(tid int, addr uint64, v byte) error {
	_, err := unix.PtracePokeData(tid, uintptr(addr), []byte{v})
	return err
}

// atEntry is AT_ENTRY of the auxiliary vector: the program's entry point.
const atEntry = 9
