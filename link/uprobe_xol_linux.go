//go:build linux && amd64

package link

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/notify"
	"github.com/waggle-ebpf/waggle/internal/symtab"
)

// Probes out of line (see docs/ARCHITECTURE.md, "The uprobe hook"): when
// the first instructions at a probed address can move (planXOL), waggle
// maps a page into the process near the code (an mmap system call that
// a stopped thread executes for it, once per 2 GB of address space that
// has probes), and writes into a slot of that page an int3, the
// displaced instructions (rip-relative operands fixed up) and a jmp back
// to the instruction after them; the displaced instructions themselves
// become a jmp to the slot (and int3 padding, never executed). A thread
// that calls the function stops at the slot's int3 with its registers as
// at the probed address (a jmp changes none), rip already at the moved
// instructions: after the programs' runs it only needs PTRACE_CONT, no
// PTRACE_SETREGS, no write of its memory, no single step. Fork children
// inherit the page and the jmps; an exec drops both. Detaching writes
// the original instructions back, moves threads that are inside a slot
// to the same instruction in the original code, turns each slot's int3
// into a nop, and leaves the page mapped: nothing jumps to it any more,
// and a signal frame that interrupted a thread inside a slot (or
// between the jmp and the slot's int3) still returns into code that
// runs right and jumps back. A later attach finds the page by its header
// (slot 0) and uses its free slots.

// xolSlotSize is a slot's size: an int3, the moved instructions (at most
// jmpLen-1 bytes and one 15-byte instruction, short branches grown to
// their rel32 forms) and the jmp back.
const xolSlotSize = 64

// xolPageSize is the size of a page of slots.
const xolPageSize = 4096

// xolOff, when set, keeps every probe on an int3 (the single-stepped or
// emulated displaced instruction): for tests and the benchmark's
// comparison.
var xolOff bool

// xolSeccompCheckOff, when set, skips seccompLikeOurs: for the test of
// a filter's SIGSYS.
var xolSeccompCheckOff bool

// xolPage is a page of slots in a process.
type xolPage struct {
	base uint64
	used int // slots
}

// xolSite is a probe whose displaced instructions run out of line.
type xolSite struct {
	plan *xolPlan
	slot uint64 // the slot's int3; the moved instructions follow it
}

// outOfLine moves the displaced instructions of the new breakpoints bps
// of sp out of line where it can (see planXOL), tid a stopped thread of
// the process. A breakpoint that cannot move keeps its int3, which the
// caller writes. Every thread of the process must be stopped: one whose
// rip is inside a site's displaced instructions keeps that site on an
// int3.
func (t *uprobeTracer) outOfLine(sp *space, tid int, bps []*breakpoint) {
	if xolOff || len(bps) == 0 {
		return
	}
	var rips []uint64
	for _, th := range t.threads {
		if th.sp != sp {
			continue
		}
		if th.running {
			return
		}
		var regs unix.PtraceRegs
		if err := ptraceRegs(unix.PTRACE_GETREGS, th.tid, &regs); err != nil {
			return
		}
		rips = append(rips, regs.Rip)
	}
	// The injected mmap runs on a thread without a pending event.
	injector := t.threads[tid]
	if injector == nil || t.queued(tid) {
		injector = nil
		for _, th := range t.threads {
			if th.sp == sp && !t.queued(th.tid) {
				injector = th
				break
			}
		}
		if injector == nil {
			return
		}
	}
	mem := notify.Memory{PID: tid}
	addrs := make([]uint64, 0, len(bps)+1)
	for _, bp := range bps {
		addrs = append(addrs, bp.addr)
	}
	addrs = append(addrs, sp.entry)
	for _, bp := range bps {
		plan := planSite(mem, sp, bp)
		if plan == nil || t.enteredFromOutside(bp, plan) {
			continue
		}
		end := bp.addr + uint64(len(plan.orig))
		clash := false
		for _, a := range addrs {
			clash = clash || a > bp.addr && a < end
		}
		for _, rip := range rips {
			clash = clash || rip > bp.addr && rip < end
		}
		if clash {
			continue
		}
		slot, err := t.xolSlot(sp, injector, bp.addr, end)
		if err != nil {
			continue
		}
		moved, err := plan.relocate(slot + 1)
		if err != nil {
			continue
		}
		back, ok := jmpRel32(slot+1+uint64(len(moved)), end)
		if 1+len(moved)+len(back) > xolSlotSize {
			continue
		}
		to, ok2 := jmpRel32(bp.addr, slot)
		if !ok || !ok2 {
			continue
		}
		code := append(append([]byte{0xcc}, moved...), back...)
		if _, err := unix.PtracePokeData(tid, uintptr(slot), code); err != nil {
			continue
		}
		site := append(to, make([]byte, len(plan.orig)-jmpLen)...)
		for i := jmpLen; i < len(site); i++ {
			site[i] = 0xcc
		}
		if _, err := unix.PtracePokeData(tid, uintptr(bp.addr), site); err != nil {
			_, _ = unix.PtracePokeData(tid, uintptr(bp.addr), plan.orig)
			continue
		}
		bp.xol = &xolSite{plan: plan, slot: slot}
		sp.bps[slot] = bp
		t.xolPlaced.Add(1)
	}
}

