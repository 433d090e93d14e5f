// Package proctest is test support for the hooks on processes (syscalls,
// uprobes, profiles): it builds the C programs they run on and traces a
// process from a thread of its own. Not for users.
package proctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// BuildSDT is BuildC for a program with USDT probes: it also skips the
// test, saying why, when <sys/sdt.h> (Debian: systemtap-sdt-dev) is not
// installed.
func BuildSDT(tb testing.TB, src string, flags ...string) string {
	tb.Helper()
	found := false
	for _, dir := range []string{"/usr/include", "/usr/local/include", "/usr/include/" + multiarch()} {
		if _, err := os.Stat(filepath.Join(dir, "sys", "sdt.h")); err == nil {
			found = true
			break
		}
	}
	if !found {
		tb.Skipf("skipped: <sys/sdt.h> is not installed (Debian: systemtap-sdt-dev), and %s includes it", filepath.Base(src))
	}
	return BuildC(tb, src, flags...)
}

// multiarch is Debian's name of the machine's include directory.
func multiarch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64-linux-gnu"
	case "arm64":
		return "aarch64-linux-gnu"
	}
	return runtime.GOARCH + "-linux-gnu"
}
