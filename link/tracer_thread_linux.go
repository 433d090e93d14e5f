package link

import (
	"bytes"
	"os"
	"runtime"
)

// goTracer runs body, a tracer's loop, on a new goroutine locked to an
// OS thread that has no child processes.
//
// A thread's children matter to a tracer: it waits for its tracees'
// stops with wait4(__WALL|__WNOTHREAD), which also reports the thread's
// own children, and the kernel reports a traced process's stops also to
// the thread that forked it when that thread is in the tracer's thread
// group. A thread of Go's scheduler that once started one of the
// program's processes (exec.Cmd) would take the stops of that process
// when another link traces it by PID (that link's attach then waits
// forever), and would reap it when it exits (its Wait fails). So a
// thread with children is held, out of the scheduler's reach, while
// another goroutine tries the next thread, and given back once a
// child-free one is locked. Where the kernel does not list a thread's
// children (no CONFIG_PROC_CHILDREN), the first thread is taken.
func goTracer(body func()) {
	go func() {
		runtime.LockOSThread()
		if !threadHasChildren() {
			body()
			return
		}
		locked := make(chan struct{})
		goTracer(func() {
			close(locked)
			body()
		})
		<-locked
		runtime.UnlockOSThread()
	}()
}

// threadHasChildren reports whether the calling thread has child
// processes (/proc/thread-self/children; false if the kernel does not
// list them).
func threadHasChildren() bool {
	b, err := os.ReadFile("/proc/thread-self/children")
	return err == nil && len(bytes.TrimSpace(b)) > 0
}
