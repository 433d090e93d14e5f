//go:build linux && amd64

package link_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// needPtrace skips the test when this process may not ptrace its
// children (a seccomp filter, kernel.yama.ptrace_scope 3, a sandbox).
func needPtrace(t testing.TB) {
	t.Helper()
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep to probe ptrace: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(cmd.Process.Pid), 0, 0, 0, 0); errno != 0 {
		t.Skipf("ptrace is not permitted here (PTRACE_SEIZE of a child: %v)", errno)
	}
}

var (
	targetOnce sync.Once
	targetPath string
	targetErr  error
)

// buildTarget builds testdata/uprobe/target.c with gcc, once.
func buildTarget(t testing.TB) string {
	t.Helper()
	targetOnce.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			targetErr = errors.New("gcc is not installed: the traced test program is built from testdata/uprobe/target.c")
			return
		}
		dir, err := os.MkdirTemp("", "waggle-uprobe")
		if err != nil {
			targetErr = err
			return
		}
		targetPath = filepath.Join(dir, "target")
		out, err := exec.Command("gcc", "-O0", "-fno-omit-frame-pointer", "-pthread", "-o", targetPath, "../testdata/uprobe/target.c").CombinedOutput()
		if err != nil {
			targetErr = errors.New("gcc: " + err.Error() + ": " + string(out))
		}
	})
	if targetErr != nil {
		if strings.HasPrefix(targetErr.Error(), "gcc is not") {
			t.Skip(targetErr)
		}
		t.Fatal(targetErr)
	}
	return targetPath
}

// runUprobes attaches with opts and waits for the process to end. The
// link is closed when the test ends.
func runUprobes(t testing.TB, opts link.UprobeOptions) *link.UprobeLink {
	t.Helper()
	l, err := link.AttachUprobe(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	return l
}

// attachWork puts calls.o's enter on target's work in process pid (and
// leave on its return when returns), then waits, 5 seconds at most,
// until n calls have entered work (returned from it when returns).
func attachWork(t testing.TB, pid int, target string, coll *waggle.Collection, returns bool, n uint64) *link.UprobeLink {
	t.Helper()
	probes := []link.Uprobe{{Program: coll.Programs["enter"], Path: target, Symbol: "work"}}
	if returns {
		probes = append(probes, link.Uprobe{Program: coll.Programs["leave"], Path: target, Symbol: "work", Return: true})
	}
	l, err := link.AttachUprobe(link.UprobeOptions{PID: pid, Probes: probes})
	if err != nil {
		t.Fatal(err)
	}
	proctest.WaitUntil(5*time.Second, 10*time.Millisecond, func() bool {
		if returns {
			return l.Stats().Returns >= n
		}
		return l.Stats().Hits >= n
	})
	return l
}

// callsObject loads testdata/uprobe/calls.o.
func callsObject(t testing.TB) *waggle.Collection {
	t.Helper()
	return uprobeObject(t, "calls.o")
}

// uprobeObject loads testdata/uprobe/name into waggle, closed when the
// test ends.
func uprobeObject(t testing.TB, name string) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("../testdata/uprobe/" + name)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll
}

// callCounts is struct calls of calls.bpf.c, by thread.
type callCounts struct {
	count, sum1, sum2 uint64
	tgid              uint32
	comm              string
}

func readCalls(t testing.TB, m *waggle.Map) map[uint32]callCounts {
	t.Helper()
	out := map[uint32]callCounts{}
	entries, err := m.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		v := e.Value
		out[binary.NativeEndian.Uint32(e.Key)] = callCounts{
			count: binary.NativeEndian.Uint64(v[0:]), sum1: binary.NativeEndian.Uint64(v[8:]), sum2: binary.NativeEndian.Uint64(v[16:]),
			tgid: binary.NativeEndian.Uint32(v[24:]), comm: cString(v[28:44]),
		}
	}
	return out
}

