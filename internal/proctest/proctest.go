// Package proctest is test support for the hooks on processes (syscalls,
// uprobes, profiles): it builds the C programs they run on and traces a
// process from a thread of its own. Not for users.
package proctest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BuildC compiles the C file src with gcc and flags into an executable in
// the test's temporary folder and returns its path. It skips the test,
// saying why, when gcc is not installed.
func BuildC(tb testing.TB, src string, flags ...string) string {
	tb.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		tb.Skipf("skipped: gcc is not installed, and it builds %s", filepath.Base(src))
	}
	bin := filepath.Join(tb.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c"))
	args := append(append([]string{}, flags...), "-o", bin, src)
	if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		tb.Fatalf("gcc %s: %v\n%s", src, err, out)
	}
	return bin
}
