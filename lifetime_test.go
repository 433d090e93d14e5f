package waggle

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// testEngines are the engines this machine has.
func testEngines() []Engine {
	if jit.Supported {
		return []Engine{EngineInterpreter, EngineJIT}
	}
	return []Engine{EngineInterpreter}
}

// loadProgs loads an object of testdata/progs with an engine.
func loadProgs(t testing.TB, name string, engine Engine) *Collection {
	t.Helper()
	spec, err := LoadCollectionSpec("testdata/progs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := NewCollectionWithOptions(spec, CollectionOptions{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	return coll
}

// ethernet is a 64-byte frame of an ethertype.
func ethernet(ethertype uint16) []byte {
	b := make([]byte, 64)
	b[12], b[13] = byte(ethertype>>8), byte(ethertype)
	return b
}

// runValue runs p once on data.
func runValue(p *Program, data []byte) (uint64, error) {
	ret, err := p.Run(&RunOptions{Data: data})
	return uint64(ret), err
}

// TestProgramOutlivesCollection: a program taken out of its collection
// keeps the maps it uses, global data included, after the collection is
// closed and the garbage collector ran: the JIT's code holds the addresses
// of .rodata and .bss (the use after free of issue 15). Once closed, the
// program refuses to run.
func TestProgramOutlivesCollection(t *testing.T) {
	for _, engine := range testEngines() {
		t.Run(engine.String(), func(t *testing.T) {
			coll := loadProgs(t, "global_data.o", engine)
			greet := coll.DetachProgram("tc_greeting_sum")
			globals := coll.DetachProgram("tc_globals")
			kept := coll.Programs["tc_globals"]
			if greet == nil || globals == nil || kept != nil {
				t.Fatalf("DetachProgram: %v, %v; left %v", greet, globals, kept)
			}
			coll.Close()
			for range 3 {
				runtime.GC()
			}
			for range 3 {
				if got, err := runValue(greet, ethernet(0x0800)); err != nil || got != 638 {
					t.Fatalf("tc_greeting_sum after the collection's Close: %d, %v; want 638", got, err)
				}
				if got, err := runValue(globals, ethernet(0x0800)); err != nil || got != 0 {
					t.Fatalf("tc_globals after the collection's Close: %d, %v; want 0", got, err)
				}
				runtime.GC()
			}
			if err := greet.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := runValue(greet, ethernet(0x0800)); !errors.Is(err, os.ErrClosed) {
				t.Fatalf("run after Close: %v, want os.ErrClosed", err)
			}
			if err := greet.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			globals.Close()
		})
	}
}

// TestProgramOutlivesCollectionClobberFree runs
// TestProgramOutlivesCollection again in a process whose freed memory the
// runtime overwrites (GODEBUG=clobberfree=1): a program that read map
// memory the collector had freed would return 0xdeadbeef-based sums.
func TestProgramOutlivesCollectionClobberFree(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "clobberfree") {
		t.Skip("already the child process")
	}
	cmd := kerneltest.Command(os.Args[0], "-test.run=^TestProgramOutlivesCollection$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG=clobberfree=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("under GODEBUG=clobberfree=1: %v\n%s", err, out)
	}
}

// TestCollectionCloseStopsPrograms: the collection's own programs are
// closed with it, as in cilium/ebpf.
func TestCollectionCloseStopsPrograms(t *testing.T) {
	coll := loadProgs(t, "global_data.o", EngineAuto)
	p := coll.Programs["tc_greeting_sum"]
	coll.Close()
	if _, err := runValue(p, ethernet(0x0800)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("run after the collection's Close: %v, want os.ErrClosed", err)
	}
}

