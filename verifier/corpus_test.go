package verifier

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/verifiertest"
)

// corpusDisagreements are the corpus cases where waggle's verdict differs
// from the kernel's on purpose, with the reason.
var corpusDisagreements = map[string]string{}

// programFromCase builds the Program of a corpus case.
func programFromCase(c verifiertest.Case) *Program {
	p := &Program{Name: c.Name, Type: c.Type, Instructions: c.Instructions}
	for _, ms := range c.Maps {
		p.Maps = append(p.Maps, MapFromSpec(ms))
	}
	return p
}

// TestCorpus runs every case of the verifier corpus (testdata/verifier):
// waggle's verdict must be the kernel's, recorded on Linux 6.18.
func TestCorpus(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	cases, err := verifiertest.Cases()
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for _, c := range cases {
		_, err := Verify(programFromCase(c), Options{})
		got := err == nil
		if got == c.Accept {
			agree++
			continue
		}
		why, known := corpusDisagreements[c.Name]
		line := fmt.Sprintf("%s (%s): kernel accept=%v %q, waggle %v", c.Name, c.Category, c.Accept, c.KernelMessage, err)
		if !known {
			t.Errorf("%s", line)
		} else {
			t.Logf("known difference: %s: %s", c.Name, why)
		}
	}
	t.Logf("corpus: waggle agrees with the kernel on %d of %d cases (%.1f%%)", agree, len(cases), 100*float64(agree)/float64(len(cases)))
}

// TestCorpusCPrograms verifies every program of the committed C objects
// and compares with the kernel's recorded verdict.
func TestCorpusCPrograms(t *testing.T) {
	progs, err := verifiertest.CPrograms()
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]*Program{}
	agree := 0
	for _, cp := range progs {
		ps, ok := objs[cp.Object]
		if !ok {
			spec, err := ebpf.LoadCollectionSpec(filepath.Join(verifiertest.RepoRoot(), cp.Object))
			if err != nil {
				t.Errorf("%s: %v", cp.Object, err)
				continue
			}
			ps, err = ProgramsFromSpec(spec)
			if err != nil {
				t.Errorf("%s: %v", cp.Object, err)
				continue
			}
			objs[cp.Object] = ps
		}
		p := ps[cp.Program]
		if p == nil {
			t.Errorf("%s: no program %s", cp.Object, cp.Program)
			continue
		}
		_, err := Verify(p, Options{})
		if (err == nil) == cp.Accept {
			agree++
			continue
		}
		if why, ok := cProgramDisagreements[cp.Program]; ok {
			t.Logf("known difference: %s: %s", cp.Program, why)
			continue
		}
		t.Errorf("%s: %s: kernel accept=%v %q, waggle: %v", cp.Object, cp.Program, cp.Accept, cp.KernelMessage, err)
	}
	t.Logf("C programs: waggle agrees with the kernel on %d of %d", agree, len(progs))
}

// cProgramDisagreements are the C programs where waggle's verdict differs
// from the kernel's, with the reason.
var cProgramDisagreements = map[string]string{}

func init() {
	corpusDisagreements = map[string]string{
		"loop_bpf_loop_no_btf": "the kernel needs BTF func_info to check callbacks; waggle's verifier needs none",
		"ptr_map_ptr_deref":    "the kernel lets programs read struct bpf_map through a map pointer (BTF); waggle's map handles are not addresses",
	}
}