// planSite reads the function of bp from the process's memory (mem, at
// its addresses) and plans its out-of-line execution; nil when it cannot
// move. The sites that sp already has out of line in the function (a
// jmp and int3s over their displaced instructions) and its int3s are
// read as the original code: a branch among another site's displaced
// instructions that lands inside bp's must be seen.
func planSite(mem io.ReaderAt, sp *space, bp *breakpoint) *xolPlan {
	var p *uprobePoint
	if len(bp.entry) > 0 {
		p = bp.entry[0]
	} else if len(bp.ret) > 0 {
		p = bp.ret[0]
	}
	if p == nil || p.fnSize == 0 || p.fnSize > 1<<20 || p.off < p.fnOff || p.off-p.fnOff >= p.fnSize {
		return nil
	}
	fnAddr := bp.addr - (p.off - p.fnOff)
	fn := make([]byte, p.fnSize)
	if n, err := mem.ReadAt(fn, int64(fnAddr)); err != nil || n != len(fn) {
		return nil
	}
	for _, o := range sp.bps {
		orig := []byte{o.orig}
		if o.xol != nil {
			orig = o.xol.plan.orig
		}
		for i, b := range orig {
			if a := o.addr + uint64(i); a >= fnAddr && a < fnAddr+uint64(len(fn)) {
				fn[a-fnAddr] = b
			}
		}
	}
	plan, err := planXOL(fn[bp.addr-fnAddr:], bp.addr, fn, fnAddr)
	if err != nil {
		return nil
	}
	return plan
}

// enteredFromOutside reports whether a branch of bp's file from outside
// its function lands inside the instructions that plan displaces
// (branchInto), or the file's code cannot be read to tell: the site
// stays on an int3.
func (t *uprobeTracer) enteredFromOutside(bp *breakpoint, plan *xolPlan) bool {
	var p *uprobePoint
	if len(bp.entry) > 0 {
		p = bp.entry[0]
	} else if len(bp.ret) > 0 {
		p = bp.ret[0]
	}
	if p == nil {
		return true
	}
	if t.fileCode == nil {
		t.fileCode = map[string]*fileCode{}
	}
	c := t.fileCode[p.file]
	if c == nil {
		c = readFileCode(p.file)
		t.fileCode[p.file] = c
	}
	for _, seg := range c.segs {
		if p.fnOff >= seg.off && p.fnOff < seg.off+uint64(len(seg.code)) {
			_, found := branchInto(seg.code, seg.off, p.fnOff, p.fnOff+p.fnSize, p.off, p.off+uint64(len(plan.orig)))
			return found
		}
	}
	return true
}

// fileCode is a file's executable segments, by file offset.
type fileCode struct {
	segs []codeSegment
}

type codeSegment struct {
	off  uint64
	code []byte
}

// readFileCode reads the executable PT_LOAD segments of the ELF file at
// path (none if it cannot be read).
func readFileCode(path string) *fileCode {
	c := &fileCode{}
	f, err := elf.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X == 0 || p.Filesz == 0 || p.Filesz > 1<<30 {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			continue
		}
		c.segs = append(c.segs, codeSegment{off: p.Off, code: b})
	}
	return c
}

