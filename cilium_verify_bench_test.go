package waggle

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// BenchmarkCiliumVerifyProcess measures `waggle verify -p NAME OBJ` of
// each program of Cilium's objects as a whole process — start-up, reading
// the object, verifying the one program — against the kernel's own
// verification of the same program, in the same run: each iteration runs
// the process once and, timer stopped, loads the program into the kernel
// once (as root; the maps are created once per object and shared), so
// the two are measured in turns. The binary is built as releases are
// (CGO_ENABLED=0, -trimpath, -ldflags "-s -w").
//
// Metrics: ns/op is the process's wall time, cpu-ns/op its user and
// system time (the Go runtime's threads included), verifier-ns/op the
// time waggle's verifier took in it (--json's duration_ns), insns/op the
// instructions it processed; kernel-ns/op is the "verification time" of
// the kernel's log and kernel-insns/op its "processed" count; cpu/kernel
// and wall/kernel are the ratios (below 1: the whole process cost less
// than the kernel's verification). Programs the kernel refuses have no
// kernel metrics. Needs WAGGLE_EBPF_SAMPLES (see ciliumSamples) and the go
// tool; the kernel's figures need root.
//
// With WAGGLE_VERIFY_BEFORE naming another waggle binary (an earlier
// build, for a before and after), each iteration also runs that binary
// on the same program, timer stopped, in turns with the others: its CPU
// time is before-cpu-ns/op and before/cpu the ratio.
//
// At the end it logs a summary: for how many programs the process cost
// no more CPU than the kernel's verification, and the medians of the
// ratios.
//
//	WAGGLE_EBPF_SAMPLES=/path/to/ebpf-samples go test -run XXX -bench CiliumVerifyProcess
func BenchmarkCiliumVerifyProcess(b *testing.B) {
	dir := ciliumSamples(b)
	bin := buildWaggle(b)
	before := os.Getenv("WAGGLE_VERIFY_BEFORE")
	if before != "" {
		if _, err := os.Stat(before); err != nil {
			b.Fatalf("WAGGLE_VERIFY_BEFORE: %v", err)
		}
	}
	// The last figures of each program (a sub-benchmark runs again with
	// a larger b.N until it has run long enough).
	summary := map[string]processSummary{}
	defer func() { logProcessSummary(b, summary) }()
	kernelErr := kerneltest.Available()
	if kernelErr != nil {
		b.Logf("no kernel figures: %v", kernelErr)
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "*.o"))
	for _, obj := range objs {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			b.Fatal(err)
		}
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		var kmaps map[string]*ebpf.Map
		if kernelErr == nil {
			if kmaps, err = kernelMaps(spec); err != nil {
				b.Logf("%s: no kernel figures: creating its maps: %v", filepath.Base(obj), err)
			}
		}
		for _, name := range names {
			b.Run(filepath.Base(obj)+"/"+name, func(b *testing.B) {
				var cpu, verifier, kernel, beforeCPU time.Duration
				insns, kinsns, kernelRuns := 0, 0, 0
				kernelOK := kmaps != nil
				for i := 0; i < b.N; i++ {
					r, err := runVerifyProcess(bin, obj, name)
					if err != nil {
						b.Fatal(err)
					}
					cpu += r.cpu
					verifier += r.verifier
					insns = r.insns
					if before != "" {
						b.StopTimer()
						r, err := runVerifyProcess(before, obj, name)
						b.StartTimer()
						if err != nil {
							b.Fatalf("WAGGLE_VERIFY_BEFORE: %v", err)
						}
						beforeCPU += r.cpu
					}
					if kernelOK {
						b.StopTimer()
						d, n, err := kernelVerificationTime(spec, kmaps, name)
						b.StartTimer()
						if err != nil {
							b.Logf("the kernel refuses it: %v", err)
							kernelOK = false
							continue
						}
						kernel += d
						kinsns = n
						kernelRuns++
					}
				}
				wall := b.Elapsed()
				n := float64(b.N)
				b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
				b.ReportMetric(float64(verifier.Nanoseconds())/n, "verifier-ns/op")
				b.ReportMetric(float64(insns), "insns/op")
				sum := processSummary{cpu: float64(cpu.Nanoseconds()) / n}
				if before != "" {
					sum.before = float64(beforeCPU.Nanoseconds()) / n
					b.ReportMetric(sum.before, "before-cpu-ns/op")
					b.ReportMetric(sum.before/sum.cpu, "before/cpu")
				}
				if kernelOK && kernelRuns == b.N && kernel > 0 {
					k := float64(kernel.Nanoseconds()) / n
					sum.kernel = k
					b.ReportMetric(k, "kernel-ns/op")
					b.ReportMetric(float64(kinsns), "kernel-insns/op")
					b.ReportMetric(float64(cpu.Nanoseconds())/n/k, "cpu/kernel")
					b.ReportMetric(float64(wall.Nanoseconds())/n/k, "wall/kernel")
				}
				summary[filepath.Base(obj)+"/"+name] = sum
			})
		}
		for _, m := range kmaps {
			m.Close()
		}
	}
}

