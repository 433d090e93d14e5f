package link_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/isa"
	"github.com/waggle-ebpf/waggle/link"
)

// callPtraceEnv makes this test binary, started as a command, call
// ptrace: a system call that the read_only policy kills.
const callPtraceEnv = "LINK_TEST_CALL_PTRACE"

// getppidLoopEnv makes this test binary, started as a command, call
// getppid that many times and print the time of one call in ns.
const getppidLoopEnv = "LINK_TEST_GETPPID_LOOP"

func TestMain(m *testing.M) {
	if script := os.Getenv(supervisorEnv); script != "" {
		os.Exit(actAsSupervisor(script))
	}
	if spec := os.Getenv(threadsEnv); spec != "" {
		os.Exit(callFromThreads(spec))
	}
	if dir := os.Getenv(raceEnv); dir != "" {
		os.Exit(racePath(dir))
	}
	if os.Getenv(callPtraceEnv) != "" {
		_, _, _ = unix.Syscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0)
		os.Exit(0)
	}
	if n, err := strconv.Atoi(os.Getenv(getppidLoopEnv)); err == nil {
		start := time.Now()
		for range n {
			unix.Getppid()
		}
		fmt.Printf("%.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// needSeccomp skips where the kernel has no seccomp filters.
func needSeccomp(t *testing.T) {
	t.Helper()
	kerneltest.SkipIfEmulated(t, "waggle re-executes itself to install the filter, and the filter would judge the emulator's system calls")
	if runtime.GOARCH != "amd64" {
		t.Skipf("the policies of testdata/seccomp are x86-64's: they kill the calls of %s", runtime.GOARCH)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to run commands with")
	}
	if err := unix.Prctl(unix.PR_GET_SECCOMP, 0, 0, 0, 0); errors.Is(err, unix.EINVAL) {
		t.Skip("this kernel has no seccomp (CONFIG_SECCOMP)")
	}
}

// runUnder runs a shell command under a policy and returns its exit code
// and output.
func runUnder(t *testing.T, p *waggle.Program, script string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	l, err := link.AttachExec(p, link.ExecOptions{Path: "sh", Args: []string{"sh", "-c", script}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	info := l.Info()
	if info.Hook != "syscalls" || len(info.Programs) != 1 || info.Programs[0] != p || len(info.Counts) != 2 {
		t.Errorf("Info: %+v", info)
	}
	return l.ExitCode(), out.String()
}

// TestExecPolicies: commands and all the processes they start run under
// the policy, decided by the kernel.
func TestExecPolicies(t *testing.T) {
	needSeccomp(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "protected")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, policy, script string
		code                 int
		out                  string
	}{
		{"rm refused", "deny_unlink", "rm " + file, 1, "Operation not permitted"},
		{"a child's rm refused", "deny_unlink", "sh -c 'rm -f " + file + "'; echo child=$?", 0, "child=1"},
		{"reading allowed", "read_only", "cat " + file, 0, "keep"},
		{"writing refused", "read_only", "echo x > " + file, 2, "Permission denied"},
		{"a pipeline's write refused", "read_only", "cat " + file + " | (cat > " + file + ") ; echo $?", 0, "Permission denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := runUnder(t, policy(t, c.policy), c.script)
			if code != c.code || !strings.Contains(out, c.out) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out, c.code, c.out)
			}
		})
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("the protected file: %q, %v", b, err)
	}
}

