package link_test

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// BenchmarkSupervised measures what the supervised path costs a getppid,
// each round running, one after the other: the command bare; under a
// pre-filter that does not name getppid (a trace of openat); with an
// entry program on getppid that does nothing (the notification's round
// trip and one run: the floor) and one that counts in a map; with an
// exit program that counts (ptrace); and, if strace is installed, under
// strace -f --seccomp-bpf -e trace=getppid. The command times its own
// calls; ns/op is the bare call, the other metrics each case's time per
// call (the unnamed case as extra time over the bare call), medians over
// the rounds, and entry-over-floor the median of the rounds' differences
// between the entry program and the floor, which run in turns.
func BenchmarkSupervised(b *testing.B) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	const unnamedCalls, namedCalls = 400_000, 20_000
	perCall := func(out []byte) float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			b.Fatalf("the command printed %q", out)
		}
		return v
	}
	env := func(n int) []string { return append(os.Environ(), getppidLoopEnv+"="+strconv.Itoa(n)) }
	load := func(path string) (*ebpf.CollectionSpec, *waggle.Collection) {
		spec, err := waggle.LoadCollectionSpec(path)
		if err != nil {
			b.Fatal(err)
		}
		coll, err := waggle.NewCollection(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(coll.Close)
		return spec, coll
	}
	openSpec, opens := load("../testdata/syscalls/opens.o")
	benchSpec, bench := load("../testdata/syscalls/bench.o")
	trace := func(spec *ebpf.CollectionSpec, coll *waggle.Collection, name string) link.Trace {
		return link.Trace{Program: coll.Programs[name], Section: spec.Programs[name].SectionName}
	}
	cases := []struct {
		name   string
		calls  int
		traces []link.Trace
	}{
		{"unnamed", unnamedCalls, []link.Trace{trace(openSpec, opens, "trace_openat")}},
		{"floor", namedCalls, []link.Trace{trace(benchSpec, bench, "empty_enter")}},
		{"entry", namedCalls, []link.Trace{trace(benchSpec, bench, "count_enter")}},
		{"exit", namedCalls, []link.Trace{trace(benchSpec, bench, "count_exit")}},
	}
	strace, _ := exec.LookPath("strace")
	// Per round: the bare call, and each case's time per call; the
	// metrics are medians over the rounds (other processes of a shared
	// machine make single rounds noisy), the unnamed case's as the median
	// of its difference to the bare call of the same round.
	var bare, straced []float64
	sum := map[string][]float64{}
	for b.Loop() {
		cmd := exec.Command(self)
		cmd.Env = env(unnamedCalls)
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		bare = append(bare, perCall(out))
		// The floor and the entry program run in turns, their order
		// swapped every round, so that neither always runs second.
		order := slices.Clone(cases)
		if len(bare)%2 == 0 {
			order[1], order[2] = order[2], order[1]
		}
		for _, c := range order {
			var buf bytes.Buffer
			l, err := link.AttachExec(nil, link.ExecOptions{Path: self, Args: []string{self}, Env: env(c.calls), Stdout: &buf, Traces: c.traces})
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Wait(); err != nil {
				b.Fatal(err)
			}
			l.Close()
			v := perCall(buf.Bytes())
			if c.name == "unnamed" {
				v -= bare[len(bare)-1]
			}
			sum[c.name] = append(sum[c.name], v)
		}
		if strace != "" {
			cmd := exec.Command(strace, "-f", "--seccomp-bpf", "-e", "trace=getppid", "-o", "/dev/null", self)
			cmd.Env = env(namedCalls)
			out, err := cmd.Output()
			if err != nil {
				b.Fatalf("strace: %v", err)
			}
			straced = append(straced, perCall(out))
		}
	}
	b.ReportMetric(median(bare), "ns/op")
	b.ReportMetric(median(sum["unnamed"]), "unnamed-extra-ns/call")
	for _, c := range cases[1:] {
		b.ReportMetric(median(sum[c.name]), c.name+"-ns/call")
	}
	// The entry program's cost over the floor, round by round.
	extra := make([]float64, len(sum["entry"]))
	for i := range extra {
		extra[i] = sum["entry"][i] - sum["floor"][i]
	}
	b.ReportMetric(median(extra), "entry-over-floor-ns/call")
	if strace != "" {
		b.ReportMetric(median(straced), "strace-ns/call")
	}
}

// median is the middle of the values (the mean of the middle two).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
