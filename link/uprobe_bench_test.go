//go:build linux && amd64

package link_test

import (
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/link"
)

// BenchmarkUprobe: the cost of one fired uprobe (an entry program that
// updates a hash map, on a function whose first instruction waggle
// emulates), per call of the probed function, against the raw cost of a
// ptrace stop measured in the same run: a tracee that executes int3 and
// a tracer that only waits for the stop (as the uprobe hook waits: a
// short spin, then a blocking wait4) and continues it. Both include
// starting and ending the process, amortized over b.N stops. See
// docs/BENCHMARKS.md.
func BenchmarkUprobe(b *testing.B) {
	needPtrace(b)
	target := buildTarget(b)
	b.Run("raw-ptrace-stop", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(target, "trap", strconv.Itoa(b.N))
		cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
		b.ResetTimer()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		pid := cmd.Process.Pid
		stops := 0
		for {
			var ws unix.WaitStatus
			if _, err := link.WaitStop(&ws); err != nil {
				b.Fatal(err)
			}
			if ws.Exited() || ws.Signaled() {
				if ws.ExitStatus() != 0 {
					b.Fatalf("status %v", ws)
				}
				break
			}
			stops++
			if err := unix.PtraceCont(pid, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		_ = cmd.Wait()
		if stops != b.N+1 { // the exec's stop, then one per int3
			b.Fatalf("%d stops for %d int3", stops, b.N)
		}
	})
	b.Run("uprobe", func(b *testing.B) {
		coll := callsObject(b)
		b.ResetTimer()
		l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "bench", strconv.Itoa(b.N)},
			Probes: []link.Uprobe{{Program: coll.Programs["enter"], Path: target, Symbol: "work"}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Wait(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Close()
		if st := l.Stats(); l.ExitCode() != 0 || st.Hits != uint64(b.N) {
			b.Fatalf("exit %d, %d hits for %d calls", l.ExitCode(), st.Hits, b.N)
		}
	})
}