// TestExecKill: a KILL_PROCESS decision kills the command with SIGSYS,
// reported as a shell does (128 + 31), in the kernel or by waggle.
func TestExecKill(t *testing.T) {
	needSupervision(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Lowered, the kernel kills with SIGSYS; supervised (every call to
	// waggle), waggle does: with SIGSYS too, unless the process catches
	// it, as this Go test binary does (Go's runtime handles SIGSYS), and
	// then with SIGKILL, which cannot be caught.
	for _, supervised := range []bool{false, true} {
		l, err := link.AttachExec(policy(t, "read_only"), link.ExecOptions{Path: self, Args: []string{self}, NotifyAll: supervised,
			Env: append(os.Environ(), callPtraceEnv+"=1")})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Wait(); err != nil {
			t.Fatal(err)
		}
		l.Close()
		want := 128 + int(unix.SIGSYS)
		if supervised {
			want = 128 + int(unix.SIGKILL)
		}
		if code := l.ExitCode(); code != want {
			t.Fatalf("supervised %v: exit code %d, want %d", supervised, code, want)
		}
		if supervised && l.Stats().Killed != 1 {
			t.Errorf("stats %+v: want one kill", l.Stats())
		}
	}
}

// TestExecOutlivesWaggle: the kernel enforces the policy, not waggle: a
// process that the command leaves behind is still refused after the
// link is closed and nothing of waggle waits for it.
func TestExecOutlivesWaggle(t *testing.T) {
	needSeccomp(t)
	file := filepath.Join(t.TempDir(), "protected")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := file + ".tried"
	l, err := link.AttachExec(policy(t, "deny_unlink"), link.ExecOptions{Path: "sh",
		Args: []string{"sh", "-c", "(sleep 0.3; rm -f " + file + "; touch " + done + ") >/dev/null 2>&1 & exit 0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(done); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background process did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the process left behind removed the file: %v", err)
	}
}

// TestAttachExecErrors: what cannot run is refused before anything starts.
func TestAttachExecErrors(t *testing.T) {
	xdp, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "pass", Type: ebpf.XDP, Instructions: isa.Instructions{
		{Opcode: isa.OpMov64, Dst: isa.R0, Imm: 2},
		{Opcode: isa.OpExit},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    *waggle.Program
		opts link.ExecOptions
		want string
	}{
		{"no program", nil, link.ExecOptions{Path: "true"}, "no policy"},
		{"not a policy", xdp, link.ExecOptions{Path: "true"}, "program pass is of type XDP"},
		{"a trace of another type", nil, link.ExecOptions{Path: "true", Traces: []link.Trace{{Program: xdp, Section: "xdp"}}}, "a program of type XDP"},
		{"a trace without a program", nil, link.ExecOptions{Path: "true", Traces: []link.Trace{{Section: "tp/syscalls/sys_enter_openat"}}}, "no program"},
		{"no command", policy(t, "deny_unlink"), link.ExecOptions{}, "no command"},
		{"missing command", policy(t, "deny_unlink"), link.ExecOptions{Path: "no-such-command-waggle"}, "no-such-command-waggle"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := link.AttachExec(c.p, c.opts)
			if err == nil {
				l.Close()
				t.Fatal("attached")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v, want %q", err, c.want)
			}
		})
	}
}

// BenchmarkLoweredPolicy measures what a lowered policy costs a system call
// it decides (getppid, allowed after the policy's comparisons): the command
// times its own getppid calls, run bare and under each policy, one after
// the other in each round; ns/op is the bare call, the policies' extra
// time per call their own metrics; allow_all, a lone ret ALLOW, is the
// kernel's cost of any filter.
func BenchmarkLoweredPolicy(b *testing.B) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	const calls = 2_000_000
	env := append(os.Environ(), getppidLoopEnv+"="+strconv.Itoa(calls))
	perCall := func(out []byte) float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			b.Fatalf("the command printed %q", out)
		}
		return v
	}
	// allow_all, a filter of one `ret ALLOW`, is what the kernel charges
	// for having a seccomp filter at all: the floor of any policy.
	policies := []string{"allow_all", "deny_unlink", "read_only"}
	progs := map[string]*waggle.Program{}
	for _, name := range policies[1:] {
		progs[name] = policy(&testing.T{}, name)
	}
	allowAll, err := assembler.Assemble("mov32 %r0, 0x7fff0000\nexit")
	if err != nil {
		b.Fatal(err)
	}
	if progs["allow_all"], err = waggle.NewProgram(&waggle.ProgramSpec{Name: "allow_all", Type: waggle.Seccomp, Instructions: allowAll}); err != nil {
		b.Fatal(err)
	}
	defer progs["allow_all"].Close()
	var bare float64
	extra := map[string]float64{}
	for b.Loop() {
		cmd := exec.Command(self)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		bare += perCall(out)
		for _, name := range policies {
			var buf bytes.Buffer
			l, err := link.AttachExec(progs[name], link.ExecOptions{Path: self, Args: []string{self}, Env: env, Stdout: &buf})
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Wait(); err != nil {
				b.Fatal(err)
			}
			l.Close()
			extra[name] += perCall(buf.Bytes())
		}
	}
	n := float64(b.N)
	b.ReportMetric(bare/n, "ns/op")
	for _, name := range policies {
		b.ReportMetric((extra[name]-bare)/n, "extra-ns/call-"+name)
	}
}
