//go:build linux && amd64

package link_test

import (
	"errors"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	cilink "github.com/cilium/ebpf/link"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/internal/usdt"
	"github.com/waggle-ebpf/waggle/link"
)

// BenchmarkUSDT: the cost of one fired USDT probe (usdt.c's tick:
// bpf_usdt_arg three times through the spec, a probe read, a hash map
// update) per probe of `target 1 N` (testdata/usdt/target.c, gcc -O2),
// under waggle and, in the same run, under the kernel's uprobes (the
// same object through cilium/ebpf, as TestUSDTKernel attaches it). Both
// include starting and ending the process, amortized over b.N probes.
// Besides the wall time, cpu-ns/op is the CPU time (user and system) of
// the traced process and of this one, which the machine's other load
// does not inflate as much. See docs/BENCHMARKS.md.
func BenchmarkUSDT(b *testing.B) {
	needPtrace(b)
	target := proctest.BuildSDT(b, "../testdata/usdt/target.c", "-O2", "-pthread")
	sites, err := usdt.ReadFile(target)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("kernel", func(b *testing.B) {
		if err := kerneltest.Available(); err != nil {
			b.Skip(err)
		}
		spec, err := waggle.LoadCollectionSpec("../testdata/usdt/usdt.o")
		if err != nil {
			b.Fatal(err)
		}
		kernelKconfig(b, spec)
		kcoll, err := ebpf.NewCollection(spec)
		if err != nil {
			b.Fatal(err)
		}
		defer kcoll.Close()
		ex, err := cilink.OpenExecutable(target)
		if err != nil {
			b.Fatal(err)
		}
		for id, s := range sites {
			if s.Name != "tick" {
				continue
			}
			spec, err := usdt.Spec(s.Arguments, 77)
			if err != nil {
				b.Fatal(err)
			}
			if err := kcoll.Maps[link.USDTSpecsMap].Put(uint32(id), spec); err != nil {
				b.Fatal(err)
			}
			up, err := ex.Uprobe("", kcoll.Programs["tick"], &cilink.UprobeOptions{Address: s.Offset, RefCtrOffset: s.SemaphoreOffset, Cookie: uint64(id)})
			if errors.Is(err, ebpf.ErrNotSupported) {
				b.Skipf("the kernel's uprobes with cookies: %v", err)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer up.Close()
		}
		b.ResetTimer()
		cpu := startCPU()
		out, err := exec.Command(target, "1", strconv.Itoa(b.N)).CombinedOutput()
		b.StopTimer()
		cpu.report(b)
		if err != nil || string(out) != "gated 0\n" {
			b.Fatalf("%v: %q", err, out)
		}
	})
	b.Run("waggle", func(b *testing.B) {
		coll := usdtObject(b)
		probes := usdtProbes(coll, target)[:1] // tick
		b.ResetTimer()
		cpu := startCPU()
		l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "1", strconv.Itoa(b.N)}, USDT: probes})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Wait(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu.report(b)
		l.Close()
		if st := l.Stats(); l.ExitCode() != 0 || st.Hits != uint64(b.N) {
			b.Fatalf("exit %d, %d hits for %d probes", l.ExitCode(), st.Hits, b.N)
		}
	})
}

// cpuTime is the CPU time of this process and of its waited-for
// children at a moment.
type cpuTime struct{ self, children time.Duration }

func startCPU() cpuTime {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	used := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return cpuTime{used(self), used(children)}
}

// report reports the CPU time used since c, per operation, as
// cpu-ns/op.
func (c cpuTime) report(b *testing.B) {
	now := startCPU()
	b.ReportMetric(float64(now.self-c.self+now.children-c.children)/float64(b.N), "cpu-ns/op")
}
