package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// ObjectsUpToDate rebuilds each C source of sources as the repository's
// Makefiles build them (clang -O2 -g -target bpf -mcpu=v3, in the
// source's folder, with the machine's asm headers) and fails the test for
// each committed object (SOURCE.o) whose programs or maps differ from the
// rebuilt ones, saying to run make in its folder. It skips the test,
// saying why, when clang or the headers are missing.
func ObjectsUpToDate(tb testing.TB, sources ...string) {
	tb.Helper()
	ObjectsUpToDateWith(tb, ebpf.LoadCollectionSpec, sources...)
}

// ObjectsUpToDateWith is ObjectsUpToDate reading the objects with load
// (waggle.LoadCollectionSpec, for objects that only waggle's reader
// takes, as those with libbpf's weak maps).
func ObjectsUpToDateWith(tb testing.TB, load func(string) (*ebpf.CollectionSpec, error), sources ...string) {
	tb.Helper()
	clang, err := exec.LookPath("clang")
	if err != nil {
		tb.Skip("skipped: clang is not installed; cannot check that the objects match their sources")
	}
	machine, err := exec.Command("uname", "-m").Output()
	if err != nil {
		tb.Skipf("skipped: uname -m: %v", err)
	}
	include := "/usr/include/" + strings.TrimSpace(string(machine)) + "-linux-gnu"
	if _, err := os.Stat(filepath.Join(include, "asm")); err != nil {
		tb.Skipf("skipped: no %s/asm (Debian: linux-libc-dev): %v", include, err)
	}
	if len(sources) == 0 {
		tb.Fatal("no C sources to check")
	}
	tmp := tb.TempDir()
	for i, src := range sources {
		fresh := filepath.Join(tmp, fmt.Sprintf("%d.o", i))
		cmd := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-I"+include, "-c", filepath.Base(src), "-o", fresh)
		cmd.Dir = filepath.Dir(src)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Errorf("%s: clang: %v\n%s", src, err, out)
			continue
		}
		if err := sameObject(load, strings.TrimSuffix(src, ".c")+".o", fresh); err != nil {
			tb.Errorf("%s: the committed object is out of date (run make in %s): %v", src, filepath.Dir(src), err)
		}
	}
}

// sameObject compares the programs (sections, types, instructions) and
// maps (shapes, flags, contents) of two objects.
func sameObject(load func(string) (*ebpf.CollectionSpec, error), committedPath, freshPath string) error {
	committed, err := load(committedPath)
	if err != nil {
		return err
	}
	fresh, err := load(freshPath)
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
			return fmt.Errorf("program %s: section %q type %s, the source gives %q %s", name, q.SectionName, q.Type, p.SectionName, p.Type)
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
		if fmt.Sprint(m.Contents) != fmt.Sprint(n.Contents) {
			return fmt.Errorf("map %s: contents differ", name)
		}
	}
	return nil
}
