//go:build linux

package jit

import (
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/jit/arm64"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// atomicsProgram has four goroutines' worth of atomics on the memory at
// r1: a 64-bit add, a 32-bit fetch-and-add, a 64-bit increment by a
// compare-and-swap loop, a 32-bit or of a bit and an exchange.
const atomicsProgram = `mov %r2, 1
lock add [%r1+0], %r2
mov %r3, 1
lock fetch add32 [%r1+8], %r3
ldxdw %r0, [%r1+16]
mov %r4, %r0
add %r4, 1
lock cmpxchg [%r1+16], %r4
mov %r5, 4
lock or32 [%r1+24], %r5
mov %r6, 7
lock xchg [%r1+32], %r6
mov %r0, %r3
exit`

// TestAtomicPaths runs the conformance vectors with atomics and atomics
// raced from several goroutines, compiled both ways the arm64 backend
// has: LSE's single instructions and load-exclusive/store-exclusive
// loops, forcing the choice (arm64.LSE) and checking the code has the
// instructions chosen.
func TestAtomicPaths(t *testing.T) {
	saved := arm64.LSE
	defer func() { arm64.LSE = saved }()
	vectors := conformance.Vectors(t)
	table, err := helper.NewTable(helper.Helper{ID: 5, Name: "unwind", Func: unwind})
	if err != nil {
		t.Fatal(err)
	}
	for _, lse := range []bool{false, true} {
		name := map[bool]string{false: "exclusive", true: "lse"}[lse]
		t.Run(name, func(t *testing.T) {
			if lse && !cpu.ARM64.HasATOMICS {
				t.Skip("this processor has no LSE atomics (FEAT_LSE): only the exclusive loops can run")
			}
			arm64.LSE = lse
			n := 0
			for _, tc := range vectors {
				if !strings.Contains(tc.Name, "lock") || tc.Error != "" {
					continue
				}
				n++
				p, err := Compile(tc.Program, table, Options{Type: kernel.RawMemory})
				if err != nil {
					t.Fatalf("%s: %v", tc.Name, err)
				}
				if got := hasLSE(p.Code()); got != lse {
					t.Fatalf("%s: code has LSE atomics: %v, want %v", tc.Name, got, lse)
				}
				r, err := runVector(p, NewMachine(), tc.Mem)
				if err != nil {
					t.Fatalf("%s: %v", tc.Name, err)
				}
				if r != tc.Result {
					t.Errorf("%s: r0 = %#x, want %#x", tc.Name, r, tc.Result)
				}
			}
			if n < 20 {
				t.Fatalf("only %d conformance vectors with atomics", n)
			}

			p, err := Compile(assemble(t, atomicsProgram), table, Options{Type: kernel.RawMemory})
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, runs = 4, 500
			mem := make([]byte, 40)
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m := NewMachine()
					m.Memory.Add(memory.NewRegion(mem, true, memory.KindContext))
					args := engine.RunArgs{R1: uint64(uintptr(unsafe.Pointer(&mem[0])))}
					if _, err := p.RunRepeat(m, &args, runs); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			le := binary.LittleEndian
			// The cmpxchg loop counts only the runs whose swap won.
			if add, fetch, or, xchg := le.Uint64(mem[0:]), le.Uint32(mem[8:]), le.Uint32(mem[24:]), le.Uint64(mem[32:]); add != goroutines*runs || fetch != goroutines*runs || or != 4 || xchg != 7 {
				t.Errorf("add %d, fetch_add32 %d, or32 %#x, xchg %d; want %d, %d, 0x4, 7", add, fetch, or, xchg, goroutines*runs, goroutines*runs)
			}
			if cas := le.Uint64(mem[16:]); cas == 0 || cas > goroutines*runs {
				t.Errorf("cmpxchg increments %d, want 1 to %d", cas, goroutines*runs)
			}
		})
	}
}

// hasLSE reports whether code has an LSE atomic (ldadd, ldclr, ldeor,
// ldset, swp and their st forms, cas); it panics if it has both those and
// exclusive loads, which one program never mixes.
func hasLSE(code []byte) bool {
	lse, excl := false, false
	for i := 0; i+4 <= len(code); i += 4 {
		w := binary.LittleEndian.Uint32(code[i:])
		switch {
		case w&0x3f208c00 == 0x38200000 && (w>>12)&7 <= 3 || w&0x3f20fc00 == 0x38208000: // ld<op>, swp
			lse = true
		case w&0xbfa07c00 == 0x88a07c00: // cas
			lse = true
		case w&0xbfff7c00 == 0x885f7c00: // ldxr, ldaxr
			excl = true
		}
	}
	if lse && excl {
		panic("code has both LSE atomics and exclusive loads")
	}
	return lse
}
