package verifier

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
)

// TestEvictionBoundsCheckpoints: the programs in testdata/eviction keep
// adding checkpoints at one instruction until the instruction limit; the
// checkpoints that keep missing are evicted, as the kernel evicts them,
// so that at most 65 are kept (and compared at each visit) at one
// instruction, as in the kernel. Without eviction at a may_goto, the
// 100,000 instructions below kept 16,667 there and took seconds,
// quadratic in the limit.
func TestEvictionBoundsCheckpoints(t *testing.T) {
	files, err := filepath.Glob("testdata/eviction/*.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no programs in testdata/eviction: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			insns, err := assembler.Assemble(string(src))
			if err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			st, err := Verify(&Program{Name: "eviction", Type: ebpf.XDP, Instructions: insns},
				Options{MaxInstructions: 100_000, Log: &log, LogLevel: 1})
			if err == nil {
				t.Fatal("accepted; want the instruction limit")
			}
			var perInsn int
			if _, rest, ok := strings.Cut(log.String(), "max_states_per_insn "); !ok {
				t.Fatalf("no max_states_per_insn in the log:\n%s", log.String())
			} else if _, err := fmt.Sscan(rest, &perInsn); err != nil {
				t.Fatal(err)
			}
			if st.InstructionsProcessed <= 100_000 || perInsn > 65 {
				t.Fatalf("%d instructions processed, %d checkpoints at one instruction at most (%d recorded); want the limit reached with at most 65",
					st.InstructionsProcessed, perInsn, st.TotalStates)
			}
		})
	}
}