// TestCloseRacesRuns closes a collection while goroutines run its
// programs (global data, tail calls): every run either gives the right
// result or fails with os.ErrClosed, and after Close every run fails so.
// Run it with -race.
func TestCloseRacesRuns(t *testing.T) {
	for _, engine := range testEngines() {
		t.Run(engine.String(), func(t *testing.T) {
			for round := range 5 {
				global := loadProgs(t, "global_data.o", engine)
				tails := loadProgs(t, "tail_calls.o", engine)
				type job struct {
					p    *Program
					data []byte
					want uint64
				}
				jobs := []job{
					{global.Programs["tc_greeting_sum"], ethernet(0x0800), 638},
					{global.Programs["tc_globals"], ethernet(0x0800), 0},
					{tails.Programs["xdp_dispatch"], ethernet(0x0800), 2},    // XDP_PASS from handle_ipv4
					{tails.Programs["xdp_chain_entry"], ethernet(0x0800), 2}, // 33 tail calls
				}
				var ran atomic.Int64
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						j := jobs[w]
						for {
							got, err := runValue(j.p, j.data)
							if errors.Is(err, os.ErrClosed) {
								return
							}
							if err != nil || got != j.want {
								t.Errorf("round %d: %s: %d, %v; want %d", round, j.p.Name(), got, err, j.want)
								return
							}
							ran.Add(1)
						}
					}()
				}
				for ran.Load() < int64(50*(round+1)) {
					runtime.Gosched()
				}
				global.Close()
				tails.Close()
				runtime.GC()
				wg.Wait()
				for _, j := range jobs {
					if _, err := runValue(j.p, j.data); !errors.Is(err, os.ErrClosed) {
						t.Fatalf("%s after Close: %v, want os.ErrClosed", j.p.Name(), err)
					}
				}
			}
		})
	}
}

// TestProgramArrayHoldsProgram: a prog_array slot holds its program as the
// kernel's does: tail calls reach a program whose user closed it, until the
// slot is emptied; a closed program cannot be stored; closing the array
// empties it.
func TestProgramArrayHoldsProgram(t *testing.T) {
	const xdpDrop, xdpPass = 1, 2
	for _, engine := range testEngines() {
		t.Run(engine.String(), func(t *testing.T) {
			coll := loadProgs(t, "tail_calls.o", engine)
			defer coll.Close()
			dispatch := coll.DetachProgram("xdp_dispatch")
			defer dispatch.Close()
			ipv4 := coll.Programs["handle_ipv4"]
			jmp := coll.Maps["jmp_table"]
			ipv4.Close()
			runtime.GC()
			if got, err := runValue(dispatch, ethernet(0x0800)); err != nil || got != xdpPass {
				t.Fatalf("tail call into a closed program in the array: %d, %v; want XDP_PASS", got, err)
			}
			if err := jmp.Delete(uint32(0)); err != nil {
				t.Fatal(err)
			}
			if got, err := runValue(dispatch, ethernet(0x0800)); err != nil || got != xdpDrop {
				t.Fatalf("after the slot was emptied: %d, %v; want XDP_DROP", got, err)
			}
			if err := jmp.Put(uint32(0), ipv4); !errors.Is(err, errno.EINVAL) {
				t.Fatalf("storing a closed program: %v, want EINVAL", err)
			}
			if got, err := runValue(dispatch, ethernet(0x86dd)); err != nil || got != 3 {
				t.Fatalf("IPv6 before the array's Close: %d, %v; want XDP_TX", got, err)
			}
			coll.Close()
			if got, err := runValue(dispatch, ethernet(0x86dd)); err != nil || got != xdpDrop {
				t.Fatalf("IPv6 after the array's Close: %d, %v; want XDP_DROP (closing a prog_array empties it)", got, err)
			}
		})
	}
}

// TestProgramArrayRefusesMixedEngines: a compiled program cannot tail-call
// an interpreted one; the array refuses the second engine at update with
// EINVAL, as the kernel refuses to mix programs of another kind, instead of
// a tail call that silently does nothing.
func TestProgramArrayRefusesMixedEngines(t *testing.T) {
	if !jit.Supported {
		t.Skipf("no JIT for %s: nothing to mix", runtime.GOARCH)
	}
	coll := loadProgs(t, "tail_calls.o", EngineJIT)
	defer coll.Close()
	interpreted := loadProgs(t, "tail_calls.o", EngineInterpreter)
	defer interpreted.Close()
	jmp := coll.Maps["jmp_table"]
	err := jmp.Put(uint32(2), interpreted.Programs["handle_ipv6"])
	if !errors.Is(err, errno.EINVAL) || !strings.Contains(err.Error(), "cannot change engines") {
		t.Fatalf("an interpreted program in a compiled program's array: %v, want EINVAL", err)
	}
	// The ARP slot stays empty: the tail call falls through.
	if got, err := runValue(coll.Programs["xdp_dispatch"], ethernet(0x0806)); err != nil || got != 1 {
		t.Fatalf("dispatch of ARP: %d, %v; want XDP_DROP", got, err)
	}
	fresh, err := NewMap(&ebpf.MapSpec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.Put(uint32(0), interpreted.Programs["handle_ipv4"]); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Put(uint32(1), coll.Programs["handle_ipv4"]); !errors.Is(err, errno.EINVAL) {
		t.Fatalf("a compiled program in an interpreted program's array: %v, want EINVAL", err)
	}
}
