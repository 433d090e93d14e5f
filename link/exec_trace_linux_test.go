package link_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/link"
)

// openEvent is struct event of testdata/syscalls/opens.c.
type openEvent struct {
	pid, tid, uid uint32
	flags         int32
	comm, fname   string
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// TestExecTraceOpens: an entry program of syscalls/sys_enter_openat sees
// every openat of the command and its children, with the caller's pid,
// name and path (read from its memory), and the calls go on.
func TestExecTraceOpens(t *testing.T) {
	needSupervision(t)
	coll, traces := traceObject(t, "opens")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	l, err := link.AttachExec(nil, link.ExecOptions{Path: "sh", Traces: traces,
		Args: []string{"sh", "-c", fmt.Sprintf("cat %s; (cat %s) & wait; echo > %s/new", a, b, dir)}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "xx" || l.ExitCode() != 0 {
		t.Fatalf("exit %d, output %q", l.ExitCode(), out.String())
	}
	entries, err := coll.Maps["events"].Dump()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]openEvent{}
	for _, en := range entries {
		v := en.Value
		e := openEvent{pid: binary.NativeEndian.Uint32(v[0:]), tid: binary.NativeEndian.Uint32(v[4:]), uid: binary.NativeEndian.Uint32(v[8:]),
			flags: int32(binary.NativeEndian.Uint32(v[12:])), comm: cString(v[16:32]), fname: cString(v[32:])}
		byName[e.fname] = e
	}
	ea, eb, en := byName[a], byName[b], byName[dir+"/new"]
	if ea.comm != "cat" || eb.comm != "cat" || ea.pid == 0 || eb.pid == 0 || ea.pid == eb.pid || ea.pid != ea.tid {
		t.Errorf("events %+v and %+v: want two cats of different processes", ea, eb)
	}
	if ea.pid == uint32(l.Pid()) || eb.pid == uint32(l.Pid()) {
		t.Errorf("a cat has the shell's pid %d", l.Pid())
	}
	if en.pid != uint32(l.Pid()) || en.comm != "sh" || en.flags&unix.O_CREAT == 0 || en.uid != uint32(os.Getuid()) {
		t.Errorf("the shell's redirection: %+v, want pid %d, sh, O_CREAT, uid %d", en, l.Pid(), os.Getuid())
	}
	st := l.Stats()
	// openat, and the calls that change a thread's name and IDs (which
	// waggle caches), reach waggle.
	for name := range st.Syscalls {
		if !map[string]bool{"openat": true, "execve": true, "clone": true, "vfork": true, "clone3": true, "fork": true}[name] {
			t.Errorf("%s reached waggle", name)
		}
	}
	if st.Syscalls["openat"] == 0 || st.Programs[0].Runs != st.Syscalls["openat"] {
		t.Errorf("stats %+v: every openat should reach waggle, each with a run", st)
	}
}

// TestExecTraceThreads: raw_syscalls/sys_enter counts every call of a
// command's threads, exactly, under the thread's process.
func TestExecTraceThreads(t *testing.T) {
	needSupervision(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	coll, traces := traceObject(t, "count_all")
	const threads, calls = 3, 2000
	l, err := link.AttachExec(nil, link.ExecOptions{Path: self, Args: []string{self}, Traces: traces,
		Env: append(os.Environ(), fmt.Sprintf("%s=%d:%d", threadsEnv, threads, calls))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	var n, total uint64
	if err := coll.Maps["counts"].Lookup(uint32(unix.SYS_GETPPID), &n); err != nil {
		t.Fatal(err)
	}
	if n != threads*calls {
		t.Errorf("getppid counted %d times, want %d", n, threads*calls)
	}
	if err := coll.Maps["by_pid"].Lookup(uint32(l.Pid()), &total); err != nil {
		t.Fatalf("no count for the command's pid %d: %v", l.Pid(), err)
	}
	// Every call that reached waggle ran the program under the
	// process's ID, but those of threads killed by the exit before their
	// call was answered (the runtime's threads in futex or nanosleep),
	// which the kernel's tracepoint would not see either.
	st := l.Stats()
	if total != st.Runs || st.Runs > st.Notifications || st.Notifications-st.Runs > st.Gone {
		t.Errorf("the process counted %d calls, waggle saw %d (stats %+v)", total, st.Notifications, st)
	}
}

// retEvent is struct event of testdata/syscalls/opens_ret.c.
type retEvent struct {
	pid, tid    uint32
	ret         int64
	comm, fname string
}

// TestExecTraceExit: exit programs get each call's result (ptrace, two
// stops per openat, none for other calls), paired with the entry by
// thread as opensnoop does, in every process of the command.
func TestExecTraceExit(t *testing.T) {
	needSupervision(t)
	coll, traces := traceObject(t, "opens_ret")
	dir := t.TempDir()
	file := filepath.Join(dir, "present")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	var out bytes.Buffer
	l, err := link.AttachExec(nil, link.ExecOptions{Path: "sh", Traces: traces,
		Args: []string{"sh", "-c", fmt.Sprintf("cat %s; (cat %s 2>/dev/null) & wait; echo done", file, missing)}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "xdone\n" || l.ExitCode() != 0 {
		t.Fatalf("exit %d, output %q", l.ExitCode(), out.String())
	}
	entries, err := coll.Maps["events"].Dump()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]retEvent{}
	for _, en := range entries {
		v := en.Value
		e := retEvent{pid: binary.NativeEndian.Uint32(v[0:]), tid: binary.NativeEndian.Uint32(v[4:]), ret: int64(binary.NativeEndian.Uint64(v[8:])),
			comm: cString(v[20:36]), fname: cString(v[36:])}
		byName[e.fname] = e
	}
	present, absent := byName[file], byName[missing]
	if present.ret < 3 || present.comm != "cat" || absent.ret != -int64(unix.ENOENT) || absent.comm != "cat" || present.pid == absent.pid {
		t.Errorf("events %+v and %+v: want a descriptor for %s and -ENOENT for %s, from two cats", present, absent, file, missing)
	}
	st := l.Stats()
	if st.PtraceStops != 2*st.Syscalls["openat"] || st.Programs[0].Runs != st.Programs[1].Runs {
		t.Errorf("stats %+v: want two ptrace stops and one run of each program per openat", st)
	}
}

// TestAttachProcess: a running process is traced (its children too)
// until Close, which leaves it running as before.
func TestAttachProcess(t *testing.T) {
	needSupervision(t)
	coll, traces := traceObject(t, "opens_ret")
	dir := t.TempDir()
	file, stop := filepath.Join(dir, "file"), filepath.Join(dir, "stop")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", fmt.Sprintf("while [ ! -e %s ]; do cat %s >/dev/null; sleep 0.02; done; exit 3", stop, file))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	l, err := link.AttachProcess(link.ProcessOptions{PID: cmd.Process.Pid, Traces: traces})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := coll.Maps["events"].Dump()
	if err != nil {
		t.Fatal(err)
	}
	cats := 0
	for _, en := range entries {
		v := en.Value
		if cString(v[36:]) == file && cString(v[20:36]) == "cat" && int64(binary.NativeEndian.Uint64(v[8:])) >= 0 &&
			binary.NativeEndian.Uint32(v[0:]) != uint32(cmd.Process.Pid) {
			cats++
		}
	}
	if cats == 0 {
		t.Errorf("no event of a cat opening %s among %d", file, len(entries))
	}
	st := l.Stats()
	t.Logf("%d cats seen; stats %+v", cats, st)
	// Detached: the process runs on, unstopped, and ends as it would.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); f[0] == "t" || f[0] == "T" {
		t.Errorf("the process is left stopped: %s", stat)
	}
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("the process ended with %v, want exit status 3", err)
	}
}

// TestExecTraceExitClose: Close of a link with exit programs (ptrace)
// returns even when the command left a process behind, which it kills.
func TestExecTraceExitClose(t *testing.T) {
	needSupervision(t)
	_, traces := traceObject(t, "opens_ret")
	l, err := link.AttachExec(nil, link.ExecOptions{Path: "sh", Traces: traces,
		Args: []string{"sh", "-c", "(while :; do cat /dev/null; sleep 0.05; done) & while :; do sleep 1; done"}})
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
	if code := l.ExitCode(); code != 128+int(unix.SIGKILL) {
		t.Errorf("exit code %d, want %d", code, 128+int(unix.SIGKILL))
	}
}
