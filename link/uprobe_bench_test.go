//go:build linux && amd64

package link_test

import (
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// BenchmarkUprobe: the cost of one fired uprobe (an entry program that
// reads PT_REGS_PARM1 and PT_REGS_PARM2 and updates a hash map, on
// work's entry), per call of the probed function, against the raw cost
// of a ptrace stop measured in the same run: a tracee that executes int3
// and a tracer that only waits for the stop (as the uprobe hook waits: a
// short spin, then a blocking wait4) and continues it. "uprobe" runs
// work's first instructions out of line (a jmp to the probe's slot);
// "uprobe-int3" is the same probe with out-of-line execution off (an
// int3, the push %rbp emulated: PTRACE_POKEDATA and PTRACE_SETREGS).
// "uprobe-noregs" runs a program that reads no registers (it calls
// bpf_get_current_pid_tgid): out of line, a hit reads rip alone.
// "paired" runs the four one after the other, b.N stops each, and
// reports each one's time per stop and the ratios to the raw stop's, so
// that a disturbance of the machine hits them alike. All include
// starting and ending the process, amortized over b.N stops. Besides
// wall time, cpu-ns is the CPU time of the tracer's process and of the
// tracee (user and system) per stop, which other work on the machine
// disturbs less. See docs/BENCHMARKS.md.
func BenchmarkUprobe(b *testing.B) {
	needPtrace(b)
	target := buildTarget(b)
	needOutOfLine(b)
	b.Run("raw-ptrace-stop", func(b *testing.B) {
		b.ResetTimer()
		c := rawStops(b, target, b.N)
		b.StopTimer()
		b.ReportMetric(float64(c.cpu)/float64(b.N), "cpu-ns/op")
	})
	for _, tc := range []struct {
		name              string
		outOfLine, noRegs bool
	}{{"uprobe", true, false}, {"uprobe-int3", false, false}, {"uprobe-noregs", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var prog *waggle.Program
			if tc.noRegs {
				prog = noRegsProgram(b)
			}
			b.ResetTimer()
			c := uprobeStops(b, target, b.N, tc.outOfLine, prog)
			b.StopTimer()
			b.ReportMetric(float64(c.cpu)/float64(b.N), "cpu-ns/op")
		})
	}
	b.Run("paired", func(b *testing.B) {
		b.ResetTimer()
		raw := rawStops(b, target, b.N)
		xol := uprobeStops(b, target, b.N, true, nil)
		int3 := uprobeStops(b, target, b.N, false, nil)
		noRegs := uprobeStops(b, target, b.N, true, noRegsProgram(b))
		b.StopTimer()
		n := float64(b.N)
		// Wall time (raw-ns/stop, uprobe/raw, ...), then CPU time
		// (raw-cpu-ns/stop, uprobe-cpu/raw, ...).
		for _, k := range []struct {
			name string
			of   func(cost) time.Duration
		}{{"", func(c cost) time.Duration { return c.wall }}, {"-cpu", func(c cost) time.Duration { return c.cpu }}} {
			r := float64(k.of(raw))
			b.ReportMetric(r/n, "raw"+k.name+"-ns/stop")
			for _, s := range []struct {
				name string
				c    cost
			}{{"uprobe", xol}, {"int3", int3}, {"noregs", noRegs}} {
				b.ReportMetric(float64(k.of(s.c))/n, s.name+k.name+"-ns/stop")
				b.ReportMetric(float64(k.of(s.c))/r, s.name+k.name+"/raw")
			}
		}
	})
}

// cost is the wall time and the CPU time of a run.
type cost struct{ wall, cpu time.Duration }