// processSummary is one program's figures in BenchmarkCiliumVerifyProcess:
// the process's CPU time, the before binary's and the kernel's
// verification time, in nanoseconds (0 when not measured).
type processSummary struct {
	cpu, before, kernel float64
}

// logProcessSummary logs for how many programs the process cost no more
// CPU than the kernel's verification, and the medians of the ratios.
func logProcessSummary(b *testing.B, summary map[string]processSummary) {
	var withKernel, atMost int
	var cpuKernel, beforeKernel, beforeCPU []float64
	for _, s := range summary {
		if s.before > 0 {
			beforeCPU = append(beforeCPU, s.before/s.cpu)
		}
		if s.kernel == 0 {
			continue
		}
		withKernel++
		if s.cpu <= s.kernel {
			atMost++
		}
		cpuKernel = append(cpuKernel, s.cpu/s.kernel)
		if s.before > 0 {
			beforeKernel = append(beforeKernel, s.before/s.kernel)
		}
	}
	if len(summary) == 0 {
		return
	}
	b.Logf("%d programs; with the kernel's figures %d, of which the process cost no more CPU than the kernel's verification for %d; median cpu/kernel %.2f", len(summary), withKernel, atMost, median(cpuKernel))
	if len(beforeCPU) > 0 {
		beforeAtMost := 0
		for _, s := range summary {
			if s.kernel > 0 && s.before > 0 && s.before <= s.kernel {
				beforeAtMost++
			}
		}
		b.Logf("before (WAGGLE_VERIFY_BEFORE): no more than the kernel for %d; median before/kernel %.2f; median before/cpu %.2f", beforeAtMost, median(beforeKernel), median(beforeCPU))
	}
}

// median is the median of xs, or NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// buildWaggle builds cmd/waggle as releases are, into a temporary folder.
func buildWaggle(b *testing.B) string {
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skipf("skipped: the go tool is needed to build waggle: %v", err)
	}
	bin := filepath.Join(b.TempDir(), "waggle")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/waggle")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/waggle: %v\n%s", err, out)
	}
	return bin
}

// processResult is what one `waggle verify --json -p` process cost and
// reported.
type processResult struct {
	cpu, verifier time.Duration
	insns         int
}

func runVerifyProcess(bin, obj, name string) (processResult, error) {
	cmd := exec.Command(bin, "verify", "--json", "-p", name, obj)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return processResult{}, fmt.Errorf("waggle verify -p %s %s: %v\n%s", name, obj, err, stderr.String())
	}
	var results []verifyJSON
	if err := json.Unmarshal(out, &results); err != nil || len(results) != 1 || results[0].Program != name {
		return processResult{}, fmt.Errorf("waggle verify --json -p %s %s: unexpected output (%v): %.200s", name, obj, err, out)
	}
	st := cmd.ProcessState
	return processResult{
		cpu:      st.UserTime() + st.SystemTime(),
		verifier: time.Duration(results[0].DurationNs),
		insns:    results[0].InstructionsProcessed,
	}, nil
}

// verifyJSON is the part of waggle verify --json's output read here.
type verifyJSON struct {
	Program               string `json:"program"`
	InstructionsProcessed int    `json:"instructions_processed"`
	DurationNs            int64  `json:"duration_ns"`
}

// kernelMaps creates the maps of spec in the kernel but global data's,
// unpinned and with program arrays empty, for every program of the object
// to share.
func kernelMaps(spec *ebpf.CollectionSpec) (map[string]*ebpf.Map, error) {
	maps := map[string]*ebpf.Map{}
	for name, ms := range spec.Maps {
		if strings.HasPrefix(name, ".") {
			continue // global data: created with each load, as cilium/ebpf makes it
		}
		ms = ms.Copy()
		ms.Pinning = ebpf.PinNone
		if ms.Type == ebpf.ProgramArray {
			ms.Contents = nil
		}
		m, err := ebpf.NewMap(ms)
		if err != nil {
			for _, m := range maps {
				m.Close()
			}
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
		maps[name] = m
	}
	return maps, nil
}

// kernelVerificationTime loads program name of spec into the kernel with
// the maps given and returns the verification time and the instructions
// processed of its verifier log.
func kernelVerificationTime(spec *ebpf.CollectionSpec, maps map[string]*ebpf.Map, name string) (time.Duration, int, error) {
	s := spec.Copy()
	for n := range s.Programs {
		if n != name {
			delete(s.Programs, n)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(s, ebpf.CollectionOptions{
		MapReplacements: maps,
		Programs:        ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats, LogSizeStart: 1 << 16},
	})
	if err != nil {
		return 0, 0, errors.New(firstLine(err))
	}
	defer coll.Close()
	usec, insns := -1, 0
	for _, line := range strings.Split(coll.Programs[name].VerifierLog, "\n") {
		if strings.HasPrefix(line, "verification time ") {
			fmt.Sscanf(line, "verification time %d usec", &usec)
		}
		if strings.HasPrefix(line, "processed ") {
			fmt.Sscanf(line, "processed %d insns", &insns)
		}
	}
	if usec < 0 {
		return 0, 0, fmt.Errorf("no verification time in the kernel's log: %.200s", coll.Programs[name].VerifierLog)
	}
	return time.Duration(usec) * time.Microsecond, insns, nil
}
