package waggle_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

const mib = 1 << 20

// withMapMemoryLimit runs f with the limit for all the maps of the process
// set to what they hold now plus room bytes.
func withMapMemoryLimit(t *testing.T, room uint64, f func()) {
	t.Helper()
	used, _ := waggle.MapMemory()
	prev := waggle.SetMapMemoryLimit(used + room)
	defer waggle.SetMapMemoryLimit(prev)
	f()
}

// TestMapMemoryLimits: objects whose maps need more memory than a limit
// allows (the process's, the collection's, the map's) are refused with
// ENOMEM, by an error that names the map (or section), the bytes it needs
// and the limit, before anything is allocated.
func TestMapMemoryLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		object string
		room   uint64 // the process's limit: what maps hold now plus room (0: unchanged)
		opts   waggle.CollectionOptions
		wants  []string
	}{
		{name: "1 GiB .bss, process limit", object: "huge_bss.o", room: 512 * mib,
			wants: []string{"section .bss: 1073741824 bytes of zero-initialised data", "memory limit of the maps of this process (SetMapMemoryLimit)"}},
		{name: "per-CPU array of 2^28 entries, collection limit", object: "huge_percpu.o", opts: waggle.CollectionOptions{CPUs: 2, MemoryLimit: 1 << 30},
			wants: []string{`map "counts" (PerCPUArray)`, "268435456 entries of 8 bytes on each of 2 CPU slots need 4294968320 bytes of memory",
				"more than the 1073741824 bytes left of the 1073741824-byte (1 GiB) memory limit of the maps of this collection (CollectionOptions.MemoryLimit)"}},
		{name: "per-CPU array of 2^28 entries, process limit", object: "huge_percpu.o", room: 1 << 30, opts: waggle.CollectionOptions{CPUs: 2},
			wants: []string{`map "counts" (PerCPUArray)`, "need 4294968320 bytes of memory", "memory limit of the maps of this process (SetMapMemoryLimit)"}},
		{name: "2 GiB value, collection limit", object: "big_value.o", opts: waggle.CollectionOptions{MemoryLimit: 1 << 30},
			wants: []string{`map "big" (Array)`, "1 entry of 2147483640 bytes need 2147484672 bytes of memory", "maps of this collection"}},
		{name: "eight 64 MiB maps, collection limit", object: "many_maps.o", opts: waggle.CollectionOptions{MemoryLimit: 200 * mib},
			wants: []string{`map "chunk3" (Array)`, "need 67109888 bytes of memory, more than the 8385536 bytes left of the 209715200-byte (200 MiB) memory limit of the maps of this collection"}},
		{name: "eight 64 MiB maps, process limit", object: "many_maps.o", room: 300 * mib,
			wants: []string{`map "chunk4" (Array)`, "need 67109888 bytes of memory", "memory limit of the maps of this process (SetMapMemoryLimit)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := waggle.MapMemory()
			var err error
			load := func() {
				var spec *ebpf.CollectionSpec
				if spec, err = waggle.LoadCollectionSpec(objectPath(tc.object)); err != nil {
					return
				}
				var coll *waggle.Collection
				if coll, err = waggle.NewCollectionWithOptions(spec, tc.opts); err == nil {
					coll.Close()
				}
			}
			if tc.room > 0 {
				withMapMemoryLimit(t, tc.room, load)
			} else {
				load()
			}
			if !errors.Is(err, errno.ENOMEM) {
				t.Fatalf("got %v, want ENOMEM", err)
			}
			t.Logf("error: %v", err)
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if after, _ := waggle.MapMemory(); after != before {
				t.Errorf("the maps of the process hold %d bytes, %d before the refused collection", after, before)
			}
		})
	}
}

// TestMapMemoryReturned: maps give their memory back when they are closed,
// so that creating and closing them in a loop stays within a limit that
// holds one round's maps, for maps made one by one (MapOptions.MemoryLimit
// too) and for collections.
func TestMapMemoryReturned(t *testing.T) {
	spec := &ebpf.MapSpec{Name: "chunk", Type: ebpf.Array, KeySize: 4, ValueSize: 16 * mib, MaxEntries: 1}
	withMapMemoryLimit(t, 3*16*mib+64<<10, func() {
		for round := range 20 {
			var ms []*waggle.Map
			for i := range 3 {
				m, err := waggle.NewMap(spec)
				if err != nil {
					t.Fatalf("round %d, map %d: %v", round, i, err)
				}
				ms = append(ms, m)
			}
			if _, err := waggle.NewMap(spec); !errors.Is(err, errno.ENOMEM) {
				t.Fatalf("round %d: a fourth map: %v, want ENOMEM", round, err)
			}
			for _, m := range ms {
				m.Close()
			}
		}
	})

	_, err := waggle.NewMapWithOptions(spec, waggle.MapOptions{MemoryLimit: 8 * mib})
	if !errors.Is(err, errno.ENOMEM) || !strings.Contains(err.Error(), "8 MiB) memory limit of this map (MapOptions.MemoryLimit)") {
		t.Fatalf("a map beyond its own limit: %v", err)
	}

	withMapMemoryLimit(t, 520*mib, func() {
		for round := range 5 {
			before, _ := waggle.MapMemory()
			spec, err := waggle.LoadCollectionSpec(objectPath("many_maps.o"))
			if err != nil {
				t.Fatal(err)
			}
			coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{MemoryLimit: 513 * mib})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if used, _ := waggle.MapMemory(); used-before < 512*mib {
				t.Fatalf("round %d: the collection's maps hold %d bytes, less than their 512 MiB of values", round, used-before)
			}
			coll.Close()
			if used, _ := waggle.MapMemory(); used != before {
				t.Fatalf("round %d: closed, the collection's maps still hold %d bytes", round, used-before)
			}
		}
	})
}

func TestDefaultMapMemoryLimit(t *testing.T) {
	limit, how := waggle.DefaultMapMemoryLimit()
	used, current := waggle.MapMemory()
	t.Logf("default %d bytes (%s); maps hold %d bytes of %d", limit, how, used, current)
	if limit == 0 || how == "" {
		t.Fatalf("DefaultMapMemoryLimit() = %d, %q", limit, how)
	}
	prev := waggle.SetMapMemoryLimit(12345)
	if _, l := waggle.MapMemory(); l != 12345 {
		t.Errorf("after SetMapMemoryLimit(12345) the limit is %d", l)
	}
	if got := waggle.SetMapMemoryLimit(0); got != 12345 {
		t.Errorf("SetMapMemoryLimit(0) returned %d, want the previous 12345", got)
	}
	if _, l := waggle.MapMemory(); l != limit {
		t.Errorf("after SetMapMemoryLimit(0) the limit is %d, want the default %d", l, limit)
	}
	waggle.SetMapMemoryLimit(prev)
}
