//go:build linux && amd64

package main

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/internal/symtab"
)

const uprobeData = "../../testdata/uprobe/"

// traceTarget builds testdata/uprobe/target.c with gcc, or skips the
// test when ptrace or gcc is missing.
func traceTarget(t *testing.T) string {
	t.Helper()
	skipUnlessTrace(t)
	return proctest.BuildC(t, uprobeData+"target.c", "-O0", "-fno-omit-frame-pointer", "-pthread")
}

// TestTrace: waggle trace runs uprobe programs on a command's functions
// and exits with its status; bad input is refused before anything runs.
func TestTrace(t *testing.T) {
	target := traceTarget(t)
	calls := uprobeData + "calls.o"
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"libc by section", []string{"--dump-maps", uprobeData + "malloc_sizes.o", "--", "ls", "/"}, 0, "usr", "uretprobe/libc.so.6:malloc malloc_return: "},
		{"dump maps", []string{"--uprobe", target + ":work", "--dump-maps", calls, "--", target, "threads", "10"}, 0, "done", "uretprobe/" + target + ":work leave: 40 runs, 0 failed"},
		{"synopsis order", []string{"--uprobe", target + ":fact", "--", target, "fact", "5", "2", calls}, 0, "done", "uprobe/" + target + ":fact enter: 10 runs"},
		{"flags after the object", []string{calls, "--uprobe", target + ":fact", "--json", "--", target, "fact", "5", "2"}, 0, "done", `{"summary":{"target":"` + target + ` fact 5 2","exit_code":0`},
		{"exit status", []string{"--uprobe", target + ":work", calls, "--", target, "nonsense"}, 2, "", "usage: target"},
		{"missing symbol", []string{"--uprobe", target + ":no_such_function", calls, "--", target, "fact", "1", "1"}, 1, "", "no such symbol no_such_function"},
		{"no such file", []string{"--uprobe", "/no/such/file:work", calls, "--", target, "fact", "1", "1"}, 1, "", "/no/such/file: no such file or directory"},
		{"no place", []string{calls, "--", target, "fact", "1", "1"}, 1, "", "names no function: give --uprobe PATH:SYMBOL"},
		{"bad place", []string{"--uprobe", "work", calls, "--", target}, 2, "", `--uprobe "work": want PATH:SYMBOL[+OFFSET]`},
		{"no object", []string{"--pid", "1"}, 2, "", "expected PROG.o"},
		{"no command", []string{calls}, 2, "", "expected a command or --pid"},
		{"pid and command", []string{"--pid", "1", calls, "--", target}, 2, "", "choose one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"trace"}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, c.code, c.out, c.err)
			}
		})
	}
}

// TestTraceInterrupt: SIGINT detaches. A started command then runs to
// its normal end (it checks every result itself) and waggle exits with
// its status; a process traced with --pid goes on.
func TestTraceInterrupt(t *testing.T) {
	target := traceTarget(t)
	calls := uprobeData + "calls.o"
	// interrupt sends SIGINT to this process once a process named
	// "target" is traced (waggle trace then has its handler in place),
	// and a little later, so that probes fired.
	interrupt := func() {
		deadline := time.Now().Add(10 * time.Second)
		for !tracedTarget() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}
	t.Run("command", func(t *testing.T) {
		go interrupt()
		code, out, errOut := runCLI(t, "", "trace", "--uprobe", target+":fact", calls, "--", target, "slow", "800")
		if code != 0 || out != "done\n" || !strings.Contains(errOut, "exit status 0") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("pid", func(t *testing.T) {
		cmd := exec.Command(target, "wait")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		go interrupt()
		code, _, errOut := runCLI(t, "", "trace", "--pid", itoa(cmd.Process.Pid), "--uprobe", target+":work", calls)
		if code != 0 || !strings.Contains(errOut, "detached after") || strings.Contains(errOut, "enter: 0 runs") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		stdin.Close()
		if err := cmd.Wait(); err != nil || out.String() != "done\n" {
			t.Fatalf("the process after the detach: %v, output %q", err, out.String())
		}
	})
	t.Run("not permitted", func(t *testing.T) {
		cmd := exec.Command("sleep", "10")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		// Traced by another thread of this test already: a second tracer
		// is refused.
		proctest.SeizeFromOtherThread(t, cmd.Process.Pid)
		code, _, errOut := runCLI(t, "", "trace", "--pid", itoa(cmd.Process.Pid), "--uprobe", target+":work", calls)
		if code != 1 || !strings.Contains(errOut, "may not ptrace") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestTraceFunclatency: bcc's funclatency.bpf.c (built from WAGGLE_BCC,
// default /work/ext/bcc) in uprobe mode, as funclatency -u runs it:
// --uprobe places its kprobe programs on libc's strtol, its fentry ones
// are left out, and --hist draws its histogram (a global array) as bcc
// draws it, every call counted once.
func TestTraceFunclatency(t *testing.T) {
	target := traceTarget(t)
	obj := filepath.Join(t.TempDir(), "funclatency.bpf.o")
	buildBCCTool(t, "funclatency", obj)
	code, out, errOut := runCLI(t, "", "trace", "--uprobe", "libc.so.6:strtol", "--set", "units=1", "--hist", "hist", obj, "--", target, "libc", "200")
	if code != 0 || out != "done\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	wantContains(t, "stderr", errOut, []string{"program dummy_fentry (section fentry/dummy_fentry) left out", "     hist                : count    distribution\n         0 -> 1          : ",
		"uprobe/libc.so.6:strtol dummy_kprobe: 201 runs, 0 failed"})
	total := 0
	for line := range strings.SplitSeq(errOut, "\n") {
		if _, rest, ok := strings.Cut(line, " : "); ok && strings.Contains(rest, "|") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, "|", 2)[0]))
			if err != nil {
				t.Fatalf("histogram line %q: %v", line, err)
			}
			total += n
		}
	}
	if total != 201 {
		t.Errorf("the histogram counts %d calls, want 201 (200 and main's atol):\n%s", total, errOut)
	}
}