// xolSlot returns a free slot of a page of sp from which a jmp rel32
// reaches [lo, hi) both ways, mapping a new page near them when no page
// has one.
func (t *uprobeTracer) xolSlot(sp *space, th *uthread, lo, hi uint64) (uint64, error) {
	if !sp.xolFound {
		// Pages that an earlier attach left (their used slots stay as
		// they are: a signal frame may still return into one).
		sp.xolFound = true
		sp.xol = append(sp.xol, findXOLPages(th.tid, sp.xol)...)
	}
	for _, pg := range sp.xol {
		if pg.used < xolPageSize/xolSlotSize && reaches(pg.base, pg.base+xolPageSize, lo, hi) {
			if err := writeXOLHeader(th.tid, pg.base, pg.used+1); err != nil {
				return 0, err
			}
			pg.used++
			return pg.base + uint64(pg.used-1)*xolSlotSize, nil
		}
	}
	base, err := t.mapXOLPage(sp, th, lo, hi)
	if err != nil {
		return 0, err
	}
	if err := writeXOLHeader(th.tid, base, 2); err != nil {
		return 0, err
	}
	sp.xol = append(sp.xol, &xolPage{base: base, used: 2})
	return base + xolSlotSize, nil
}

// xolMagic starts a page of slots: its slot 0 is a header, the magic
// then the number of slots in use (the header's included) as a
// little-endian uint64. A later attach to the process finds the page by
// it and goes on with its free slots.
var xolMagic = [16]byte{'w', 'a', 'g', 'g', 'l', 'e', ' ', 'x', 'o', 'l', ' ', 'p', 'a', 'g', 'e', 0}

// writeXOLHeader writes the header of the page at base: used slots.
func writeXOLHeader(tid int, base uint64, used int) error {
	b := binary.LittleEndian.AppendUint64(xolMagic[:], uint64(used))
	_, err := unix.PtracePokeData(tid, uintptr(base), b)
	return err
}

// findXOLPages finds the pages of slots that earlier attaches mapped into
// process tid (anonymous, r-x, one page, starting with xolMagic), but
// those in known.
func findXOLPages(tid int, known []*xolPage) []*xolPage {
	maps, err := symtab.ReadMaps(tid)
	if err != nil {
		return nil
	}
	var out []*xolPage
	for _, m := range maps {
		if m.End-m.Start != xolPageSize || m.Perms != "r-xp" || m.Path != "" || m.Inode != 0 || m.Offset != 0 {
			continue
		}
		dup := false
		for _, pg := range known {
			dup = dup || pg.base == m.Start
		}
		var b [24]byte
		if dup {
			continue
		}
		if _, err := unix.PtracePeekData(tid, uintptr(m.Start), b[:]); err != nil || [16]byte(b[:16]) != xolMagic {
			continue
		}
		if used := binary.LittleEndian.Uint64(b[16:]); used >= 1 && used <= xolPageSize/xolSlotSize {
			out = append(out, &xolPage{base: m.Start, used: int(used)})
		}
	}
	return out
}

// reach is how far a rel32 may go, with a margin.
const reach = 1<<31 - 1<<16

// reaches reports whether every address of [a, b) is within a rel32
// jump of every address of [lo, hi).
func reaches(a, b, lo, hi uint64) bool {
	return dist(a, hi) < reach && dist(b, lo) < reach
}

