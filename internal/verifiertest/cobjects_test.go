package verifiertest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
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
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang is not installed; cannot check that the objects match their sources")
	}
	machine, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Skipf("uname -m: %v", err)
	}
	include := "/usr/include/" + strings.TrimSpace(string(machine)) + "-linux-gnu"
	sources, err := filepath.Glob(filepath.Join(RepoRoot(), "testdata/verifier/c/*.c"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) == 0 {
		t.Fatal("no C sources in testdata/verifier/c")
	}
	tmp := t.TempDir()
	for i, src := range sources {
		fresh := filepath.Join(tmp, fmt.Sprintf("%d.o", i))
		cmd := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-I"+include, "-c", filepath.Base(src), "-o", fresh)
		cmd.Dir = filepath.Dir(src)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: clang: %v\n%s", filepath.Base(src), err, out)
			continue
		}
		if err := sameObject(strings.TrimSuffix(src, ".c")+".o", fresh); err != nil {
			t.Errorf("%s: the committed object is out of date (run make in testdata/verifier/c): %v", filepath.Base(src), err)
		}
	}
}

func sameObject(committedPath, freshPath string) error {
	committed, err := ebpf.LoadCollectionSpec(committedPath)
	if err != nil {
		return err
	}
	fresh, err := ebpf.LoadCollectionSpec(freshPath)
	if err != nil {
		return err
	}
	if len(committed.Programs) != len(fresh.Programs) {
		return fmt.Errorf("%d programs, the source gives %d", len(committed.Programs), len(fresh.Programs))
	}
	for name, p := range fresh.Programs {
		q := committed.Programs[name]
		if q == nil {
			return fmt.Errorf("program %s is missing", name)
		}
		if p.SectionName != q.SectionName || p.Type != q.Type {
			return fmt.Errorf("program %s: section %q, the source gives %q", name, q.SectionName, p.SectionName)
		}
		if fmt.Sprint(q.Instructions) != fmt.Sprint(p.Instructions) {
			return fmt.Errorf("program %s: instructions differ", name)
		}
	}
	if len(committed.Maps) != len(fresh.Maps) {
		return fmt.Errorf("%d maps, the source gives %d", len(committed.Maps), len(fresh.Maps))
	}
	for name, m := range fresh.Maps {
		n := committed.Maps[name]
		if n == nil {
			return fmt.Errorf("map %s is missing", name)
		}
		if m.Type != n.Type || m.KeySize != n.KeySize || m.ValueSize != n.ValueSize || m.MaxEntries != n.MaxEntries || m.Flags != n.Flags {
			return fmt.Errorf("map %s differs", name)
		}
	}
	return nil
}
