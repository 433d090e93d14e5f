package jit

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// TestInlinedHelpers checks the lookups in arrays and per-CPU arrays and
// bpf_get_smp_processor_id that compiled code does itself, against the
// interpreter calling the kernel helpers: each program adds r6 to the
// element at index r7 (if there is one) on every CPU slot, and returns
// the CPU and whether the lookup found the element.
func TestInlinedHelpers(t *testing.T) {
	const cpus = 3
	for _, typ := range []ebpf.MapType{ebpf.Array, ebpf.PerCPUArray} {
		for _, index := range []int64{0, 2, 3, -1} {
			t.Run(fmt.Sprintf("%s/index=%d", typ, index), func(t *testing.T) {
				results := map[bool][]uint64{}
				for _, compiled := range []bool{false, true} {
					m, err := maps.New(&maps.Spec{Name: "counts", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 3, CPUs: cpus})
					if err != nil {
						t.Fatal(err)
					}
					defer m.Close()
					src := fmt.Sprintf(`mov %%r6, 5; mov %%r7, %d
stxw [%%r10-4], %%r7; mov %%r2, %%r10; add %%r2, -4
lddw %%r1, %#x; call 1
mov %%r8, 0; jeq %%r0, 0, +3; ldxdw %%r1, [%%r0]; add %%r1, %%r6; stxdw [%%r0], %%r1; mov %%r8, 1
call 8; lsh %%r0, 8; or %%r0, %%r8; exit`, index, m.Handle())
					insns := assemble(t, src)
					table, err := kernel.HelpersFor(kernel.RawMemory, kernel.Options{})
					if err != nil {
						t.Fatal(err)
					}
					var got []uint64
					for cpu := range cpus {
						var r uint64
						if compiled {
							p, err := Compile(insns, table, Options{Type: kernel.RawMemory})
							if err != nil {
								t.Fatal(err)
							}
							r, err = p.Run(NewMachine(), engine.RunArgs{CPU: cpu})
							if err != nil {
								t.Fatal(err)
							}
						} else {
							p, err := interp.Compile(insns, table)
							if err != nil {
								t.Fatal(err)
							}
							r, err = p.Run(interp.NewMachine(), engine.RunArgs{CPU: cpu})
							if err != nil {
								t.Fatal(err)
							}
						}
						got = append(got, r)
					}
					for i := range uint32(3) {
						var key [4]byte
						binary.NativeEndian.PutUint32(key[:], i)
						n := 1
						if typ == ebpf.PerCPUArray {
							n = cpus
						}
						value := make([]byte, 8*n)
						if err := m.LookupUser(key[:], value); err != nil {
							t.Fatal(err)
						}
						for c := range n {
							got = append(got, binary.NativeEndian.Uint64(value[8*c:]))
						}
					}
					results[compiled] = got
				}
				if fmt.Sprint(results[true]) != fmt.Sprint(results[false]) {
					t.Errorf("compiled: %v\ninterpreted: %v", results[true], results[false])
				}
			})
		}
	}
}

