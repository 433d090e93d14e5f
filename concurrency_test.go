package waggle_test

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/waggle-ebpf/waggle"
)

// TestConcurrentRuns: many goroutines run a program that updates the same
// hash, LRU and per-CPU maps while Go code iterates them. Run it with -race:
// no lost updates for the atomic adds, no value seen half written, and no
// data race in waggle.
func TestConcurrentRuns(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec("testdata/concurrency/counters.o")
	if err != nil {
		t.Fatal(err)
	}
	const cpus = 4
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: cpus})
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	prog := coll.Programs["count"]

	const (
		goroutines = 8
		runs       = 400
		keys       = 4
	)
	var stop atomic.Bool
	var readers sync.WaitGroup
	var torn atomic.Int64
	readers.Go(func() {
		// Iterate the maps while the programs run.
		type pair struct{ A, B uint64 }
		for !stop.Load() {
			var k uint32
			var p pair
			it := coll.Maps["pairs"].Iterate()
			for it.Next(&k, &p) {
				if p.A != p.B {
					torn.Add(1)
				}
			}
			if err := it.Err(); err != nil {
				t.Error(err)
				return
			}
			var v uint64
			for _, name := range []string{"hash_counts", "lru_counts"} {
				it := coll.Maps[name].Iterate()
				for it.Next(&k, &v) {
				}
				if err := it.Err(); err != nil {
					t.Error(err)
					return
				}
			}
			per := make([]uint64, cpus)
			if err := coll.Maps["percpu_counts"].Lookup(uint32(0), &per); err != nil {
				t.Error(err)
				return
			}
		}
	})

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ctx := make([]byte, 4)
			for i := range runs {
				binary.NativeEndian.PutUint32(ctx, uint32((g+i)%keys))
				if _, err := prog.Run(&waggle.RunOptions{Context: ctx}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()

	if n := torn.Load(); n != 0 {
		t.Errorf("a reader saw %d values half written", n)
	}
	for _, name := range []string{"hash_counts", "lru_counts"} {
		var total uint64
		for k := range uint32(keys) {
			var v uint64
			if err := coll.Maps[name].Lookup(k, &v); err != nil {
				t.Fatalf("%s[%d]: %v", name, k, err)
			}
			total += v
		}
		if total != goroutines*runs {
			t.Errorf("%s: %d increments counted, want %d", name, total, goroutines*runs)
		}
	}
	per := make([]uint64, cpus)
	if err := coll.Maps["percpu_counts"].Lookup(uint32(0), &per); err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, v := range per {
		total += v
	}
	if total != goroutines*runs {
		t.Errorf("percpu_counts: %d increments over the CPU slots %v, want %d", total, per, goroutines*runs)
	}
}
