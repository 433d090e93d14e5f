package verifier

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// TestSockObjects verifies the socket programs of Cilium (bpf_sock.o from
// the ebpf-samples corpus, WAGGLE_EBPF_SAMPLES) and of cilium/ebpf's
// examples (cgroup_skb, tcprtt_sockops: WAGGLE_CILIUM_EBPF, a checkout of
// github.com/cilium/ebpf) and compares waggle's verdicts with the
// kernel's (as root).
func TestSockObjects(t *testing.T) {
	var objs []string
	if dir := os.Getenv("WAGGLE_EBPF_SAMPLES"); dir != "" {
		objs = append(objs, filepath.Join(dir, "cilium-core", "bpf_sock.o"))
	}
	if dir := os.Getenv("WAGGLE_CILIUM_EBPF"); dir != "" {
		objs = append(objs, filepath.Join(dir, "examples", "cgroup_skb", "bpf_bpfel.o"),
			filepath.Join(dir, "examples", "tcprtt_sockops", "bpf_bpfel.o"))
	}
	if len(objs) == 0 {
		t.Skip("set WAGGLE_EBPF_SAMPLES to a copy of github.com/vbpf/ebpf-samples (cilium-core/bpf_sock.o) and WAGGLE_CILIUM_EBPF to a checkout of github.com/cilium/ebpf (its examples' objects)")
	}
	kernelOK := kernelAvailable() == nil
	agree, total := 0, 0
	for _, obj := range objs {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p, err := ProgramFromSpec(spec.Programs[n], spec.Maps)
			if err != nil {
				t.Errorf("%s: %s: %v", obj, n, err)
				continue
			}
			wst, werr := Verify(p, Options{})
			if !kernelOK {
				if werr != nil {
					t.Errorf("%s: waggle rejects %s: %v", filepath.Base(obj), n, werr)
				}
				continue
			}
			kok, log, kerr := kernelVerify(p, 0)
			if kerr != nil {
				t.Errorf("%s: %s: %v", obj, n, kerr)
				continue
			}
			total++
			kernelInsns := 0
			for _, line := range strings.Split(log, "\n") {
				if strings.HasPrefix(line, "processed ") {
					fmt.Sscanf(line, "processed %d insns", &kernelInsns)
				}
			}
			t.Logf("%s: %s: processed waggle %d, kernel %d instructions; accepted waggle %v, kernel %v", filepath.Base(obj), n, wst.InstructionsProcessed, kernelInsns, werr == nil, kok)
			if kok == (werr == nil) {
				agree++
				continue
			}
			t.Errorf("%s: %s: kernel accepted=%v, waggle: %v\n%s", filepath.Base(obj), n, kok, werr, lastLines(log, 3))
		}
	}
	if kernelOK {
		t.Logf("waggle's verdict is the kernel's on %d of %d programs", agree, total)
	}
}
