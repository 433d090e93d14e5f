package link_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// TestExecSupervisedQuota: a policy with a map runs in waggle on the
// calls its triage cannot decide in the kernel (unlink, unlinkat): the
// first two removals pass, the third fails, the other calls never leave
// the kernel.
func TestExecSupervisedQuota(t *testing.T) {
	needSupervision(t)
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"a", "b", "c"} {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var out bytes.Buffer
	l, err := link.AttachExec(policy(t, "unlink_quota"), link.ExecOptions{Path: "sh",
		Args: []string{"sh", "-c", "for f in " + strings.Join(files, " ") + "; do rm $f; done; echo done"}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if !l.Supervised() {
		t.Error("not supervised")
	}
	for i, f := range files {
		_, err := os.Stat(f)
		if exists := err == nil; exists != (i == 2) {
			t.Errorf("%s exists: %v", f, exists)
		}
	}
	if !strings.Contains(out.String(), "Operation not permitted") || !strings.Contains(out.String(), "done") {
		t.Errorf("output %q", out.String())
	}
	st := l.Stats()
	t.Logf("%+v", st)
	if st.Notifications != 3 || st.Allowed != 2 || st.Denied != 1 || st.Runs != 3 {
		t.Errorf("stats %+v: want 3 notified calls, 2 allowed, 1 denied, 3 runs", st)
	}
}

// supervisorEnv makes this test binary, started as a command, act as
// waggle: it runs the shell script given under the unlink_quota policy,
// prints the command's PID and waits for it, until the test kills it.
const supervisorEnv = "LINK_TEST_SUPERVISOR"

// supervisorTraceEnv makes the supervisor of supervisorEnv attach the
// opens_ret traces (exit programs: ptrace) instead of the policy.
const supervisorTraceEnv = "LINK_TEST_SUPERVISOR_TRACE"

// threadsEnv makes this test binary, started as a command, call getppid
// from threads: "THREADS:CALLS" (calls per thread).
const threadsEnv = "LINK_TEST_THREADS"

func actAsSupervisor(script string) int {
	obj, name := "../testdata/seccomp/unlink_quota.o", "unlink_quota"
	traced := os.Getenv(supervisorTraceEnv) != ""
	if traced {
		obj = "../testdata/syscalls/opens_ret.o"
	}
	spec, err := waggle.LoadCollectionSpec(obj)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := link.ExecOptions{Path: "sh", Args: []string{"sh", "-c", script}}
	policy := coll.Programs[name]
	if traced {
		policy = nil
		for pname, ps := range spec.Programs {
			opts.Traces = append(opts.Traces, link.Trace{Program: coll.Programs[pname], Section: ps.SectionName})
		}
	}
	l, err := link.AttachExec(policy, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(l.Pid())
	if err := l.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func callFromThreads(spec string) int {
	var threads, calls int
	if _, err := fmt.Sscanf(spec, "%d:%d", &threads, &calls); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			for range calls {
				unix.Getppid()
			}
		})
	}
	wg.Wait()
	return 0
}

// TestExecFailClosed: when waggle dies, the calls the policy decides in
// user space fail with ENOSYS (the kernel's answer once the listener is
// gone): the command does not go on unpoliced.
func TestExecFailClosed(t *testing.T) {
	needSupervision(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file, errs, stop := filepath.Join(dir, "f"), filepath.Join(dir, "errors"), filepath.Join(dir, "stop")
	script := fmt.Sprintf("while [ ! -e %[3]s ]; do touch %[1]s; rm %[1]s 2>>%[2]s; sleep 0.02; done", file, errs, stop)
	sup := exec.Command(self)
	sup.Env = append(os.Environ(), supervisorEnv+"="+script)
	stdout, err := sup.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sup.Stderr = os.Stderr
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = sup.Process.Kill()
		_ = sup.Wait()
	}()
	var pid int
	if _, err := fmt.Fscan(stdout, &pid); err != nil {
		t.Fatalf("the supervisor printed no PID: %v", err)
	}
	defer func() {
		_ = os.WriteFile(stop, nil, 0o644)
		_ = unix.Kill(pid, unix.SIGKILL)
	}()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(errs)
			if strings.Contains(string(b), what) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the command's errors: %q", what, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The quota of two removals is spent: the policy refuses.
	waitFor("Operation not permitted")
	if err := sup.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = sup.Wait()
	// waggle is gone: the kernel answers for it.
	waitFor("Function not implemented")
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the file was removed after waggle died: %v", err)
	}
	if err := unix.Kill(pid, 0); err != nil {
		t.Errorf("the command is gone too (%v): the test shows nothing", err)
	}
}

