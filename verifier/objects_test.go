package verifier

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// objectFiles are the compiled C programs of the project.
func objectFiles(t testing.TB) []string {
	var out []string
	for _, g := range []string{"../testdata/progs/*.o", "../examples/*/*.o"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	return out
}

func loadObject(t testing.TB, path string) map[string]*Program {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	progs, err := ProgramsFromSpec(spec)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return progs
}

// TestObjectsAccepted: every program of the project's objects (which the
// kernel accepts) is accepted.
func TestObjectsAccepted(t *testing.T) {
	for _, obj := range objectFiles(t) {
		progs := loadObject(t, obj)
		names := make([]string, 0, len(progs))
		for n := range progs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			st, err := Verify(progs[n], Options{})
			if err != nil {
				t.Errorf("%s: %s: %v", filepath.Base(obj), n, err)
				continue
			}
			t.Logf("%s: %s: %d insns processed, %d states", filepath.Base(obj), n, st.InstructionsProcessed, st.TotalStates)
		}
	}
}

// kernelObjectStats loads one program of an object into the kernel and
// returns its verifier statistics line and verification time.
func kernelObjectStats(path, prog string) (processed int, usec int, err error) {
	if err := kernelAvailable(); err != nil {
		return 0, 0, err
	}
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range spec.Maps {
		if m.Type == ebpf.ProgramArray {
			m.Contents = nil
		}
	}
	for n := range spec.Programs {
		if n != prog {
			delete(spec.Programs, n)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats, LogSizeStart: 1 << 16}})
	if err != nil {
		return 0, 0, err
	}
	defer coll.Close()
	log := coll.Programs[prog].VerifierLog
	for _, line := range strings.Split(log, "\n") {
		fmt.Sscanf(line, "verification time %d usec", &usec)
		if strings.HasPrefix(line, "processed ") {
			fmt.Sscanf(line, "processed %d insns", &processed)
		}
	}
	return processed, usec, nil
}

func TestCompareKernelCounts(t *testing.T) {
	if testing.Short() || kernelAvailable() != nil {
		t.Skip("needs the kernel")
	}
	for _, obj := range objectFiles(t) {
		progs := loadObject(t, obj)
		names := make([]string, 0, len(progs))
		for n := range progs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			st, err := Verify(progs[n], Options{})
			kp, kus, kerr := kernelObjectStats(obj, n)
			t.Logf("%-22s %-18s waggle %6d insns %5d states %8v err=%v | kernel %6d insns %6d us %v", filepath.Base(obj), n, st.InstructionsProcessed, st.TotalStates, st.Duration, err != nil, kp, kus, kerr)
		}
	}
}
