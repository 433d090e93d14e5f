//go:build !linux

package seccomp

import (
	"fmt"
	"runtime"
)

// Install installs f on every thread; seccomp filters exist only on Linux.
func Install(f Filter) error {
	return fmt.Errorf("seccomp: filters need Linux, this is %s", runtime.GOOS)
}

// Exec installs f and executes path; seccomp filters exist only on Linux.
func Exec(f Filter, path string, argv, env []string) error { return Install(f) }

// InstallListener installs f with a listener; seccomp filters exist only
// on Linux.
func InstallListener(f Filter) (int, error) { return -1, Install(f) }