// rawStops runs `target trap n` under a tracer that only waits for each
// stop and continues it.
func rawStops(b *testing.B, target string, n int) cost {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command(target, "trap", strconv.Itoa(n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	m := startMeasure(b)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pid := cmd.Process.Pid
	stops := 0
	for {
		var ws unix.WaitStatus
		if _, err := link.WaitStop(&ws); err != nil {
			b.Fatal(err)
		}
		if ws.Exited() || ws.Signaled() {
			if ws.ExitStatus() != 0 {
				b.Fatalf("status %v", ws)
			}
			break
		}
		stops++
		if err := unix.PtraceCont(pid, 0); err != nil {
			b.Fatal(err)
		}
	}
	c := m.stop(b)
	_ = cmd.Wait()
	if stops != n+1 { // the exec's stop, then one per int3
		b.Fatalf("%d stops for %d int3", stops, n)
	}
	return c
}

// uprobeStops runs `target bench n` with calls.o's enter (or prog) on
// work, out of line or not.
func uprobeStops(b *testing.B, target string, n int, outOfLine bool, prog *waggle.Program) cost {
	link.SetOutOfLine(outOfLine)
	defer link.SetOutOfLine(true)
	if prog == nil {
		prog = callsObject(b).Programs["enter"]
	}
	m := startMeasure(b)
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "bench", strconv.Itoa(n)},
		Probes: []link.Uprobe{{Program: prog, Path: target, Symbol: "work"}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Wait(); err != nil {
		b.Fatal(err)
	}
	c := m.stop(b)
	l.Close()
	if st := l.Stats(); l.ExitCode() != 0 || st.Hits != uint64(n) {
		b.Fatalf("exit %d, %d hits for %d calls", l.ExitCode(), st.Hits, n)
	}
	if want := map[bool]uint64{true: 1, false: 0}[outOfLine]; l.OutOfLine() != want {
		b.Fatalf("%d sites out of line, want %d", l.OutOfLine(), want)
	}
	return c
}

// measure is a start: the time, and the CPU time of this process and
// of its reaped children.
type measure struct {
	at             time.Time
	self, children time.Duration
}

func startMeasure(b *testing.B) measure {
	return measure{time.Now(), rusage(b, unix.RUSAGE_SELF), rusage(b, unix.RUSAGE_CHILDREN)}
}

// stop is the cost since m (the traced process reaped).
func (m measure) stop(b *testing.B) cost {
	wall := time.Since(m.at)
	cpu := rusage(b, unix.RUSAGE_SELF) - m.self + rusage(b, unix.RUSAGE_CHILDREN) - m.children
	return cost{wall, cpu}
}

func rusage(b *testing.B, who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPtraceRegs: what reading a stopped thread's registers costs,
// per request, the way a hit can: PTRACE_GETREGS (what the uprobe hook
// does), PTRACE_GETREGSET with NT_PRSTATUS (the same registers through
// an iovec), and PTRACE_PEEKUSER of rip alone (what a hit would still
// need, to know which probe fired, if its program read no registers).
// The tracee is `target wait`, stopped at its exec. cpu-ns/op is this
// process's CPU time per request. See docs/BENCHMARKS.md.
func BenchmarkPtraceRegs(b *testing.B) {
	needPtrace(b)
	target := buildTarget(b)
	const ntPrstatus = 1
	ripOffset := unsafe.Offsetof(unix.PtraceRegs{}.Rip)
	for _, tc := range []struct {
		name string
		req  func(pid int, r *unix.PtraceRegs) syscall.Errno
	}{
		{"GETREGS", func(pid int, r *unix.PtraceRegs) syscall.Errno {
			_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGS, uintptr(pid), 0, uintptr(unsafe.Pointer(r)), 0, 0)
			return e
		}},
		{"GETREGSET", func(pid int, r *unix.PtraceRegs) syscall.Errno {
			iov := unix.Iovec{Base: (*byte)(unsafe.Pointer(r))}
			iov.SetLen(int(unsafe.Sizeof(*r)))
			_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGSET, uintptr(pid), ntPrstatus, uintptr(unsafe.Pointer(&iov)), 0, 0)
			return e
		}},
		{"PEEKUSER-rip", func(pid int, r *unix.PtraceRegs) syscall.Errno {
			_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKUSR, uintptr(pid), ripOffset, uintptr(unsafe.Pointer(&r.Rip)), 0, 0)
			return e
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			// The requests come from the thread that started the tracee.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cmd := exec.Command(target, "wait")
			cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			pid := cmd.Process.Pid
			var ws unix.WaitStatus
			if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil || !ws.Stopped() {
				b.Fatalf("the tracee's exec stop: %v, %v", ws, err)
			}
			var r unix.PtraceRegs
			var m measure
			for i := 0; b.Loop(); i++ {
				if i == 0 {
					m = startMeasure(b)
				}
				if e := tc.req(pid, &r); e != 0 {
					b.Fatal(e)
				}
			}
			b.ReportMetric(float64(m.stop(b).cpu)/float64(b.N), "cpu-ns/op")
			if r.Rip == 0 {
				b.Fatal("no rip read")
			}
		})
	}
}
