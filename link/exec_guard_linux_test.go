//go:build linux

package link_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// TestExecExecveRace: a thread flips a path between DIR/ok (a copy of
// true) and DIR/id (a copy of false) while vfork children execve it, a
// thousand times, under deny_exec, which kills the exec of a file named
// id. waggle cannot make an execve itself; with the guard, an exec whose
// path changed after the check is killed at its exec stop, and no id
// ever runs. With ContinuePathCalls (no guard), the ids that ran anyway
// are logged.
func TestExecExecveRace(t *testing.T) {
	needSupervision(t)
	racer := proctest.BuildC(t, "testdata/exec_race.c", "-O1", "-pthread")
	dir := t.TempDir()
	ok, id := filepath.Join(dir, "ok"), filepath.Join(dir, "id")
	for bin, src := range map[string]string{ok: "true", id: "false"} {
		path, err := exec.LookPath(src)
		if err != nil {
			t.Skipf("skipped: no %s: %v", src, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := policy(t, "deny_exec")
	for _, racy := range []bool{false, true} {
		var out bytes.Buffer
		l, err := link.AttachExec(p, link.ExecOptions{Path: racer, Args: []string{racer, ok, id, "1000"}, Stdout: &out, Stderr: &out,
			ContinuePathCalls: racy})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Wait(); err != nil {
			t.Fatal(err)
		}
		l.Close()
		var oks, ids, failed, killed int
		if _, err := fmt.Sscan(out.String(), &oks, &ids, &failed, &killed); err != nil {
			t.Fatalf("the racer printed %q (exit %d)", out.String(), l.ExitCode())
		}
		st := l.Stats()
		t.Logf("ContinuePathCalls %v: %d oks ran, %d ids ran, %d execs failed, %d children killed (%d by the guard at their exec)", racy, oks, ids, failed, killed, st.ExecsChanged)
		if racy {
			continue
		}
		if ids != 0 {
			t.Errorf("id ran %d times under a policy that forbids it", ids)
		}
		if oks == 0 || killed == 0 {
			t.Errorf("%d oks, %d killed: the race did not alternate, the test shows nothing", oks, killed)
		}
	}
}

// TestExecGuardAllows: the guard lets through what the policy allowed and
// the kernel loaded unchanged: binaries by absolute and relative paths,
// scripts (the kernel loads their interpreter) with and without the
// interpreter's optional argument, and execs that fail.
func TestExecGuardAllows(t *testing.T) {
	needSupervision(t)
	dir := t.TempDir()
	for name, text := range map[string]string{
		"plain.sh": "#!/bin/sh\necho plain\n",
		"arg.sh":   "#! /bin/sh -e\necho arg\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	l, err := link.AttachExec(policy(t, "deny_exec"), link.ExecOptions{Path: "sh", Dir: dir, Stdout: &out, Stderr: &out,
		Args: []string{"sh", "-c", "./plain.sh; " + filepath.Join(dir, "arg.sh") + "; /bin/echo bin; ./missing 2>/dev/null; echo $?"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "plain\narg\nbin\n127\n"; got != want || l.ExitCode() != 0 {
		t.Errorf("output %q, exit %d; want %q, 0", got, l.ExitCode(), want)
	}
	if st := l.Stats(); st.ExecsChanged != 0 || st.Killed != 0 {
		t.Errorf("stats %+v: nothing should have been killed", st)
	}
}