// TestExecSupervisedForks: children and threads inherit the supervised
// policy: the quota counts the removals of every process.
func TestExecSupervisedForks(t *testing.T) {
	needSupervision(t)
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c", "d"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	l, err := link.AttachExec(policy(t, "unlink_quota"), link.ExecOptions{Path: "sh", Dir: dir,
		Args: []string{"sh", "-c", "(rm a) & wait; sh -c 'rm b'; (sh -c 'rm c' &); sleep 0.2; rm d; echo rc=$?"}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "rc=1") {
		t.Errorf("output %q: the fourth removal (third process) should fail", out.String())
	}
	left := 0
	for _, name := range []string{"a", "b", "c", "d"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			left++
		}
	}
	if left != 2 {
		t.Errorf("%d files left, want 2", left)
	}
}

// TestExecLoweredEqualsSupervised: the policies of testdata/seccomp give
// the same decisions lowered (in the kernel) and run in waggle on every
// system call of a workload that opens, writes, reads and removes files.
func TestExecLoweredEqualsSupervised(t *testing.T) {
	needSupervision(t)
	for _, name := range []string{"deny_unlink", "read_only"} {
		t.Run(name, func(t *testing.T) {
			p := policy(t, name)
			results := map[bool]string{}
			for _, all := range []bool{false, true} {
				dir := t.TempDir()
				var out bytes.Buffer
				l, err := link.AttachExec(p, link.ExecOptions{Path: "sh", Dir: dir, NotifyAll: all,
					Args: []string{"sh", "-c", "for i in $(seq 40); do echo $i > f$i; cat f$i; ls; rm f$i; mkdir d$i; rmdir d$i; done 2>&1; echo end"}, Stdout: &out, Stderr: &out})
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Wait(); err != nil {
					t.Fatal(err)
				}
				l.Close()
				if l.Supervised() != all {
					t.Fatalf("supervised %v", l.Supervised())
				}
				st := l.Stats()
				if all && st.Notifications < 1000 {
					t.Errorf("only %d calls reached waggle", st.Notifications)
				}
				results[all] = fmt.Sprintf("exit %d\n%s", l.ExitCode(), strings.ReplaceAll(out.String(), dir, "DIR"))
			}
			if results[false] != results[true] {
				t.Errorf("lowered:\n%s\nsupervised:\n%s", results[false], results[true])
			}
		})
	}
}

