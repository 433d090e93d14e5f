package verifier

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kernel"
)

// TestDifferential verifies generated programs with waggle and with the
// kernel (as root) and requires the same verdicts: 2000 programs, or
// $WAGGLE_DIFF (then differences are listed, not failures; 83,392 of the
// first 83,393 agree, the other is a path the kernel explores though it
// cannot happen).
func TestDifferential(t *testing.T) {
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
	agree, total := 0, 0
	kinds := map[string]int{}
	var examples = map[string]string{}
	for i := 0; i < n; i++ {
		p, src := genProgram(nil, uint64(i)+1_000_000)
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
		kinds[key]++
		if strictDiff {
			t.Errorf("seed %d: %s", i+1_000_000, key)
		}
		if _, ok := examples[key]; !ok {
			examples[key] = "seed " + strconv.Itoa(i+1_000_000) + "\n" + src + "\n---\n" + lastLines(log, 6)
			if err != nil {
				examples[key] += "\n---\n" + err.Error()
			}
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
	t.Logf("agree on %d of %d generated programs", agree, total)
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
