package waggle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/jit"
)

// loopCase is one file of testdata/bpf_loop (see its README.md).
type loopCase struct {
	asm    string
	result uint64
	budget uint64
	err    string
}

// readLoopCase reads a file of testdata/bpf_loop: its sections "-- asm",
// "-- result", "-- budget" and "-- error" (lines that the error must each
// contain).
func readLoopCase(t *testing.T, path string) loopCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	name := ""
	for line := range strings.Lines(string(b)) {
		if s, ok := strings.CutPrefix(line, "-- "); ok {
			name = strings.TrimSpace(s)
			continue
		}
		sections[name] += line
	}
	var c loopCase
	c.asm = sections["asm"]
	if c.asm == "" {
		t.Fatalf("%s: no -- asm section", path)
	}
	parse := func(section string) uint64 {
		v, err := strconv.ParseUint(strings.TrimSpace(sections[section]), 0, 64)
		if err != nil {
			t.Fatalf("%s: -- %s: %v", path, section, err)
		}
		return v
	}
	if _, ok := sections["result"]; ok {
		c.result = parse("result")
	}
	if _, ok := sections["budget"]; ok {
		c.budget = parse("budget")
	}
	c.err = strings.TrimSpace(sections["error"])
	return c
}

// TestBPFLoopEngines runs testdata/bpf_loop's programs in the interpreter,
// which calls bpf_loop as a helper, and compiled, where the call becomes a
// loop in compiled code: both must give the file's result (flags, the
// 2^23 limit, 32-bit counts, early stops, nesting, registers kept, the
// budget charged per iteration).
func TestBPFLoopEngines(t *testing.T) {
	files, err := filepath.Glob("testdata/bpf_loop/*.data")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata/bpf_loop: %v", err)
	}
	engines := []waggle.Engine{waggle.EngineInterpreter}
	if jit.Supported {
		engines = append(engines, waggle.EngineJIT)
	}
	for _, file := range files {
		c := readLoopCase(t, file)
		insns, err := assembler.Assemble(c.asm)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, engine := range engines {
			t.Run(strings.TrimSuffix(filepath.Base(file), ".data")+"/"+engine.String(), func(t *testing.T) {
				p, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: "loop", Instructions: insns},
					waggle.ProgramOptions{Engine: engine})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				var res waggle.RunResult
				_, err = p.Run(&waggle.RunOptions{Budget: c.budget, Result: &res})
				if c.err != "" {
					for want := range strings.Lines(c.err) {
						if want = strings.TrimSpace(want); err == nil || !strings.Contains(err.Error(), want) {
							t.Fatalf("run: %v, want an error containing %q", err, want)
						}
					}
					if strings.Contains(c.err, "budget exhausted") && !errors.Is(err, waggle.ErrBudgetExhausted) {
						t.Fatalf("run: %v, want ErrBudgetExhausted", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.ReturnValue != c.result {
					t.Errorf("r0 = %#x, want %#x", res.ReturnValue, c.result)
				}
			})
		}
	}
}
