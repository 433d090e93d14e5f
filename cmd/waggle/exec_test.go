package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// TestExec: waggle exec runs a command under a policy and exits with its
// status; --explain prints the classic filter; a policy that cannot be
// lowered is refused before anything runs.
func TestExec(t *testing.T) {
	const policies = "../../testdata/seccomp/"
	file := filepath.Join(t.TempDir(), "protected")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
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
		{"not lowerable", []string{"--policy", policies + "count_calls.o", "true"}, 1, "", "uses the stack (r10)"},
		{"no policy", []string{"true"}, 2, "", "--policy is required"},
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
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Errorf("the protected file: %q, %v", b, err)
	}
}