// tracedTarget reports whether a process named "target" has a tracer.
func tracedTarget() bool {
	dirs, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		st := string(b)
		if strings.Contains(st, "Name:\ttarget\n") && !strings.Contains(st, "TracerPid:\t0\n") {
			return true
		}
	}
	return false
}

// TestTraceUSDT: waggle trace runs BPF_USDT programs (libbpf's
// usdt.bpf.h) at a command's USDT probes, placed by --usdt; the gated
// probe fires only where its semaphore is set, that is where a program
// is attached to it.
func TestTraceUSDT(t *testing.T) {
	skipUnlessTrace(t)
	target := proctest.BuildSDT(t, "../../testdata/usdt/target.c", "-O2", "-pthread")
	obj := "../../testdata/usdt/usdt.o"
	tick, gated := target+":waggle:tick", target+":waggle:gated"
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		out, err string
		events   int // gated_probe's ring buffer records printed
	}{
		{"each program placed", []string{"--usdt", "tick=" + tick, "--usdt", "gated_probe=" + gated, obj, "--", target, "3", "20"}, 0, "gated 5\n",
			"usdt/" + gated + " gated_probe: 5 runs, 0 failed\n  usdt/" + tick + " tick: 60 runs, 0 failed\n  65 breakpoint hits", 5},
		{"events decoded by struct event", []string{"--usdt", "tick=" + tick, "--usdt", "gated_probe=" + gated, obj, "--", target, "1", "1"}, 0, "gated 5\n",
			"events: {value: -7, constant: -3, pid: ", 5},
		{"values in the maps", []string{"--usdt", "tick=" + tick, "--usdt", "gated_probe=" + gated, "--dump-maps", obj, "--", target, "2", "2"}, 0, "gated 5\n",
			"key {idx: 1, round: 1} value {count: 1, value: 1001, ", 5},
		{"both on one probe", []string{"--usdt", tick, obj, "--", target, "1", "4"}, 0, "gated 0\n",
			"usdt/" + tick + " gated_probe: 4 runs, 0 failed\n  usdt/" + tick + " tick: 4 runs, 0 failed", 4},
		{"json", []string{"--usdt", tick, "--json", obj, "--", target, "1", "1"}, 0, "gated 0\n", `{"map":"events","event":{"value":0,"constant":0,"pid":`, 1},
		{"json summary", []string{"--usdt", tick, "--json", obj, "--", target, "1", "1"}, 0, "gated 0\n", `{"name":"tick","attach":"usdt/` + tick + `","runs":1,"errors":0}`, 1},
		{"no place", []string{obj, "--", target, "1", "1"}, 1, "", "program gated_probe (section usdt) names no USDT probe: give --usdt PATH:PROVIDER:NAME", 0},
		{"one placed, the other not", []string{"--usdt", "tick=" + tick, obj, "--", target, "1", "1"}, 1, "", "program gated_probe (section usdt) names no USDT probe", 0},
		{"missing probe", []string{"--usdt", target + ":waggle:tock", obj, "--", target, "1", "1"}, 1, "", "no USDT probe waggle:tock (the file has waggle:tick, waggle:gated)", 0},
		{"bad place", []string{"--usdt", "tick", obj, "--", target}, 2, "", `--usdt "tick": want PATH:PROVIDER:NAME`, 0},
		{"twice", []string{"--usdt", tick, "--usdt", gated, obj, "--", target}, 2, "", "--usdt PATH:PROVIDER:NAME is given once", 0},
		{"unknown program", []string{"--usdt", "nope=" + tick, "--usdt", tick, obj, "--", target}, 2, "", `--usdt nope=...: ` + obj + ` has no SEC("usdt") program nope`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"trace"}, c.args...)...)
			events := strings.Count(errOut, "events: {")
			if strings.HasPrefix(c.name, "json") {
				events = strings.Count(errOut, `{"map":"events"`)
			}
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) || events != c.events {
				if len(errOut) > 2000 { // the dump of __bpf_usdt_specs
					errOut = errOut[len(errOut)-2000:]
				}
				t.Errorf("exit %d, stdout %q, %d events, stderr ...%q; want %d, %q, %d events, %q", code, out, events, errOut, c.code, c.out, c.events, c.err)
			}
		})
	}
}