// needOutOfLine skips a test that expects probes out of line where the
// host refuses them.
func needOutOfLine(t testing.TB) {
	t.Helper()
	if why := link.OutOfLineRefused(); why != "" {
		t.Skip(why)
	}
}

// TestUprobeThreads: 4 threads call work(i, j) N times each; the entry
// probe (emulated push %rbp: the probe at work+4 is inside the
// instructions a jmp would displace), a probe inside the function (out
// of line; or, with out-of-line execution off, single-stepped with the
// other threads stopped) and the return probe each see 4N calls, N per
// thread, with the thread's arguments and results.
func TestUprobeThreads(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	for _, tc := range []struct {
		name      string
		outOfLine bool
	}{{"out of line", true}, {"int3", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.outOfLine {
				needOutOfLine(t)
			}
			link.SetOutOfLine(tc.outOfLine)
			defer link.SetOutOfLine(true)
			testUprobeThreads(t, target, tc.outOfLine)
		})
	}
}

func testUprobeThreads(t *testing.T, target string, outOfLine bool) {
	coll := callsObject(t)
	const n = 300
	var out bytes.Buffer
	l := runUprobes(t, link.UprobeOptions{Path: target, Args: []string{"target", "threads", "300"}, Stdout: &out, Stderr: &out,
		Probes: []link.Uprobe{
			{Program: coll.Programs["enter"], Path: target, Symbol: "work"},
			{Program: coll.Programs["enter_at"], Path: target, Symbol: "work", Offset: 4},
			{Program: coll.Programs["leave"], Path: target, Symbol: "work", Return: true},
		}})
	if l.ExitCode() != 0 || out.String() != "done\n" {
		t.Fatalf("exit %d, output %q", l.ExitCode(), out.String())
	}
	pid := uint32(l.Pid())
	for _, m := range []string{"entries", "entries_at", "returns"} {
		calls := readCalls(t, coll.Maps[m])
		if len(calls) != 4 {
			t.Fatalf("%s: %d threads, want 4: %v", m, len(calls), calls)
		}
		seen := map[uint64]bool{}
		for tid, c := range calls {
			if c.count != n || c.tgid != pid || tid == pid || c.comm != "target" {
				t.Errorf("%s: thread %d: %d calls in process %d (%q), want %d in %d (\"target\")", m, tid, c.count, c.tgid, c.comm, n, pid)
			}
			// Thread a called work(a, j), j < n: returns a*1000+j.
			var a uint64
			if m == "returns" {
				a = (c.sum1 - n*(n-1)/2) / (1000 * n)
				if c.sum1 != a*1000*n+n*(n-1)/2 {
					t.Errorf("%s: thread %d: sum of results %d", m, tid, c.sum1)
				}
			} else {
				a = c.sum1 / n
				if c.sum1 != a*n || c.sum2 != n*(n-1)/2 {
					t.Errorf("%s: thread %d: sums of arguments %d, %d; want %d·a, %d", m, tid, c.sum1, c.sum2, n, n*(n-1)/2)
				}
			}
			if a > 3 || seen[a] {
				t.Errorf("%s: thread %d: argument a = %d (seen: %v)", m, tid, a, seen)
			}
			seen[a] = true
		}
	}
	st := l.Stats()
	if st.Hits != 8*n || st.Returns != 4*n {
		t.Errorf("stats: %+v; want %d hits, %d returns", st, 8*n, 4*n)
	}
	// The entry point's instruction is stepped once (its int3 stays for
	// the return probes).
	if outOfLine && (l.OutOfLine() != 1 || st.Stepped != 1) {
		t.Errorf("%d sites out of line, %d stepped; want work+4's out of line, only the entry point's instruction stepped", l.OutOfLine(), st.Stepped)
	}
	if !outOfLine && (l.OutOfLine() != 0 || st.Stepped < 4*n) {
		t.Errorf("%d sites out of line, %d stepped; want none, at least %d stepped", l.OutOfLine(), st.Stepped, 4*n)
	}
}

