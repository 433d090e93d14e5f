package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Install makes f the seccomp filter of every thread of the calling
// process (SECCOMP_FILTER_FLAG_TSYNC), after setting no_new_privs, which
// an unprivileged process needs to install one. Filters stack: f adds to
// those already installed, and the kernel applies the strictest action.
// Nothing can remove a filter; it passes to children and across execve.
func Install(f Filter) error {
	if len(f) == 0 || len(f) > MaxInstructions {
		return fmt.Errorf("seccomp: a filter has 1 to %d instructions, not %d", MaxInstructions, len(f))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: set no_new_privs: %w", err)
	}
	prog := make([]unix.SockFilter, len(f))
	for i, in := range f {
		prog[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	tid, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	switch {
	case errno != 0:
		return fmt.Errorf("seccomp: install the filter: %w", errno)
	case tid != 0:
		// TSYNC names a thread it could not give the filter to.
		return fmt.Errorf("seccomp: thread %d could not take the filter", tid)
	}
	return nil
}

// Exec installs f and replaces the process with path, as execve does: the
// command runs under the filter from its first instruction. It returns
// only on failure.
func Exec(f Filter, path string, argv, env []string) error {
	runtime.LockOSThread()
	if err := Install(f); err != nil {
		return err
	}
	err := unix.Exec(path, argv, env)
	return fmt.Errorf("execute %s: %w", path, err)
}
