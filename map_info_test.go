package waggle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// mmapable is BPF_F_MMAPABLE, which cilium/ebpf adds to the flags of
// global data sections when it creates them in the kernel.
const mmapable = 1 << 10

// infoObjects are the objects whose programs' and maps' Info are compared
// with the kernel's: global data, subprograms, tail calls, maps of maps.
var infoObjects = []string{
	"examples/firewall/firewall.o",
	"examples/tail_calls/tail_calls.o",
	"testdata/progs/xdp_adjust.o",
	"testdata/progs/global_data.o",
	"testdata/progs/subprogs.o",
	"testdata/progs/map_in_map.o",
	"testdata/progs/loops.o",
	"testdata/progs/hash_maps.o",
	"testdata/progs/percpu_maps.o",
	"testdata/objects/variables.o",
}

// TestInfoKernel compares Program.Info and Map.Info with what the kernel
// reports for the same objects (as root): the programs' types, tags and
// number of maps used, the maps' types, sizes, flags, frozen state and
// short names.
func TestInfoKernel(t *testing.T) {
	for _, obj := range infoObjects {
		t.Run(filepath.Base(obj), func(t *testing.T) {
			path := filepath.Join(kerneltest.RepoRoot(), obj)
			w := waggleCollection(t, path)
			if err := kerneltest.Available(); err != nil {
				t.Skip(err)
			}
			spec, err := ebpf.LoadCollectionSpec(path)
			if err != nil {
				t.Fatal(err)
			}
			k, err := ebpf.NewCollection(spec)
			if err != nil {
				t.Skipf("the kernel does not load the whole object: %v", err)
			}
			defer k.Close()
			for name, kp := range k.Programs {
				wi, err := w.Programs[name].Info()
				if err != nil {
					t.Fatal(err)
				}
				ki, err := kp.Info()
				if err != nil {
					t.Fatal(err)
				}
				if wi.Type != ki.Type || wi.Tag != ki.Tag || wi.Name != name {
					t.Errorf("program %s: waggle %v %s %q, kernel %v %s", name, wi.Type, wi.Tag, wi.Name, ki.Type, ki.Tag)
				}
				if ids, ok := ki.MapIDs(); ok && len(ids) != len(wi.MapHandles()) {
					t.Errorf("program %s uses %d maps, the kernel says %d", name, len(wi.MapHandles()), len(ids))
				}
			}
			for name, km := range k.Maps {
				wi, err := w.Maps[name].Info()
				if err != nil {
					t.Fatal(err)
				}
				ki, err := km.Info()
				if err != nil {
					t.Fatal(err)
				}
				if wi.Type != ki.Type || wi.KeySize != ki.KeySize || wi.ValueSize != ki.ValueSize ||
					wi.MaxEntries != ki.MaxEntries || wi.Flags != ki.Flags&^mmapable || wi.Frozen() != ki.Frozen() {
					t.Errorf("map %s: waggle %+v frozen %v, kernel %+v frozen %v", name, *wi, wi.Frozen(), *ki, ki.Frozen())
				}
				if len(name) < 16 && !strings.Contains(name, ".") && wi.Name != ki.Name {
					t.Errorf("map %s: name %q, the kernel's %q", name, wi.Name, ki.Name)
				}
				if wi.Handle != w.Maps[name].Handle() || wi.Handle == 0 {
					t.Errorf("map %s: handle %#x", name, wi.Handle)
				}
			}
		})
	}
}

// TestInfo checks what the kernel cannot: handles, memory, the verifier's
// count, and the errors of closed objects.
func TestInfo(t *testing.T) {
	coll := waggleCollection(t, filepath.Join(kerneltest.RepoRoot(), "examples/firewall/firewall.o"))
	pi, err := coll.Programs["firewall"].Info()
	if err != nil {
		t.Fatal(err)
	}
	handles := map[uint64]bool{}
	for _, h := range pi.MapHandles() {
		handles[h] = true
	}
	for name, m := range coll.Maps {
		if !handles[m.Handle()] {
			t.Errorf("MapHandles %#x lacks map %s (%#x)", pi.MapHandles(), name, m.Handle())
		}
		mi, err := m.Info()
		if err != nil {
			t.Fatal(err)
		}
		if mem, _ := mi.Memlock(); mem == 0 {
			t.Errorf("map %s: Memlock 0", name)
		}
		if _, ok := mi.ID(); ok {
			t.Errorf("map %s has a kernel ID", name)
		}
	}
	if n, ok := pi.VerifiedInstructions(); !ok || n == 0 {
		t.Errorf("VerifiedInstructions %d, %v", n, ok)
	}
	if pi.Engine() != coll.Programs["firewall"].Engine() {
		t.Errorf("Engine %v", pi.Engine())
	}

	p := coll.DetachProgram("firewall")
	p.Close()
	if _, err := p.Info(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Info of a closed program: %v", err)
	}
	m := coll.DetachMap("drop_counts")
	m.Close()
	if _, err := m.Info(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Info of a closed map: %v", err)
	}
}
