package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// TestExec: waggle exec runs a command under a policy and exits with its
// status; --explain prints the classic filter; a policy that cannot be
// lowered is refused before anything runs.
func TestExec(t *testing.T) {
	const policies, traces = "../../testdata/seccomp/", "../../testdata/syscalls/"
	file := filepath.Join(t.TempDir(), "protected")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(t.TempDir(), "events.txt")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"refused", []string{"--policy", policies + "deny_unlink.o", "--", "rm", file}, 1, "", "Operation not permitted"},
		{"allowed", []string{"--policy", policies + "deny_unlink.o", "sh", "-c", "cat " + file}, 0, "keep", ""},
		{"status", []string{"--policy", policies + "deny_unlink.o", "sh", "-c", "exit 7"}, 7, "", ""},
		{"explain", []string{"--explain", "--policy", policies + "read_only.o"}, 0, "", "ld [args[2] + 4]"},
		{"explain supervised", []string{"--explain", "--policy", policies + "unlink_quota.o"}, 0, "", "leave it for waggle: unlink unlinkat other"},
		{"supervised", []string{"--policy", policies + "count_calls.o", "sh", "-c", "exit 3"}, 3, "", "system calls reached waggle"},
		{"dump maps", []string{"--dump-maps", "--policy", policies + "unlink_quota.o", "rm", victim}, 0, "", "map unlinks: 1 entry\n  key 0 value 1"},
		{"trace", []string{"--trace", traces + "opens.o", "cat", file}, 0, "keep", "comm: cat, fname: " + file + "}"},
		{"trace json", []string{"--json", "--trace", traces + "opens.o", "cat", file}, 0, "keep", `"comm":"cat","fname":"` + file + `"}}`},
		{"trace output", []string{"--output", outFile, "--trace", traces + "opens.o", "cat", file}, 0, "keep", ""},
		{"exit trace", []string{"--trace", traces + "opens_ret.o", "cat", file}, 0, "keep", "comm: cat, fname: " + file + "}"},
		{"pid and policy", []string{"--pid", "1", "--policy", policies + "deny_unlink.o", "--trace", traces + "opens.o"}, 2, "", "cannot be policed"},
		{"pid without trace", []string{"--pid", "1"}, 2, "", "--policy or --trace is required"},
		{"pid and command", []string{"--pid", "1", "--trace", traces + "opens.o", "true"}, 2, "", "choose one"},
		{"set", []string{"--set", "targ_failed=true", "--trace", traces + "opens_ret.o", "sh", "-c", "cat " + file + " " + file + ".missing; true"}, 0, "keep", "ret: -2, flags: 0, comm: cat, fname: " + file + ".missing}"},
		{"set unknown", []string{"--set", "nosuch=1", "--trace", traces + "opens_ret.o", "true"}, 1, "", `no global variable "nosuch" in ../../testdata/syscalls/opens_ret.o (it has targ_failed)`},
		{"set too big", []string{"--set", "targ_failed=300", "--trace", traces + "opens_ret.o", "true"}, 1, "", `variable targ_failed is a bool: "300" is not true, false, 1 or 0`},
		{"set not a number", []string{"--set", "targ_failed=yes", "--trace", traces + "opens_ret.o", "true"}, 1, "", `variable targ_failed is a bool: "yes" is not true, false, 1 or 0`},
		{"set no value", []string{"--set", "targ_failed", "--trace", traces + "opens_ret.o", "true"}, 2, "", `"targ_failed" is not NAME=VALUE`},
		{"metrics", []string{"--metrics", "127.0.0.1:0", "--policy", policies + "unlink_quota.o", "true"}, 0, "", "waggle exec: metrics at http://127.0.0.1:"},
		{"perf event array", []string{"--trace", traces + "execs.o", "sh", "-c", "/bin/true"}, 0, "", "comm: sh, filename: /bin/true}"},
		{"budget", []string{"--budget", "3", "--policy", policies + "path_guard.o", "cat", file}, 127, "", "policy path_guard: 0 runs, "},
		{"negative timeout", []string{"--timeout", "-1s", "--policy", policies + "unlink_quota.o", "true"}, 2, "", "--timeout -1s must not be negative"},
		{"not a trace", []string{"--trace", policies + "deny_unlink.o", "true"}, 1, "", "program deny_unlink (section seccomp) is not a tracing program"},
		{"no policy", []string{"true"}, 2, "", "--policy or --trace is required"},
		{"no command", []string{"--policy", policies + "deny_unlink.o"}, 2, "", "expected a command"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "refused" || c.name == "allowed" || c.name == "status" {
				if runtime.GOOS != "linux" {
					t.Skipf("waggle exec runs commands under seccomp, which needs Linux; this is %s", runtime.GOOS)
				}
				kerneltest.SkipIfEmulated(t, "waggle exec re-executes itself to install the filter, and the filter would judge the emulator's system calls")
			}
			code, out, errOut := runCLI(t, "", append([]string{"exec"}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, c.code, c.out, c.err)
			}
		})
	}
	if b, err := os.ReadFile(outFile); err != nil || !strings.Contains(string(b), "fname: "+file) || !strings.Contains(string(b), "system calls reached waggle") {
		t.Errorf("--output: %q, %v", b, err)
	}
	// --set targ_failed=true: the successful open is not reported.
	if _, _, errOut := runCLI(t, "", "exec", "--set", "targ_failed=true", "--trace", traces+"opens_ret.o", "cat", file); strings.Contains(errOut, "fname: "+file+"}") {
		t.Errorf("--set targ_failed=true reported a successful open:\n%s", errOut)
	}
	// --pid: a running process traced until it exits.
	bg := exec.Command("sh", "-c", "sleep 0.2; cat "+file+" >/dev/null; sleep 0.1; exit 4")
	if err := bg.Start(); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "", "exec", "--pid", strconv.Itoa(bg.Process.Pid), "--trace", traces+"opens_ret.o")
	_ = bg.Wait()
	if code != 4 || !strings.Contains(errOut, "comm: cat, fname: "+file) || !strings.Contains(errOut, "exit status 4") {
		t.Errorf("--pid: exit %d, stderr %q", code, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("the protected file: %q, %v", b, err)
	}
}
