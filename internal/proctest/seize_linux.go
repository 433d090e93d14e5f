package proctest

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// SeizeFromOtherThread makes process pid traced (PTRACE_SEIZE) by a
// thread of this process that stays locked to its goroutine until the
// test ends, so that no other goroutine (waggle's tracer) can run on it
// and be that tracer.
func SeizeFromOtherThread(tb testing.TB, pid int) {
	tb.Helper()
	errc, done := make(chan error), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, 0, 0, 0)
		if errno != 0 {
			errc <- errno
			return
		}
		errc <- nil
		<-done
	}()
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { close(done) })
}
