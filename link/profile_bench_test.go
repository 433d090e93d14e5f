//go:build linux

package link_test

import (
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// BenchmarkProfileOverhead measures what profiling costs a CPU-bound
// program (testdata/profile/busy.c, about a second of one CPU): each
// iteration runs it once plainly and once under AttachProfile with
// waggle's default program, in alternating order, and times each from
// its start to its exit (and, profiled, the last samples' runs). It
// reports the medians of the plain and profiled wall times, and of the
// pairs' ratios (profiled / plain - 1) of wall time (wall-overhead-%) and
// of the program's own CPU time, user and system (cpu-overhead-%: the
// kernel's sampling work, charged to the sampled program, without the
// noise of other load on the machine), and waggle's own CPU time while
// profiling (the sampler, the program's runs) as a share of the
// program's (waggle-cpu-%).
//
//	go test ./link -run '^$' -bench BenchmarkProfileOverhead -benchtime 15x -count 3
func BenchmarkProfileOverhead(b *testing.B) {
	if err := link.ProfilingAvailable(); err != nil {
		b.Skipf("skipped: perf events are not permitted here: %v", err)
	}
	busy := proctest.BuildC(b, "../testdata/profile/busy.c", "-O1", "-fno-omit-frame-pointer", "-pthread")
	const iterations = "1500000000"
	for _, hz := range []int{99, 999} {
		b.Run(strconv.Itoa(hz)+"Hz", func(b *testing.B) {
			coll, err := loadObject(profileObject)
			if err != nil {
				b.Fatal(err)
			}
			defer coll.Close()
			// run gives a run's wall time, the CPU time (user and
			// system) of the processes it waited for, and this
			// process's own (waggle's: the sampler).
			run := func(f func()) (wall, cpu, self time.Duration) {
				var before, after, selfBefore, selfAfter syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &selfBefore)
				start := time.Now()
				f()
				wall = time.Since(start)
				_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &selfAfter)
				tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
				cpu = tv(after.Utime) - tv(before.Utime) + tv(after.Stime) - tv(before.Stime)
				self = tv(selfAfter.Utime) - tv(selfBefore.Utime) + tv(selfAfter.Stime) - tv(selfBefore.Stime)
				return wall, cpu, self
			}
			plainRun := func() {
				if err := exec.Command(busy, iterations).Run(); err != nil {
					b.Fatal(err)
				}
			}
			profiledRun := func() {
				l, err := link.AttachProfile(coll.Programs["sample"], link.ProfileOptions{Path: busy, Args: []string{busy, iterations}, Frequency: hz})
				if err != nil {
					b.Fatal(err)
				}
				if err := l.Wait(); err != nil {
					b.Fatal(err)
				}
				_ = l.Close()
			}
			var plain, profiled, wallRatios, cpuRatios, waggleShares []float64
			for i := 0; b.Loop(); i++ {
				var pw, pc, qw, qc, qs time.Duration
				if i%2 == 0 {
					pw, pc, _ = run(plainRun)
					qw, qc, qs = run(profiledRun)
				} else {
					qw, qc, qs = run(profiledRun)
					pw, pc, _ = run(plainRun)
				}
				plain = append(plain, float64(pw.Milliseconds()))
				profiled = append(profiled, float64(qw.Milliseconds()))
				wallRatios = append(wallRatios, float64(qw)/float64(pw))
				cpuRatios = append(cpuRatios, float64(qc)/float64(pc))
				waggleShares = append(waggleShares, float64(qs)/float64(qc))
			}
			b.ReportMetric(median(plain), "plain-ms")
			b.ReportMetric(median(profiled), "profiled-ms")
			b.ReportMetric(100*(median(wallRatios)-1), "wall-overhead-%")
			b.ReportMetric(100*(median(cpuRatios)-1), "cpu-overhead-%")
			b.ReportMetric(100*median(waggleShares), "waggle-cpu-%")
		})
	}
}