func dist(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// mapXOLPage maps a page for slots into sp's process, near [lo, hi): at
// the top of the nearest hole in its address space (so that no mapping
// that grows, the heap's or a stack's, loses room), by an mmap system
// call that th executes at the process's entry point.
func (t *uprobeTracer) mapXOLPage(sp *space, th *uthread, lo, hi uint64) (uint64, error) {
	if !xolSeccompCheckOff && !seccompLikeOurs(th.tid) {
		// A filter of its own might answer the injected mmap with a
		// kill: no page, int3s.
		return 0, fmt.Errorf("thread %d runs under seccomp filters that waggle does not", th.tid)
	}
	at, err := xolHole(th.tid, lo, hi)
	if err != nil {
		return 0, err
	}
	const mapFixedNoreplace = 0x100000
	got, err := t.injectSyscall(th, sp.entry, unix.SYS_MMAP,
		[6]uint64{at, xolPageSize, unix.PROT_READ | unix.PROT_EXEC, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | mapFixedNoreplace, ^uint64(0), 0})
	if err != nil {
		return 0, err
	}
	if !reaches(got, got+xolPageSize, lo, hi) {
		_, _ = t.injectSyscall(th, sp.entry, unix.SYS_MUNMAP, [6]uint64{got, xolPageSize})
		return 0, fmt.Errorf("the page for out-of-line code came at %#x, out of reach of %#x", got, lo)
	}
	return got, nil
}

// seccompLikeOurs reports whether thread tid runs under no seccomp
// filter, or under no more filters than waggle itself (those of a
// container, say, inherited by both: a command that waggle starts is
// probed before its own code could add one). A filter could answer
// the injected mmap with a signal (SIGSYS: injectSyscall fails and drops
// it), an error (no page), or a kill, which this check is for: a process
// with filters of its own keeps int3s. It reads "Seccomp:" and
// "Seccomp_filters:" (Linux 5.9) of /proc/PID/status.
func seccompLikeOurs(tid int) bool {
	mode, n, ok := seccompStatus(fmt.Sprintf("/proc/%d/status", tid))
	if ok && mode == 0 {
		return true
	}
	ownMode, own, ownOK := seccompStatus("/proc/self/status")
	return ok && ownOK && ownMode == mode && n >= 0 && own >= n
}

// seccompStatus reads the seccomp mode and the number of filters (-1
// when the kernel does not say) from a /proc status file.
func seccompStatus(path string) (mode, filters int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	field := func(name string) (int, bool) {
		_, rest, found := strings.Cut(string(b), "\n"+name+":\t")
		if !found {
			return 0, false
		}
		line, _, _ := strings.Cut(rest, "\n")
		v, err := strconv.Atoi(strings.TrimSpace(line))
		return v, err == nil
	}
	mode, ok = field("Seccomp")
	if !ok {
		return 0, 0, false
	}
	filters, found := field("Seccomp_filters")
	if !found {
		filters = -1
	}
	return mode, filters, true
}

// xolHole finds the top page of the hole of process tid's address space
// nearest to [lo, hi) and within a rel32 jump of it; holes right below a
// stack are left alone.
func xolHole(tid int, lo, hi uint64) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", tid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	type region struct {
		start, end uint64
		stack      bool
	}
	var rs []region
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		span, _, _ := strings.Cut(line, " ")
		a, b, ok := strings.Cut(span, "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(a, 16, 64)
		end, err2 := strconv.ParseUint(b, 16, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("/proc/%d/maps: line %q", tid, line)
		}
		rs = append(rs, region{start, end, strings.HasSuffix(line, "[stack]") || strings.Contains(line, "[stack:")})
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
	const lowest, highest = 1 << 20, 1 << 47
	best, bestDist := uint64(0), uint64(0)
	prevEnd := uint64(lowest)
	for i := 0; i <= len(rs); i++ {
		top := uint64(highest - xolPageSize)
		if i < len(rs) {
			if rs[i].stack {
				prevEnd = rs[i].end
				continue
			}
			top = rs[i].start
		}
		if top >= prevEnd+xolPageSize && top <= highest {
			page := top - xolPageSize
			if reaches(page, page+xolPageSize, lo, hi) {
				if d := dist(page, lo); best == 0 || d < bestDist {
					best, bestDist = page, d
				}
			}
		}
		if i < len(rs) && rs[i].end > prevEnd {
			prevEnd = rs[i].end
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("process %d: no hole in its address space within 2 GB of %#x", tid, lo)
	}
	return best, nil
}

// injectSyscall makes th (stopped) execute system call nr with args: a
// syscall instruction written for a moment over the code at `at` (which
// no other thread runs: every thread of the process is stopped), th's
// registers pointed at it and back afterwards. An interrupted system
// call of th's is restarted as it would have been (orig_rax is -1 while
// the injected one runs, then restored). Signals that come meanwhile
// are held for th's next resume.
func (t *uprobeTracer) injectSyscall(th *uthread, at uint64, nr uint64, args [6]uint64) (uint64, error) {
	var saved unix.PtraceRegs
	if err := ptraceRegs(unix.PTRACE_GETREGS, th.tid, &saved); err != nil {
		return 0, err
	}
	var code [8]byte
	if _, err := unix.PtracePeekData(th.tid, uintptr(at), code[:]); err != nil {
		return 0, err
	}
	patched := code
	patched[0], patched[1] = 0x0f, 0x05 // syscall
	if _, err := unix.PtracePokeData(th.tid, uintptr(at), patched[:]); err != nil {
		return 0, err
	}
	defer func() {
		_, _ = unix.PtracePokeData(th.tid, uintptr(at), code[:])
		_ = ptraceRegs(unix.PTRACE_SETREGS, th.tid, &saved)
	}()
	regs := saved
	regs.Rip, regs.Rax, regs.Orig_rax = at, nr, ^uint64(0)
	regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 = args[0], args[1], args[2], args[3], args[4], args[5]
	if err := ptraceRegs(unix.PTRACE_SETREGS, th.tid, &regs); err != nil {
		return 0, err
	}
	stepped, refused := false, false
	for range 100 {
		if err := ptraceResume(unix.PTRACE_SINGLESTEP, th.tid, 0); err != nil {
			return 0, err
		}
		var ws unix.WaitStatus
		var err error
		for {
			if _, err = unix.Wait4(th.tid, &ws, unix.WALL, nil); !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err != nil {
			return 0, err
		}
		if ws.Exited() || ws.Signaled() {
			t.queue = append(t.queue, event{tid: th.tid, ws: ws})
			return 0, fmt.Errorf("thread %d ended", th.tid)
		}
		if ws.Stopped() && ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() <= 0 {
			stepped = true
			break
		}
		if sig := ws.StopSignal(); ws.Stopped() && (sig == unix.SIGSEGV || sig == unix.SIGBUS || sig == unix.SIGILL) {
			// The injected instruction faulted (not the thread's own
			// code, which does not run here): dropped.
			return 0, fmt.Errorf("thread %d: the injected system call at %#x faulted (%v)", th.tid, at, sig)
		}
		if ws.Stopped() && ws.StopSignal() == unix.SIGSYS {
			// A seccomp filter's answer to the injected call (the
			// thread's own SIGSYS would come from its own code, which
			// does not run here): dropped, and the step's trap too.
			refused = true
			break
		}
		if ws.Stopped() && ws.TrapCause() <= 0 {
			var info unix.Siginfo
			if ptraceGetSiginfo(th.tid, &info) == nil && !wakeSignal(&info) {
				th.sig = int(ws.StopSignal())
			}
		}
	}
	// A filter's SIGSYS queued behind the step's trap, or the trap
	// behind the SIGSYS: the thread takes each (it stops at its delivery
	// before any instruction) and it is dropped.
	for range 4 {
		sys := signalPending(th.tid, unix.SIGSYS)
		if !sys && !signalPending(th.tid, unix.SIGTRAP) {
			break
		}
		refused = refused || sys
		if err := ptraceResume(unix.PTRACE_CONT, th.tid, 0); err != nil {
			return 0, err
		}
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(th.tid, &ws, unix.WALL, nil); !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if ws.Exited() || ws.Signaled() {
			t.queue = append(t.queue, event{tid: th.tid, ws: ws})
			return 0, fmt.Errorf("thread %d ended", th.tid)
		}
	}
	if refused {
		return 0, fmt.Errorf("thread %d: the injected system call %d was refused by a seccomp filter (SIGSYS)", th.tid, nr)
	}
	if !stepped {
		return 0, fmt.Errorf("thread %d did not execute the system call", th.tid)
	}
	if err := ptraceRegs(unix.PTRACE_GETREGS, th.tid, &regs); err != nil {
		return 0, err
	}
	if regs.Rip != at+2 {
		return 0, fmt.Errorf("thread %d is at %#x after the system call at %#x", th.tid, regs.Rip, at)
	}
	if int64(regs.Rax) < 0 && int64(regs.Rax) >= -4095 {
		return 0, unix.Errno(-int64(regs.Rax))
	}
	return regs.Rax, nil
}

// leaveXOL moves th, stopped inside a slot of its process, to the same
// place in the original code (whose bytes the caller writes back).
func leaveXOL(th *uthread) {
	if len(th.sp.xol) == 0 {
		return
	}
	var regs unix.PtraceRegs
	if ptraceRegs(unix.PTRACE_GETREGS, th.tid, &regs) != nil {
		return
	}
	slot := regs.Rip - regs.Rip%xolSlotSize
	bp := th.sp.bps[slot]
	if bp == nil || bp.xol == nil || bp.xol.slot != slot {
		return
	}
	if to, ok := bp.xol.plan.origRIP(bp.xol.slot+1, regs.Rip); ok {
		regs.Rip = to
	} else if regs.Rip == bp.xol.slot {
		regs.Rip = bp.addr
	} else {
		return
	}
	_ = ptraceRegs(unix.PTRACE_SETREGS, th.tid, &regs)
}

// restoreCode writes bp's original code back: the displaced
// instructions of a site out of line, else the byte under the int3.
func restoreCode(tid int, bp *breakpoint) {
	if bp.xol != nil {
		_, _ = unix.PtracePokeData(tid, uintptr(bp.addr), bp.xol.plan.orig)
		return
	}
	_ = pokeByte(tid, bp.addr, bp.orig)
}
