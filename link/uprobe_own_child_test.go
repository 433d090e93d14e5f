//go:build linux && amd64

package link_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// TestUprobeOwnChildBesideAnotherLink: a process this program started
// itself, probed by PID while another link traces its own target. The
// child is forked on a thread that is then given back to Go's scheduler
// and, most likely, becomes the other link's tracer thread (a goroutine
// started just before its creator blocks runs on its creator's thread).
// The kernel reports a traced child's stops also to the thread that
// forked it when that thread is in the tracer's thread group, so the
// other link's tracer would take them and the first link would wait for
// them forever: tracer threads are chosen among threads without child
// processes.
func TestUprobeOwnChildBesideAnotherLink(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	other := callsObject(t)

	for round := range 3 {
		runtime.LockOSThread() // the child's parent is this thread
		child := proctest.Start(t, target, "wait")
		runtime.UnlockOSThread()
		// The other link, started at once from the same thread.
		l2, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "threads", "200000"},
			Probes: []link.Uprobe{{Program: other.Programs["enter"], Path: target, Symbol: "work"}}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)

		attached := make(chan *link.UprobeLink, 1)
		go func() {
			l, err := link.AttachUprobe(link.UprobeOptions{PID: child.Process.Pid, Probes: []link.Uprobe{
				{Program: coll.Programs["enter"], Path: target, Symbol: "work"},
				{Program: coll.Programs["leave"], Path: target, Symbol: "work", Return: true},
			}})
			if err != nil {
				t.Error(err)
				close(attached)
				return
			}
			proctest.WaitUntil(5*time.Second, 5*time.Millisecond, func() bool { return l.Stats().Returns >= 20 })
			attached <- l
		}()
		var l *link.UprobeLink
		select {
		case l = <-attached:
		case <-time.After(20 * time.Second):
			// Unblock whatever waits, so that the test binary can end.
			_ = child.Process.Kill()
			t.Fatalf("round %d: attaching to this program's own child by PID beside another link hung", round)
		}
		if l == nil {
			t.FailNow()
		}
		if st := l.Stats(); st.Returns < 20 {
			t.Fatalf("round %d: the child's link saw %d returns in 5 s, want at least 20 (stats %+v)", round, st.Returns, st)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
		if out, err := child.Finish(); err != nil || out != "done\n" {
			t.Fatalf("round %d: the child after the detach: %v, output %q", round, err, out)
		}
	}
}
