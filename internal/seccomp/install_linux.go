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

// InstallListener makes f the seccomp filter of the calling thread, after
// setting no_new_privs, with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER):
// the system calls for which f returns SECCOMP_RET_USER_NOTIF wait until
// whoever reads the listener answers them. The listener is a new file
// descriptor, close-on-exec; once every copy of it is closed, those calls
// fail with ENOSYS. Other threads of the process do not get the filter:
// call it on the thread that then executes the command.
func InstallListener(f Filter) (int, error) {
	if len(f) == 0 || len(f) > MaxInstructions {
		return -1, fmt.Errorf("seccomp: a filter has 1 to %d instructions, not %d", MaxInstructions, len(f))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("seccomp: set no_new_privs: %w", err)
	}
	prog := make([]unix.SockFilter, len(f))
	for i, in := range f {
		prog[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// WAIT_KILLABLE_RECV (Linux 5.19): once the supervisor has read a
	// call, only a fatal signal interrupts the wait for its answer, so a
	// signal cannot make the thread restart a call the supervisor already
	// decided (and run the programs on it twice).
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, uintptr(unsafe.Pointer(&fprog)))
	if errno == unix.EINVAL {
		fd, _, errno = unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	}
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("seccomp: install the filter with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER, Linux 5.0): %w", errno)
	}
	return int(fd), nil
}
