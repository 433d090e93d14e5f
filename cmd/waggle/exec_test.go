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

// What a case of TestExec needs of the system.
const (
	noHook     = iota
	lowered    // runs a command under a lowered policy: Linux
	supervised // runs or traces a command supervised: Linux on x86-64
	prefilter  // prints a supervised link's pre-filter: x86-64's system calls
)

// execRefusal is the error with which waggle exec refuses here what need
// names, or "" where it runs: system call hooks need Linux, and the
// supervised path knows x86-64's system calls and registers only.
func execRefusal(need int) string {
	if (need == lowered || need == supervised) && runtime.GOOS != "linux" {
		return "system call hooks need Linux (seccomp, ptrace), this is " + runtime.GOOS
	}
	if (need == supervised || need == prefilter) && runtime.GOARCH != "amd64" {
		return "waggle knows x86-64's system calls and registers, not " + runtime.GOARCH + "'s"
	}
	return ""
}

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
		need     int // what the case needs of the system
	}{
		{"refused", []string{"--policy", policies + "deny_unlink.o", "--", "rm", file}, 1, "", "Operation not permitted", lowered},
		{"allowed", []string{"--policy", policies + "deny_unlink.o", "sh", "-c", "cat " + file}, 0, "keep", "", lowered},
		{"status", []string{"--policy", policies + "deny_unlink.o", "sh", "-c", "exit 7"}, 7, "", "", lowered},
		{"explain", []string{"--explain", "--policy", policies + "read_only.o"}, 0, "", "ld [args[2] + 4]", noHook},
		{"explain supervised", []string{"--explain", "--policy", policies + "unlink_quota.o"}, 0, "", "leave it for waggle: unlink unlinkat other", prefilter},
		{"supervised", []string{"--policy", policies + "count_calls.o", "sh", "-c", "exit 3"}, 3, "", "system calls reached waggle", supervised},
		{"dump maps", []string{"--dump-maps", "--policy", policies + "unlink_quota.o", "rm", victim}, 0, "", "map unlinks: 1 entry\n  key 0 value 1", supervised},
		{"trace", []string{"--trace", traces + "opens.o", "cat", file}, 0, "keep", "comm: cat, fname: " + file + "}", supervised},
		{"trace json", []string{"--json", "--trace", traces + "opens.o", "cat", file}, 0, "keep", `"comm":"cat","fname":"` + file + `"}}`, supervised},
		{"trace output", []string{"--output", outFile, "--trace", traces + "opens.o", "cat", file}, 0, "keep", "", supervised},
		{"exit trace", []string{"--trace", traces + "opens_ret.o", "cat", file}, 0, "keep", "comm: cat, fname: " + file + "}", supervised},
		{"pid and policy", []string{"--pid", "1", "--policy", policies + "deny_unlink.o", "--trace", traces + "opens.o"}, 2, "", "cannot be policed", noHook},
		{"pid without trace", []string{"--pid", "1"}, 2, "", "--policy or --trace is required", noHook},
		{"pid and command", []string{"--pid", "1", "--trace", traces + "opens.o", "true"}, 2, "", "choose one", noHook},
		{"set", []string{"--set", "targ_failed=true", "--trace", traces + "opens_ret.o", "sh", "-c", "cat " + file + " " + file + ".missing; true"}, 0, "keep", "ret: -2, flags: 0, comm: cat, fname: " + file + ".missing}", supervised},
		{"set unknown", []string{"--set", "nosuch=1", "--trace", traces + "opens_ret.o", "true"}, 1, "", `no global variable "nosuch" in ../../testdata/syscalls/opens_ret.o (it has targ_failed)`, noHook},
		{"set too big", []string{"--set", "targ_failed=300", "--trace", traces + "opens_ret.o", "true"}, 1, "", `variable targ_failed is a bool: "300" is not true, false, 1 or 0`, noHook},
		{"set not a number", []string{"--set", "targ_failed=yes", "--trace", traces + "opens_ret.o", "true"}, 1, "", `variable targ_failed is a bool: "yes" is not true, false, 1 or 0`, noHook},
		{"set no value", []string{"--set", "targ_failed", "--trace", traces + "opens_ret.o", "true"}, 2, "", `"targ_failed" is not NAME=VALUE`, noHook},
		{"metrics", []string{"--metrics", "127.0.0.1:0", "--policy", policies + "unlink_quota.o", "true"}, 0, "", "waggle exec: metrics at http://127.0.0.1:", supervised},
		{"perf event array", []string{"--trace", traces + "execs.o", "sh", "-c", "/bin/true"}, 0, "", "comm: sh, filename: /bin/true}", supervised},
		{"budget", []string{"--budget", "3", "--policy", policies + "path_guard.o", "cat", file}, 127, "", "policy path_guard: 0 runs, ", supervised},
		{"negative timeout", []string{"--timeout", "-1s", "--policy", policies + "unlink_quota.o", "true"}, 2, "", "--timeout -1s must not be negative", noHook},
		{"not a trace", []string{"--trace", policies + "deny_unlink.o", "true"}, 1, "", "program deny_unlink (section seccomp) is not a tracing program", noHook},
		{"no policy", []string{"true"}, 2, "", "--policy or --trace is required", noHook},
		{"no command", []string{"--policy", policies + "deny_unlink.o"}, 2, "", "expected a command", noHook},
	} {
		t.Run(c.name, func(t *testing.T) {
			if refusal := execRefusal(c.need); refusal != "" {
				// What this system lacks is refused, saying so.
				code, _, errOut := runCLI(t, "", append([]string{"exec"}, c.args...)...)
				if code != 1 || !strings.Contains(errOut, refusal) {
					t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, refusal)
				}
				return
			}
			if c.need == lowered || c.need == supervised {
				kerneltest.SkipIfEmulated(t, "waggle exec re-executes itself to install the filter, and the filter would judge the emulator's system calls")
			}
			if c.need == lowered && runtime.GOARCH != "amd64" {
				t.Skipf("the policies of testdata/seccomp are x86-64's: they kill the calls of %s", runtime.GOARCH)
			}
			code, out, errOut := runCLI(t, "", append([]string{"exec"}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, c.code, c.out, c.err)
			}
		})
	}
	// The rest runs commands supervised.
	if refusal := execRefusal(supervised); refusal != "" {
		code, _, errOut := runCLI(t, "", "exec", "--pid", strconv.Itoa(os.Getpid()), "--trace", traces+"opens_ret.o")
		if code != 1 || !strings.Contains(errOut, refusal) {
			t.Errorf("--pid: exit %d, stderr %q; want 1 and %q", code, errOut, refusal)
		}
		return
	}
	kerneltest.SkipIfEmulated(t, "waggle exec supervises commands with seccomp user notification and ptrace, which would see the emulator's system calls")
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

// TestHexRecord: a record no BTF type decodes is printed in hex, its
// trailing zeros counted when there are more than 8.
func TestHexRecord(t *testing.T) {
	for _, tc := range []struct {
		rec  []byte
		want string
	}{
		{[]byte{1, 2, 0, 0}, "01020000"},
		{append([]byte{0xab}, make([]byte, 9)...), "ab (and 9 zero bytes: no struct of the object's BTF decodes it; --event-type names one)"},
		{nil, ""},
	} {
		if got := hexRecord(tc.rec); got != tc.want {
			t.Errorf("hexRecord(%x) = %q, want %q", tc.rec, got, tc.want)
		}
	}
}
