package verifier

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// TestDifferential verifies generated programs with waggle and with the
// kernel (as root) and requires the same verdicts: 2000 programs, or
// $WAGGLE_DIFF (then differences are listed, not failures; on Linux
// 6.18.44, the kernel loads 69,480 of the first 83,393 seeds' programs and
// 69,479 verdicts agree: the other, seed 1004828, is a path the kernel
// explores though it cannot happen).
//
// A difference that the host kernel explains is reported, not failed: the
// kernel lacks a helper or program type the program needs, or it predates
// a change of the verifier that waggle follows (kerneltest.VerifierChanges)
// and waggle with the rule from before the change gives the kernel's
// verdict. Every report and failure gives the seed, both verdicts, the
// program and the kernel's release.
func TestDifferential(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	n, _ := strconv.Atoi(os.Getenv("WAGGLE_DIFF"))
	strictDiff := n == 0
	if n == 0 {
		n = 2000
	}
	if testing.Short() || kernelAvailable() != nil {
		t.Skip("needs the kernel (root)")
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	lacking := lackingChanges(t)
	type difference struct {
		seed     int
		p        *Program
		kernelOK bool
		key      string
		report   string
	}
	var diffs []difference
	agree, total := 0, 0
	for i := 0; i < n; i++ {
		seed := i + 1_000_000
		p, src := genProgram(nil, uint64(seed))
		if p.Type == kernel.RawMemory {
			continue
		}
		_, err := Verify(p, Options{CPUs: cpus})
		ok, log, kerr := kernelVerify(p, 0)
		if kerr != nil {
			continue
		}
		total++
		if ok == (err == nil) {
			agree++
			continue
		}
		var key string
		if err != nil {
			key = "waggle rejects: " + err.(*Error).KernelMessage
		} else {
			key = "kernel rejects: " + lastLines(log, 4)
		}
		if j := strings.IndexAny(key, "0123456789"); j > 0 {
			key = key[:j]
		}
		diffs = append(diffs, difference{seed, p, ok, key, diffReport(seed, p, src, err, ok, log)})
	}

	// What the host kernel lacks explains some.
	why := map[int]string{}
	for _, d := range diffs {
		if !d.kernelOK {
			if ue, err := kernelLacks(d.p); err == nil && ue != nil {
				why[d.seed] = ue.Error()
			}
		}
	}
	var all olderRules
	for _, c := range lacking {
		all |= olderRulesOf[c.Name]
	}
	rounds := lacking
	if len(lacking) > 1 {
		// Then the rules of a kernel that lacks them all.
		rounds = append(slices.Clone(lacking), &kerneltest.VerifierChange{Name: "all", Description: "all of them"})
	}
	for _, c := range rounds {
		rules, lackingWhat := olderRulesOf[c.Name], c.Lacking
		if c.Name == "all" {
			rules, lackingWhat = all, func() string {
				return fmt.Sprintf("kernel %s lacks every verifier change of %v", kerneltest.Release(), lacking)
			}
		}
		var items []string
		for _, d := range diffs {
			if why[d.seed] == "" {
				items = append(items, fmt.Sprintf("seed:%d", d.seed))
			}
		}
		if len(items) == 0 {
			break
		}
		verdicts := olderVerdicts(t, rules, items)
		for _, d := range diffs {
			if v, ok := verdicts[fmt.Sprintf("seed:%d", d.seed)]; ok && v.accept == d.kernelOK {
				why[d.seed] = lackingWhat()
			}
		}
	}

	kinds := map[string]int{}
	examples := map[string]string{}
	for _, d := range diffs {
		if why[d.seed] != "" {
			t.Logf("a difference that the host kernel explains (%s):\n%s", why[d.seed], d.report)
			continue
		}
		kinds[d.key]++
		if strictDiff {
			t.Errorf("%s", d.report)
		} else {
			t.Logf("%s", strings.SplitN(d.report, "\n", 2)[0])
		}
		if _, ok := examples[d.key]; !ok {
			examples[d.key] = d.report
		}
	}
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return kinds[ks[i]] > kinds[ks[j]] })
	for _, k := range ks {
		t.Logf("%4d %s", kinds[k], k)
		if os.Getenv("WAGGLE_DIFF_SHOW") != "" {
			t.Logf("example:\n%s", examples[k])
		}
	}
	t.Logf("agree on %d of %d generated programs; %d differences explained by the kernel %s", agree, total, len(why), kerneltest.Release())
}

// diffReport describes a difference between waggle's verdict and the
// kernel's on a generated program.
func diffReport(seed int, p *Program, src string, werr error, kernelOK bool, log string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: ", seed)
	if werr != nil {
		fmt.Fprintf(&b, "waggle rejects, kernel %s accepts", kerneltest.Release())
	} else {
		fmt.Fprintf(&b, "waggle accepts, kernel %s rejects", kerneltest.Release())
	}
	fmt.Fprintf(&b, " (waggle follows %s)\nprogram (%s):\n%s", kerneltest.VerifiedOn, p.Type, src)
	if werr != nil {
		fmt.Fprintf(&b, "waggle: %v\n", werr)
	}
	if !kernelOK {
		fmt.Fprintf(&b, "kernel:\n%s\n", lastLines(log, 6))
	}
	return b.String()
}

// lackingChanges probes the host kernel for the verifier changes and
// returns those it lacks.
func lackingChanges(t *testing.T) []*kerneltest.VerifierChange {
	t.Helper()
	var lacking []*kerneltest.VerifierChange
	for _, c := range kerneltest.VerifierChanges {
		has, err := c.Has()
		if err != nil {
			t.Fatal(err)
		}
		if !has {
			t.Logf("%s: the differences it explains are reported, not failed", c.Lacking())
			lacking = append(lacking, c)
		}
	}
	return lacking
}

// TestDifferentialSeed shows both verifiers' logs for one generated
// program ($WAGGLE_DIFF_SEED).
func TestDifferentialSeed(t *testing.T) {
	seed, err := strconv.Atoi(os.Getenv("WAGGLE_DIFF_SEED"))
	if err != nil {
		t.Skip("set WAGGLE_DIFF_SEED")
	}
	cpus, _ := ebpf.PossibleCPU()
	p, src := genProgram(nil, uint64(seed))
	t.Logf("%s\n%s", p.Type, src)
	_, verr := Verify(p, Options{CPUs: cpus, Log: os.Stdout, LogLevel: 2})
	ok, log, _ := kernelVerify(p, ebpf.LogLevelInstruction)
	os.WriteFile("/tmp/kernel.log", []byte(log), 0o644)
	t.Logf("waggle: %v\nkernel: accepted=%v (log in /tmp/kernel.log)", verr, ok)
}
