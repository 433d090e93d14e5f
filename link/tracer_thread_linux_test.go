package link_test

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// TestTracerThreadHasNoChildren: the threads that link's tracers run on
// have no child processes, even when every idle thread of the program
// has one (each forked a sleeping child while locked to it).
func TestTracerThreadHasNoChildren(t *testing.T) {
	if _, err := os.Stat("/proc/thread-self/children"); err != nil {
		t.Skipf("skipped: this kernel lists no thread's children (/proc/thread-self/children: %v)", err)
	}
	const parents = 8
	release := make(chan struct{})
	ready := make(chan struct{}, parents)
	for range parents {
		go func() {
			runtime.LockOSThread()
			proctest.Start(t, "/bin/sleep", "60")
			ready <- struct{}{}
			<-release // hold the thread until all have a child, then give it back
			runtime.UnlockOSThread()
		}()
	}
	for range parents {
		<-ready
	}
	close(release)
	time.Sleep(10 * time.Millisecond)
	for i := range 20 {
		got := make(chan string, 1)
		link.RunOnTracerThread(func() {
			b, err := os.ReadFile("/proc/thread-self/children")
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			got <- strings.TrimSpace(string(b))
		})
		if s := <-got; s != "" {
			t.Fatalf("run %d: the tracer's thread has children: %q", i, s)
		}
	}
}