// TestUprobeRecursion: fact(10) recurses 10 deep; each call's return
// probe sees its own result (the shadow stack pops in order).
func TestUprobeRecursion(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	const k = 20
	l := runUprobes(t, link.UprobeOptions{Path: target, Args: []string{"target", "fact", "10", "20"},
		Probes: []link.Uprobe{
			{Program: coll.Programs["enter"], Path: target, Symbol: "fact"},
			{Program: coll.Programs["leave"], Path: target, Symbol: "fact", Return: true},
		}})
	if l.ExitCode() != 0 {
		t.Fatalf("exit %d", l.ExitCode())
	}
	// fact(10) calls fact(10), ..., fact(1): arguments 1..10, results
	// 1!..10!.
	var args, rets uint64
	f := uint64(1)
	for i := uint64(1); i <= 10; i++ {
		f *= i
		args += i
		rets += f
	}
	for m, want := range map[string][2]uint64{"entries": {10 * k, args * k}, "returns": {10 * k, rets * k}} {
		calls := readCalls(t, coll.Maps[m])
		if len(calls) != 1 {
			t.Fatalf("%s: %d threads, want 1", m, len(calls))
		}
		for _, c := range calls {
			if c.count != want[0] || c.sum1 != want[1] {
				t.Errorf("%s: %d calls, sum %d; want %d, %d", m, c.count, c.sum1, want[0], want[1])
			}
		}
	}
}

