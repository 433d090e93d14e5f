package verifier

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
)

// checkpointCase is a program of testdata/checkpoints: its header gives the
// program type ("# type:") and the instructions where a path must be pruned
// ("# pruned:", instruction indexes, one or more a line).
type checkpointCase struct {
	name   string
	prog   *Program
	pruned []int
}

// readCheckpointCase reads and assembles one file of testdata/checkpoints.
func readCheckpointCase(t *testing.T, path string) checkpointCase {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := checkpointCase{name: strings.TrimSuffix(filepath.Base(path), ".s")}
	typ := ""
	for i, line := range strings.Split(string(src), "\n") {
		key, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), ":")
		if !strings.HasPrefix(line, "# ") || !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "type":
			typ = val
		case "pruned":
			for _, f := range strings.Fields(strings.ReplaceAll(val, ",", " ")) {
				n, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("%s:%d: pruned: %q is not an instruction index", path, i+1, f)
				}
				c.pruned = append(c.pruned, n)
			}
		case "description":
		default:
			t.Fatalf("%s:%d: unknown header %q (type, pruned, description)", path, i+1, key)
		}
	}
	if len(c.pruned) == 0 {
		t.Fatalf("%s: no \"# pruned:\" line", path)
	}
	insns, err := assembler.Assemble(string(src))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c.prog = &Program{Name: c.name, Type: testProgType(t, typ), Instructions: insns}
	return c
}

// TestCheckpointJoins verifies the programs of testdata/checkpoints, where
// later paths meet at a prune point that the kernel's heuristic (2 jumps
// and 8 instructions since the last checkpoint of any path) leaves without
// a checkpoint: waggle records one where a path comes to a prune point an
// earlier path reached and that holds fewer than 2, and must prune a path
// at each instruction the file lists, and accept the program. As root it
// also loads each program into the kernel, which must accept it too, and
// requires waggle to process at most the kernel's count of instructions.
func TestCheckpointJoins(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "checkpoints", "*.s"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no programs in testdata/checkpoints")
	}
	kerr := kernelAvailable()
	for _, f := range files {
		c := readCheckpointCase(t, f)
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			st, err := Verify(c.prog, Options{Log: &log, LogLevel: 2})
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			counts, err := parseVisitLog(&log, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range c.pruned {
				if counts.safe[n] == 0 {
					t.Errorf("no path pruned at instruction %d (visits %d); log:\n%s", n, counts.visits[n], log.String())
				}
			}
			if kerr != nil {
				t.Logf("waggle: %d instructions processed; the kernel's count not compared: %v", st.InstructionsProcessed, kerr)
				return
			}
			ok, klog, err := kernelVerify(c.prog, ebpf.LogLevelStats)
			if err != nil {
				t.Fatalf("kernel: %v", err)
			}
			if !ok {
				t.Fatalf("the kernel rejects the program:\n%s", klog)
			}
			kernel := -1
			for _, line := range strings.Split(klog, "\n") {
				if strings.HasPrefix(line, "processed ") {
					fmt.Sscanf(line, "processed %d insns", &kernel)
				}
			}
			if kernel < 0 {
				t.Fatalf("no \"processed N insns\" in the kernel's log:\n%s", klog)
			}
			t.Logf("waggle: %d instructions processed, the kernel: %d", st.InstructionsProcessed, kernel)
			if st.InstructionsProcessed > kernel {
				t.Errorf("waggle processed %d instructions, more than the kernel's %d", st.InstructionsProcessed, kernel)
			}
		})
	}
}
