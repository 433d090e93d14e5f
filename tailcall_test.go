package waggle

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/jit"
)

// TestProgramArrayConcurrentTailCalls: runs tail-call through a prog_array
// while Go fills, replaces and empties its slot with programs it then
// closes, and the garbage collector runs. Compiled code reads the slot's
// code address from the array's tail table and jumps there without
// returning to Go: a program that left the slot must stay mapped while a
// run may still enter it (the array retires its code), and each run must
// see one of the slot's states. Run it with -race.
func TestProgramArrayConcurrentTailCalls(t *testing.T) {
	const xdpDrop, xdpPass, xdpTX = 1, 2, 3
	for _, engine := range testEngines() {
		t.Run(engine.String(), func(t *testing.T) {
			coll := loadProgs(t, "tail_calls.o", engine)
			defer coll.Close()
			dispatch, jmp := coll.Programs["xdp_dispatch"], coll.Maps["jmp_table"]
			var stop atomic.Bool
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			var seen [4]atomic.Int64
			for range 2 {
				wg.Go(func() {
					for !stop.Load() {
						got, err := runValue(dispatch, ethernet(0x0800))
						if err != nil {
							errs <- err
							return
						}
						if got != xdpDrop && got != xdpPass && got != xdpTX {
							t.Errorf("dispatch of IPv4: %d, want XDP_DROP (slot 0 empty), XDP_PASS (handle_ipv4) or XDP_TX (handle_ipv6)", got)
							return
						}
						seen[got].Add(1)
					}
				})
			}
			rounds := 40
			if testing.Short() {
				rounds = 10
			}
			for i := range rounds {
				fresh := loadProgs(t, "tail_calls.o", engine)
				name := "handle_ipv4"
				if i%2 == 1 {
					name = "handle_ipv6"
				}
				p := fresh.DetachProgram(name)
				if err := jmp.Put(uint32(0), p); err != nil {
					t.Fatal(err)
				}
				// The slot holds the program's only reference from now on:
				// a run in it when the slot changes keeps it, and its maps,
				// until the run ends (the interpreter, which checks every
				// access against the live maps, faulted here before).
				p.Close()
				fresh.Close()
				runtime.GC()
				if i%3 == 2 {
					if err := jmp.Delete(uint32(0)); err != nil {
						t.Fatal(err)
					}
					runtime.GC()
				}
			}
			stop.Store(true)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Logf("runs: %d XDP_DROP, %d XDP_PASS, %d XDP_TX", seen[xdpDrop].Load(), seen[xdpPass].Load(), seen[xdpTX].Load())
			// The last state of the slot is what runs see now.
			for _, c := range []struct {
				name string
				want uint64
			}{{"handle_ipv6", xdpTX}, {"handle_ipv4", xdpPass}} {
				if err := jmp.Put(uint32(0), coll.Programs[c.name]); err != nil {
					t.Fatal(err)
				}
				if got, err := runValue(dispatch, ethernet(0x0800)); err != nil || got != c.want {
					t.Fatalf("with %s in slot 0: %d, %v; want %d", c.name, got, err, c.want)
				}
			}
			if err := jmp.Delete(uint32(0)); err != nil {
				t.Fatal(err)
			}
			if got, err := runValue(dispatch, ethernet(0x0800)); err != nil || got != xdpDrop {
				t.Fatalf("with slot 0 empty: %d, %v; want XDP_DROP", got, err)
			}
		})
	}
}

// TestTailCallIntoCheckedCode: compiled code that was verified tail-calls
// a compiled program that was not (checked code, which counts its budget
// and checks its memory through the Context that Go prepares) through Go,
// not by jumping to it, and the tail-call limit holds across both kinds:
// xdp_chain_entry (verified) tail-calls xdp_chain (checked), which
// tail-calls itself through its own array until the 33rd.
func TestTailCallIntoCheckedCode(t *testing.T) {
	if !jit.Supported {
		t.Skipf("no JIT for %s", runtime.GOARCH)
	}
	verified := loadProgs(t, "tail_calls.o", EngineJIT)
	defer verified.Close()
	spec, err := LoadCollectionSpec("testdata/progs/tail_calls.o")
	if err != nil {
		t.Fatal(err)
	}
	checked, err := NewCollectionWithOptions(spec, CollectionOptions{Engine: EngineJIT, SkipVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	defer checked.Close()
	if err := verified.Maps["jmp_table"].Put(uint32(3), checked.Programs["xdp_chain"]); err != nil {
		t.Fatal(err)
	}
	if got, err := runValue(verified.Programs["xdp_chain_entry"], ethernet(0x0800)); err != nil || got != 2 {
		t.Fatalf("xdp_chain_entry: %d, %v; want XDP_PASS", got, err)
	}
	var hits uint64
	if err := checked.Maps["hits"].Lookup(uint32(3), &hits); err != nil {
		t.Fatal(err)
	}
	if hits != 33 {
		t.Errorf("the checked xdp_chain ran %d times, want 33", hits)
	}
}