// TestUprobeDetach: closing the link mid-run (returns pending in fact's
// recursion and work's) leaves the program running correctly to its
// normal exit: it checks every result itself.
func TestUprobeDetach(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	var out bytes.Buffer
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "slow", "600"}, Stdout: &out,
		Probes: []link.Uprobe{
			{Program: coll.Programs["enter"], Path: target, Symbol: "fact"},
			{Program: coll.Programs["leave"], Path: target, Symbol: "fact", Return: true},
			{Program: coll.Programs["enter_at"], Path: target, Symbol: "work", Offset: 4},
			{Program: coll.Programs["leave"], Path: target, Symbol: "work", Return: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.ExitCode() != 0 || out.String() != "done\n" {
		t.Fatalf("after the detach: exit %d, output %q", l.ExitCode(), out.String())
	}
	if st := l.Stats(); st.Hits == 0 || st.Returns == 0 {
		t.Fatalf("no probe fired before the detach: %+v", st)
	}
}

// TestUprobeDetachPendingReturn: detaching while a function with a
// return probe is still running (its return address replaced on the
// stack) writes the original address back: the function returns where
// it should, with its value.
func TestUprobeDetachPendingReturn(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	var out bytes.Buffer
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "block", "400"}, Stdout: &out,
		Probes: []link.Uprobe{
			{Program: coll.Programs["enter"], Path: target, Symbol: "blocker"},
			{Program: coll.Programs["leave"], Path: target, Symbol: "blocker", Return: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	proctest.WaitUntil(5*time.Second, 5*time.Millisecond, func() bool { return l.Stats().Hits != 0 })
	time.Sleep(50 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Hits != 1 || st.Returns != 0 {
		t.Fatalf("stats %+v: want the call entered and not returned at the detach", st)
	}
	if l.ExitCode() != 0 || out.String() != "done\n" {
		t.Fatalf("after the detach: exit %d, output %q", l.ExitCode(), out.String())
	}
}

// TestUprobeDetachThreads: closing the link while 4 threads run through
// an emulated entry probe, a single-stepped probe (the other threads
// stopped) and a return probe leaves them all running correctly to the
// program's normal exit.
func TestUprobeDetachThreads(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	var out bytes.Buffer
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "threads", "20000"}, Stdout: &out,
		Probes: []link.Uprobe{
			{Program: coll.Programs["enter"], Path: target, Symbol: "work"},
			{Program: coll.Programs["enter_at"], Path: target, Symbol: "work", Offset: 4},
			{Program: coll.Programs["leave"], Path: target, Symbol: "work", Return: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	proctest.WaitUntil(5*time.Second, 5*time.Millisecond, func() bool { return l.Stats().Returns >= 500 })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if l.ExitCode() != 0 || out.String() != "done\n" {
		t.Fatalf("after the detach: exit %d, output %q (stats %+v)", l.ExitCode(), out.String(), st)
	}
	if st.Hits == 0 || st.Returns == 0 || st.Hits >= 2*4*20000 {
		t.Fatalf("the detach did not come mid-run: %+v", st)
	}
}

// TestUprobePID: probes put into a running process (--pid), then
// detached from; the process goes on and exits normally.
func TestUprobePID(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	cmd := proctest.Start(t, target, "wait")
	time.Sleep(50 * time.Millisecond)
	l := attachWork(t, cmd.Process.Pid, target, coll, true, 20)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	calls := readCalls(t, coll.Maps["entries"])
	c, ok := calls[uint32(cmd.Process.Pid)]
	if !ok || c.count < 20 || c.sum1 != 7*c.count {
		t.Fatalf("entries: %+v", calls)
	}
	rets := readCalls(t, coll.Maps["returns"])[uint32(cmd.Process.Pid)]
	if rets.count < c.count-1 || rets.count > c.count {
		t.Fatalf("%d returns for %d calls", rets.count, c.count)
	}
	// Detached: the process runs on, and ends normally.
	time.Sleep(20 * time.Millisecond)
	if _, err := cmd.Finish(); err != nil {
		t.Fatalf("the process after the detach: %v", err)
	}
}

// TestUprobePIDThreads: probes put into a running process whose 4
// threads call the function: every thread runs them, and the process
// goes on after the detach and ends normally.
func TestUprobePIDThreads(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	cmd := proctest.Start(t, target, "waitthreads")
	time.Sleep(50 * time.Millisecond)
	l, err := link.AttachUprobe(link.UprobeOptions{PID: cmd.Process.Pid, Probes: []link.Uprobe{
		{Program: coll.Programs["enter_at"], Path: target, Symbol: "work", Offset: 4},
		{Program: coll.Programs["leave"], Path: target, Symbol: "work", Return: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if calls := readCalls(t, coll.Maps["returns"]); len(calls) == 4 && l.Stats().Returns >= 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	calls := readCalls(t, coll.Maps["entries_at"])
	if len(calls) != 4 {
		t.Fatalf("entries in %d threads, want 4: %v", len(calls), calls)
	}
	for tid, c := range calls {
		if c.tgid != uint32(cmd.Process.Pid) || c.count == 0 || c.sum1%c.count != 0 || c.sum1/c.count > 3 {
			t.Errorf("thread %d: %+v", tid, c)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if out, err := cmd.Finish(); err != nil || out != "done\n" {
		t.Fatalf("the process after the detach: %v, output %q", err, out)
	}
}

// TestUprobeErrors: what cannot be probed is an error before anything
// starts or changes.
func TestUprobeErrors(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	enter := coll.Programs["enter"]
	cases := []struct {
		name string
		opts link.UprobeOptions
		want string
	}{
		{"missing symbol", link.UprobeOptions{Path: target, Probes: []link.Uprobe{{Program: enter, Path: target, Symbol: "no_such_function"}}}, "no such symbol no_such_function"},
		{"no such file", link.UprobeOptions{Path: target, Probes: []link.Uprobe{{Program: enter, Path: "/no/such/file", Symbol: "work"}}}, "/no/such/file: no such file or directory"},
		{"no such process", link.UprobeOptions{PID: 1 << 30, Probes: []link.Uprobe{{Program: enter, Path: target, Symbol: "work"}}}, "process 1073741824"},
		{"offset past the function", link.UprobeOptions{Path: target, Probes: []link.Uprobe{{Program: enter, Path: target, Symbol: "work", Offset: 4096}}}, "past the end of work"},
		{"library not mapped", link.UprobeOptions{Path: target, Args: []string{"target", "threads", "1"}, Probes: []link.Uprobe{{Program: enter, Path: "libz.so.1", Symbol: "crc32"}}}, "not mapped"},
		{"no probes", link.UprobeOptions{Path: target}, "no probes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "library not mapped" {
				if _, err := os.Stat("/lib/x86_64-linux-gnu/libz.so.1"); err != nil {
					t.Skip("no libz.so.1 here")
				}
			}
			l, err := link.AttachUprobe(tc.opts)
			if err == nil {
				l.Close()
				t.Fatalf("attached; want an error saying %q", tc.want)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Fatalf("error %q; want it to say %q", err, tc.want)
			}
		})
	}
}

// TestUprobeNotPermitted: a process waggle may not ptrace (here: one
// already traced by another tracer) is a clear error, and the process is
// left as it was.
func TestUprobeNotPermitted(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Another thread of this process traces it already: a second tracer
	// is refused (EPERM), as for another user's process.
	proctest.SeizeFromOtherThread(t, cmd.Process.Pid)
	_, err := link.AttachUprobe(link.UprobeOptions{PID: cmd.Process.Pid, Probes: []link.Uprobe{{Program: coll.Programs["enter"], Path: target, Symbol: "work"}}})
	if err == nil || !strings.Contains(err.Error(), "may not ptrace") {
		t.Fatalf("error %v; want one saying waggle may not ptrace the process", err)
	}
}

// TestParseUprobeSection reads libbpf's uprobe sections.
func TestParseUprobeSection(t *testing.T) {
	cases := []struct {
		section string
		want    link.Uprobe
		placed  bool
		err     string
	}{
		{"uprobe/libc.so.6:malloc", link.Uprobe{Path: "libc.so.6", Symbol: "malloc"}, true, ""},
		{"uretprobe//usr/bin/bash:readline", link.Uprobe{Path: "/usr/bin/bash", Symbol: "readline", Return: true}, true, ""},
		{"uprobe//bin/x:main.add+0x10", link.Uprobe{Path: "/bin/x", Symbol: "main.add", Offset: 16}, true, ""},
		{"uprobe", link.Uprobe{}, false, ""},
		{"uretprobe", link.Uprobe{Return: true}, false, ""},
		{"uretprobe/x:f+4", link.Uprobe{}, false, "takes no offset"},
		{"uprobe/x", link.Uprobe{}, false, "want PATH:SYMBOL"},
		{"uprobe/x:f+y", link.Uprobe{}, false, "not a number"},
		{"kprobe/f", link.Uprobe{}, false, "not a uprobe's"},
	}
	for _, tc := range cases {
		u, placed, err := link.ParseUprobeSection(tc.section)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.section, err, tc.err)
			}
			continue
		}
		if err != nil || u != tc.want || placed != tc.placed {
			t.Errorf("%s: %+v %v %v; want %+v %v", tc.section, u, placed, err, tc.want, tc.placed)
		}
	}
}

// TestUprobeLibc: a probe on a function of libc named by the library's
// name, placed where the process maps libc (its load base from
// /proc/PID/maps and the function's file offset), sees every call with
// its arguments and results.
func TestUprobeLibc(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	const n = 100
	l := runUprobes(t, link.UprobeOptions{Path: target, Args: []string{"target", "libc", "100"},
		Probes: []link.Uprobe{
			{Program: coll.Programs["enter"], Path: "libc.so.6", Symbol: "strtol"},
			{Program: coll.Programs["leave"], Path: "libc.so.6", Symbol: "strtol", Return: true},
		}})
	if l.ExitCode() != 0 {
		t.Fatalf("exit %d", l.ExitCode())
	}
	// main's atol("100") is a strtol("100", NULL, 10) too.
	for m, want := range map[string][2]uint64{"entries": {n + 1, 0}, "returns": {n + 1, n*(n-1)/2 + n}} {
		for _, c := range readCalls(t, coll.Maps[m]) {
			got := c.sum2 // strtol(s, NULL, 10): the second argument
			if m == "returns" {
				got = c.sum1
			}
			if c.count != want[0] || got != want[1] {
				t.Errorf("%s: %d calls, sum %d; want %d, %d", m, c.count, got, want[0], want[1])
			}
		}
	}
	// An indirect function is refused with the reason.
	_, err := link.AttachUprobe(link.UprobeOptions{Path: target, Probes: []link.Uprobe{{Program: coll.Programs["enter"], Path: "libc.so.6", Symbol: "strlen"}}})
	if err == nil || !strings.Contains(err.Error(), "indirect function") {
		t.Errorf("strlen: %v; want an error saying it is an indirect function", err)
	}
}

// TestUprobeGo: a probe on a Go function (from .gopclntab, in a binary
// with its symbol table and in a stripped one) sees Go's register
// arguments in every goroutine's thread: on add, shorter than a jmp, its
// first instruction is single-stepped; on addFrame, Go's prologue (cmp,
// jbe to morestack) runs out of line. A call of addFrame whose stack
// check fails (the stack grows, or the runtime asks the goroutine to
// yield) runs morestack and starts over: the probe fires again, as a
// kernel uprobe would, with the same arguments.
func TestUprobeGo(t *testing.T) {
	needPtrace(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH: the traced Go program is built from testdata/uprobe/gotarget")
	}
	for _, stripped := range []bool{false, true} {
		name := map[bool]string{false: "symbols", true: "stripped"}[stripped]
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "gotarget")
			args := []string{"build", "-o", bin}
			if stripped {
				args = append(args, "-ldflags=-s -w")
			}
			cmd := exec.Command(goTool, append(args, "../testdata/uprobe/gotarget/main.go")...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			const n = 200
			for _, tc := range []struct {
				symbol             string
				outOfLine, stepped uint64
			}{{"main.add", 0, 4 * n}, {"main.addFrame", 1, 0}} {
				if tc.outOfLine > 0 {
					needOutOfLine(t)
				}
				coll := callsObject(t)
				var out bytes.Buffer
				l, err := link.AttachUprobe(link.UprobeOptions{Path: bin, Args: []string{"gotarget", "200"}, Stdout: &out,
					Probes: []link.Uprobe{{Program: coll.Programs["enter_go"], Path: bin, Symbol: tc.symbol}}})
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Wait(); err != nil {
					t.Fatal(err)
				}
				l.Close()
				if l.ExitCode() != 0 || out.String() != "done\n" {
					t.Fatalf("%s: exit %d, output %q", tc.symbol, l.ExitCode(), out.String())
				}
				var count, sum1, sum2 uint64
				for _, c := range readCalls(t, coll.Maps["entries"]) {
					count += c.count
					sum1 += c.sum1
					sum2 += c.sum2
				}
				// add(g, i) for g < 4, i < n; addFrame's calls again
				// after morestack, each (g, i) with g < 4, i < n.
				again := count - 4*n
				if tc.symbol == "main.add" && again != 0 || count < 4*n || again > n/4 ||
					sum1 < n*6 || sum1-n*6 > 3*again || sum2 < 4*n*(n-1)/2 || sum2-4*n*(n-1)/2 > (n-1)*again {
					t.Fatalf("%s: %d calls, argument sums %d, %d; want %d, %d, %d", tc.symbol, count, sum1, sum2, 4*n, n*6, 4*n*(n-1)/2)
				}
				if st := l.Stats(); l.OutOfLine() != tc.outOfLine || st.Stepped != tc.stepped {
					t.Errorf("%s: %d sites out of line, %d stepped; want %d, %d", tc.symbol, l.OutOfLine(), st.Stepped, tc.outOfLine, tc.stepped)
				}
			}
		})
	}
}