// TestExecSupervisedLoad: threads of a command make 10,000s of system
// calls that a counting policy sees in waggle: none is lost, none hangs.
func TestExecSupervisedLoad(t *testing.T) {
	needSupervision(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const threads, calls = 4, 5000
	spec, err := waggle.LoadCollectionSpec("../testdata/seccomp/count_calls.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	start := time.Now()
	l, err := link.AttachExec(coll.Programs["count_calls"], link.ExecOptions{Path: self, Args: []string{self},
		Env: append(os.Environ(), fmt.Sprintf("%s=%d:%d", threadsEnv, threads, calls))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if code := l.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	var n uint64
	if err := coll.Maps["calls"].Lookup(uint32(unix.SYS_GETPPID), &n); err != nil {
		t.Fatal(err)
	}
	if n != threads*calls {
		t.Errorf("getppid counted %d times, want %d", n, threads*calls)
	}
	st := l.Stats()
	if st.Notifications != st.Runs || st.RunErrors != 0 || st.Allowed != st.Notifications {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d notified calls in %v: %.0f calls/s, %.1f µs in waggle per call", st.Notifications, elapsed,
		float64(st.Notifications)/elapsed.Seconds(), float64(st.Handling.Microseconds())/float64(st.Notifications))
}

// TestExecFailClosedTraced: with exit programs waggle is the command's
// ptrace tracer with PTRACE_O_EXITKILL: when waggle dies, the command
// dies too.
func TestExecFailClosedTraced(t *testing.T) {
	needSupervision(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sup := exec.Command(self)
	sup.Env = append(os.Environ(), supervisorEnv+"=while :; do cat /dev/null; sleep 0.02; done", supervisorTraceEnv+"=1")
	stdout, err := sup.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sup.Stderr = os.Stderr
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = sup.Process.Kill()
		_ = sup.Wait()
	}()
	var pid int
	if _, err := fmt.Fscan(stdout, &pid); err != nil {
		t.Fatalf("the supervisor printed no PID: %v", err)
	}
	defer unix.Kill(pid, unix.SIGKILL)
	time.Sleep(200 * time.Millisecond)
	if err := unix.Kill(pid, 0); err != nil {
		t.Fatalf("the command is not running: %v", err)
	}
	if err := sup.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = sup.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for unix.Kill(pid, 0) == nil {
		// Reaped by init once killed; a zombie still answers kill(0).
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command still runs after waggle died")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExecSupervisedClose: Close returns even when the command left a
// process behind under the filter; that process's calls then fail with
// ENOSYS (the listener is gone).
func TestExecSupervisedClose(t *testing.T) {
	needSupervision(t)
	dir := t.TempDir()
	errs := filepath.Join(dir, "errors")
	l, err := link.AttachExec(policy(t, "unlink_quota"), link.ExecOptions{Path: "sh", Dir: dir,
		Args: []string{"sh", "-c", "(for i in $(seq 100); do touch f; rm f 2>>" + errs + "; sleep 0.02; done) & while :; do sleep 1; done"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- l.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(errs)
		if strings.Contains(string(b), "Function not implemented") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process left behind was not refused: %q", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExecDenyExec: a policy reading execve's path kills the process
// that runs id, and only it.
func TestExecDenyExec(t *testing.T) {
	needSupervision(t)
	var out bytes.Buffer
	l, err := link.AttachExec(policy(t, "deny_exec"), link.ExecOptions{Path: "sh", Stdout: &out, Stderr: &out,
		Args: []string{"sh", "-c", "id; echo after=$?; sh -c 'echo child'"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, fmt.Sprintf("after=%d\n", 128+int(unix.SIGSYS))) || !strings.Contains(got, "child\n") || strings.Contains(got, "uid=") {
		t.Errorf("output %q: want id killed by SIGSYS and the rest run", got)
	}
	if st := l.Stats(); st.Killed != 1 || st.Syscalls["execve"] < 2 {
		t.Errorf("stats %+v", st)
	}
}

// needSupervision skips where the supervised path cannot run: off x86-64
// (TestPrefilter checks the refusal), and where the kernel lacks what it
// uses: seccomp user notification (Linux 5.0), pidfd_getfd (5.6) and
// SECCOMP_ADDFD_FLAG_SEND (5.14).
func needSupervision(t *testing.T) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("the supervised path knows x86-64's system calls and registers only; this is %s", runtime.GOARCH)
	}
	needSeccomp(t)
	var sizes [3]uint16
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_NOTIF_SIZES, 0, uintptr(unsafe.Pointer(&sizes))); errno != 0 {
		t.Skipf("this kernel has no seccomp user notification (SECCOMP_GET_NOTIF_SIZES: %v; Linux 5.0)", errno)
	}
	if _, err := unix.PidfdGetfd(-1, 0, 0); errors.Is(err, unix.ENOSYS) {
		t.Skip("this kernel has no pidfd_getfd (Linux 5.6)")
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		var major, minor int
		if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor); err == nil && (major < 5 || major == 5 && minor < 14) {
			t.Skipf("kernel %d.%d has no SECCOMP_ADDFD_FLAG_SEND (Linux 5.14)", major, minor)
		}
	}
}
