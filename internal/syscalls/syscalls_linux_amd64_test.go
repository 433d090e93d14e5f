package syscalls_test

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestNamesUnix: TestNames's numbers are golang.org/x/sys's for
// linux/amd64.
func TestNamesUnix(t *testing.T) {
	unixNr := map[string]int{"read": unix.SYS_READ, "openat": unix.SYS_OPENAT, "execve": unix.SYS_EXECVE, "unlinkat": unix.SYS_UNLINKAT,
		"getppid": unix.SYS_GETPPID, "clone3": unix.SYS_CLONE3, "openat2": unix.SYS_OPENAT2}
	for _, c := range names {
		if nr, ok := unixNr[c.name]; !ok || nr != c.nr {
			t.Errorf("%s: %d here, %d (%v) in golang.org/x/sys/unix", c.name, c.nr, nr, ok)
		}
	}
}
