package verifiertest

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

func TestCPrograms(t *testing.T) {
	objs := CObjects()
	if len(objs) == 0 {
		t.Fatal("no C objects")
	}
	progs, err := CPrograms()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range progs {
		seen[p.Object] = true
	}
	for _, obj := range objs {
		if !seen[obj] {
			t.Errorf("%s: no programs", obj)
		}
	}
}

// TestCProgramsKernelVerdicts checks that the kernel gives every program
// of the C objects its recorded verdict.
func TestCProgramsKernelVerdicts(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	progs, err := CPrograms()
	if err != nil {
		t.Fatal(err)
	}
	byObject := map[string][]CProgram{}
	for _, p := range progs {
		byObject[p.Object] = append(byObject[p.Object], p)
	}
	objs := make([]string, 0, len(byObject))
	for obj := range byObject {
		objs = append(objs, obj)
	}
	sort.Strings(objs)
	for _, obj := range objs {
		t.Run(obj, func(t *testing.T) {
			verdicts, err := kerneltest.Verify(filepath.Join(RepoRoot(), obj))
			if err != nil {
				kerneltest.SkipIfUnsupported(t, err)
				t.Fatal(err)
			}
			for _, p := range byObject[obj] {
				t.Run(p.Program, func(t *testing.T) {
					err, ok := verdicts[p.Program]
					log := fmt.Sprintf("%+v", err)
					switch {
					case !ok:
						t.Errorf("%s was not loaded", p.Program)
					case err == nil && !p.Accept:
						t.Errorf("the kernel accepts it; recorded: rejected with %q", p.KernelMessage)
					case err != nil && p.Accept:
						// A kernel that lacks what the program
						// needs refuses it, which says nothing
						// about the program.
						kerneltest.SkipIfUnsupported(t, err)
						t.Errorf("the kernel rejects it; recorded: accepted. Log:\n%s", log)
					case err != nil && !strings.Contains(log, p.KernelMessage):
						t.Errorf("the kernel's log does not have %q:\n%s", p.KernelMessage, log)
					}
				})
			}
		})
	}
}

// TestCObjectsUpToDate rebuilds the sources of testdata/verifier/c with
// clang, when it is installed, and compares the programs and maps with the
// committed objects.
func TestCObjectsUpToDate(t *testing.T) {
	sources, err := filepath.Glob(filepath.Join(RepoRoot(), "testdata/verifier/c/*.c"))
	if err != nil {
		t.Fatal(err)
	}
	kerneltest.ObjectsUpToDate(t, sources...)
}