// TestTraceUSDTPid: waggle trace --pid attaches USDT programs to a
// running process; they see what it fires while attached, and its
// semaphores are set from the moment the probes are in.
func TestTraceUSDTPid(t *testing.T) {
	skipUnlessTrace(t)
	target := proctest.BuildSDT(t, "../../testdata/usdt/target.c", "-O2", "-pthread")
	cmd, stdin, lines := proctest.StartReady(t, "ready", target, "2", "10", "wait")
	type result struct {
		code   int
		errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := runCLI(t, "", "trace", "--pid", itoa(cmd.Process.Pid), "--usdt", "tick="+target+":waggle:tick",
			"--usdt", "gated_probe="+target+":waggle:gated", "../../testdata/usdt/usdt.o")
		done <- result{code, errOut}
	}()
	// The probes are in once the gated probe's semaphore is set.
	sem := semaphoreAddress(t, cmd.Process.Pid, target, "waggle_gated_semaphore")
	for deadline := time.Now().Add(10 * time.Second); semaphoreAt(cmd.Process.Pid, sem) != 1; time.Sleep(10 * time.Millisecond) {
		select {
		case r := <-done:
			t.Fatalf("waggle trace ended: exit %d, stderr %q", r.code, r.errOut)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the semaphore was not set within 10 s")
		}
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	if s, err := lines.ReadString('\n'); err != nil || s != "gated 5\n" {
		t.Errorf("target said %q, %v; want gated 5", s, err)
	}
	if _, err := io.WriteString(stdin, "end\n"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	for _, want := range []string{"usdt/" + target + ":waggle:gated gated_probe: 5 runs, 0 failed", "usdt/" + target + ":waggle:tick tick: 20 runs, 0 failed"} {
		if r.code != 0 || !strings.Contains(r.errOut, want) {
			t.Errorf("exit %d, stderr %q; want %q", r.code, r.errOut, want)
		}
	}
	if n := strings.Count(r.errOut, "events: {value: -7, constant: -3, pid: "+itoa(cmd.Process.Pid)+"}"); n != 5 {
		t.Errorf("%d events of process %d printed, want 5:\n%s", n, cmd.Process.Pid, r.errOut)
	}
}

// semaphoreAddress is where the semaphore name of the PIE target is in
// process pid.
func semaphoreAddress(t *testing.T, pid int, target, name string) uint64 {
	t.Helper()
	f, err := elf.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	maps, err := symtab.ReadMaps(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name != name {
			continue
		}
		for _, m := range maps {
			if m.Offset == 0 && m.Path == target {
				return m.Start + s.Value
			}
		}
	}
	t.Fatalf("%s: no %s, or not mapped", target, name)
	return 0
}

// semaphoreAt reads the 16-bit semaphore at addr in process pid.
func semaphoreAt(pid int, addr uint64) int {
	f, err := os.Open("/proc/" + itoa(pid) + "/mem")
	if err != nil {
		return -1
	}
	defer f.Close()
	var b [2]byte
	if _, err := f.ReadAt(b[:], int64(addr)); err != nil {
		return -1
	}
	return int(b[0]) | int(b[1])<<8
}

// TestTraceUSDTSection: a program whose section names its probe
// (usdt/./target:waggle:gated, libbpf's spelling) runs there without
// --usdt; the path is the current directory's target.
func TestTraceUSDTSection(t *testing.T) {
	skipUnlessTrace(t)
	target := proctest.BuildSDT(t, "../../testdata/usdt/target.c", "-O2", "-pthread")
	obj, err := filepath.Abs("../../testdata/usdt/named.o")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(target))
	code, out, errOut := runCLI(t, "", "trace", "--dump-maps", obj, "--", "./target", "1", "1")
	// gated_value (-7) times -3, five times.
	for _, want := range []string{"usdt/./target:waggle:gated named_gated: 5 runs, 0 failed", "runs: 5", "sum: 105"} {
		if code != 0 || out != "gated 5\n" || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, stdout %q, stderr %q; want gated 5 and %q", code, out, errOut, want)
		}
	}
	// --usdt for a program whose section names its probe is refused,
	// not silently ignored.
	code, _, errOut = runCLI(t, "", "trace", "--usdt", "named_gated=./target:waggle:tick", obj, "--", "./target", "1", "1")
	if want := `--usdt named_gated=...: program named_gated's section usdt/./target:waggle:gated names its probe already`; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
}