// TestOwnHelperNotInlined checks that a helper of the caller's own with the
// ID of bpf_map_lookup_elem is called, not inlined.
func TestOwnHelperNotInlined(t *testing.T) {
	m, err := maps.New(&maps.Spec{Name: "a", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	own, err := helper.NewTable(helper.Helper{ID: 1, Name: "mine", Func: func(c *helper.Call) (uint64, error) { return 42, nil }})
	if err != nil {
		t.Fatal(err)
	}
	insns := assemble(t, fmt.Sprintf("stw [%%r10-4], 0; mov %%r2, %%r10; add %%r2, -4; lddw %%r1, %#x; call 1; exit", m.Handle()))
	p, err := Compile(insns, own, Options{Type: kernel.RawMemory, OwnHelpers: own})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.Run(NewMachine(), engine.RunArgs{}); err != nil || r != 42 {
		t.Fatalf("r0 %d, %v; want 42 from the program's own helper", r, err)
	}
}

// hashLookupProg looks the key at r1 up in the hash map with this handle
// and returns the value's first word, or -1 when the key is absent.
func hashLookupProg(t *testing.T, handle uint64, keySize int) isa.Instructions {
	size := map[int]string{4: "w", 8: "dw"}[keySize]
	return assemble(t, fmt.Sprintf(`ldx%s %%r2, [%%r1]; stx%s [%%r10-8], %%r2; mov %%r2, %%r10; add %%r2, -8
lddw %%r1, %#x; call 1; jeq %%r0, 0, +2; ldxdw %%r0, [%%r0]; exit; mov %%r0, -1; exit`, size, size, handle))
}

// TestInlinedHashLookup compares the lookups compiled code does itself in
// hash maps (4- and 8-byte keys, long chains, deleted keys) with the
// interpreter calling the kernel helper.
func TestInlinedHashLookup(t *testing.T) {
	for _, keySize := range []int{4, 8} {
		m, err := maps.New(&maps.Spec{Name: "h", Type: ebpf.Hash, KeySize: uint32(keySize), ValueSize: 8, MaxEntries: 100, CPUs: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		key := func(i int) []byte {
			k := make([]byte, 8)
			binary.LittleEndian.PutUint64(k, uint64(i)*0x9e3779b97f4a7c15)
			return k
		}
		for i := range 100 {
			v := make([]byte, 8)
			binary.LittleEndian.PutUint64(v, uint64(i*7+1))
			if err := m.Update(key(i)[:keySize], v, maps.UpdateAny, 0); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 100; i += 4 {
			if err := m.Delete(key(i)[:keySize]); err != nil {
				t.Fatal(err)
			}
		}
		insns := hashLookupProg(t, m.Handle(), keySize)
		table, err := kernel.HelpersFor(kernel.RawMemory, kernel.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// The compiled program's bpf_map_lookup_elem counts its calls:
		// with no writer at work, compiled code never needs it.
		kernelLookup, _ := table.Lookup(1)
		called := 0
		counting := table.Clone()
		if err := counting.Register(helper.Helper{ID: 1, Name: kernelLookup.Name, Func: func(c *helper.Call) (uint64, error) {
			called++
			return kernelLookup.Func(c)
		}}); err != nil {
			t.Fatal(err)
		}
		jp, err := Compile(insns, counting, Options{Type: kernel.RawMemory})
		if err != nil {
			t.Fatal(err)
		}
		ip, err := interp.Compile(insns, table)
		if err != nil {
			t.Fatal(err)
		}
		jm, im := NewMachine(), interp.NewMachine()
		for i := range 300 {
			k := key(i)
			r := memory.NewRegion(k, false, memory.KindContext)
			jm.Memory.Reset()
			jm.Memory.Add(r)
			im.Memory.Reset()
			im.Memory.Add(r)
			got, err := jp.Run(jm, engine.RunArgs{R1: r.Start, R2: 8})
			if err != nil {
				t.Fatal(err)
			}
			want, err := ip.Run(im, engine.RunArgs{R1: r.Start, R2: 8})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%d-byte key %d: compiled %#x, interpreted %#x", keySize, i, got, want)
			}
		}
		if called != 0 {
			t.Errorf("%d-byte keys: compiled code called bpf_map_lookup_elem %d times instead of looking up itself", keySize, called)
		}
	}
}

// TestInlinedHashLookupConcurrent runs compiled lookups while Go deletes
// and inserts the keys: every lookup must find the key's own value or
// nothing, and nothing may fault.
func TestInlinedHashLookupConcurrent(t *testing.T) {
	const n = 64
	m, err := maps.New(&maps.Spec{Name: "h", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: n, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	key := func(i int) []byte {
		k := make([]byte, 4)
		binary.LittleEndian.PutUint32(k, uint32(i))
		return k
	}
	value := func(i int) []byte {
		v := make([]byte, 8)
		binary.LittleEndian.PutUint64(v, uint64(1000+i))
		return v
	}
	for i := range n {
		if err := m.Update(key(i), value(i), maps.UpdateAny, 0); err != nil {
			t.Fatal(err)
		}
	}
	table, err := kernel.HelpersFor(kernel.RawMemory, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(hashLookupProg(t, m.Handle(), 4), table, Options{Type: kernel.RawMemory})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := i % n
			_ = m.Delete(key(k))
			_ = m.Update(key(k), value(k), maps.UpdateAny, 0)
		}
	}()
	mach := NewMachine()
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		k := key(i % n)
		r := memory.NewRegion(k, false, memory.KindContext)
		mach.Memory.Reset()
		mach.Memory.Add(r)
		got, err := p.Run(mach, engine.RunArgs{R1: r.Start, R2: 4})
		if err != nil {
			t.Fatal(err)
		}
		// A value read after its element was deleted and the slot reused
		// may be another key's, as in the kernel; it is always one of them.
		if got != ^uint64(0) && (got < 1000 || got >= 1000+n) {
			t.Fatalf("lookup %d: %#x is no value of the map", i, got)
		}
	}
	close(stop)
	wg.Wait()
}
