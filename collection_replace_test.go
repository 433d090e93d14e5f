package waggle_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// TestMapReplacements loads the firewall with its counters in a map of the
// caller's: the program counts in it, Collection.Close leaves it open, and
// a program detached from the collection keeps it after the caller closes
// it.
func TestMapReplacements(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec(filepath.Join(kerneltest.RepoRoot(), "examples/firewall/firewall.o"))
	if err != nil {
		t.Fatal(err)
	}
	counts, err := waggle.NewMap(spec.Maps["drop_counts"])
	if err != nil {
		t.Fatal(err)
	}
	if err := counts.Put(uint32(0), uint64(10)); err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{MapReplacements: map[string]*waggle.Map{"drop_counts": counts}})
	if err != nil {
		t.Fatal(err)
	}
	if coll.Maps["drop_counts"].Handle() != counts.Handle() {
		t.Error("the collection's drop_counts is not the replacement")
	}
	prog := coll.DetachProgram("firewall")
	defer prog.Close()
	if ret, _, err := prog.Test(kerneltest.FrameTCP4()); err != nil || ret != 2 {
		t.Fatalf("run: %d, %v", ret, err)
	}
	coll.Close()
	var passed uint64
	if err := counts.Lookup(uint32(0), &passed); err != nil || passed != 11 {
		t.Fatalf("after Collection.Close, the caller's map gives %d, %v; want 11", passed, err)
	}
	counts.Close()
	if ret, _, err := prog.Test(kerneltest.FrameTCP4()); err != nil || ret != 2 {
		t.Fatalf("run after the caller closed the map: %d, %v", ret, err)
	}
}

// TestMapReplacementsIncompatible offers replacements that do not match
// their MapSpec to waggle and, as root, to cilium/ebpf with kernel maps
// of the same specs, and checks that both refuse the same ones; waggle's
// error names the map and the difference.
func TestMapReplacementsIncompatible(t *testing.T) {
	path := filepath.Join(kerneltest.RepoRoot(), "examples/firewall/firewall.o")
	spec, err := waggle.LoadCollectionSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	base := *spec.Maps["drop_counts"]
	with := func(f func(s *ebpf.MapSpec)) *ebpf.MapSpec {
		s := base
		s.Contents = nil
		f(&s)
		return &s
	}
	for _, tc := range []struct {
		name string
		map_ string
		spec *ebpf.MapSpec
		want string // "" if compatible
	}{
		{"same", "drop_counts", with(func(*ebpf.MapSpec) {}), ""},
		{"other name", "drop_counts", with(func(s *ebpf.MapSpec) { s.Name = "other" }), ""},
		{"type", "drop_counts", with(func(s *ebpf.MapSpec) { s.Type = ebpf.Hash }), "Type: Hash changed to Array"},
		{"value size", "drop_counts", with(func(s *ebpf.MapSpec) { s.ValueSize = 4 }), "ValueSize: 4 changed to 8"},
		{"max entries", "drop_counts", with(func(s *ebpf.MapSpec) { s.MaxEntries = 5 }), "MaxEntries: 5 changed to 4"},
		{"flags", "drop_counts", with(func(s *ebpf.MapSpec) { s.Flags = 1 << 7 }), "Flags: 128 changed to 0"},
		{"key size", "blocked_addrs", &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: 4, MaxEntries: 1024}, "KeySize: 8 changed to 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := waggle.NewMap(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{MapReplacements: map[string]*waggle.Map{tc.map_: m}})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				coll.Close()
			} else if err == nil || !errors.Is(err, ebpf.ErrMapIncompatible) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.map_) {
				t.Errorf("error %v, want one naming %s and %q, matching ErrMapIncompatible", err, tc.map_, tc.want)
			}

			if err := kerneltest.Available(); err != nil {
				t.Skip(err)
			}
			km, err := ebpf.NewMap(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			defer km.Close()
			kspec, err := ebpf.LoadCollectionSpec(path)
			if err != nil {
				t.Fatal(err)
			}
			kcoll, kerr := ebpf.NewCollectionWithOptions(kspec, ebpf.CollectionOptions{MapReplacements: map[string]*ebpf.Map{tc.map_: km}})
			if kerr == nil {
				kcoll.Close()
			}
			if (kerr == nil) != (tc.want == "") || (kerr != nil && !errors.Is(kerr, ebpf.ErrMapIncompatible)) {
				t.Errorf("cilium/ebpf: %v", kerr)
			}
		})
	}
}

// TestMapReplacementsErrors covers what cilium/ebpf has no counterpart
// for, or refuses before any kernel call.
func TestMapReplacementsErrors(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec(filepath.Join(kerneltest.RepoRoot(), "testdata/progs/percpu_maps.o"))
	if err != nil {
		t.Fatal(err)
	}
	var percpu string
	for name, ms := range spec.Maps {
		if ms.Type == ebpf.PerCPUArray {
			percpu = name
		}
	}
	if percpu == "" {
		t.Fatal("percpu_maps.o has no per-CPU array")
	}
	pm, err := waggle.NewMapWithOptions(spec.Maps[percpu], waggle.MapOptions{CPUs: 3})
	if err != nil {
		t.Fatal(err)
	}
	closed, err := waggle.NewMap(spec.Maps[percpu])
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	defer pm.Close()
	for _, tc := range []struct {
		name string
		repl map[string]*waggle.Map
		want string
	}{
		{"unknown name", map[string]*waggle.Map{"nope": pm}, "replacement map nope not found"},
		{"nil", map[string]*waggle.Map{percpu: nil}, "replacement map " + percpu + ": the map is nil"},
		{"closed", map[string]*waggle.Map{percpu: closed}, "file already closed"},
		{"CPUs", map[string]*waggle.Map{percpu: pm}, "CPUs: 3 changed to 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: 2, MapReplacements: tc.repl})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
