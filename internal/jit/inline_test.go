package jit

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/maps"
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
							r, err = p.Run(NewMachine(), interp.RunArgs{CPU: cpu})
							if err != nil {
								t.Fatal(err)
							}
						} else {
							p, err := interp.Compile(insns, table)
							if err != nil {
								t.Fatal(err)
							}
							r, err = p.Run(interp.NewMachine(), interp.RunArgs{CPU: cpu})
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
	if r, err := p.Run(NewMachine(), interp.RunArgs{}); err != nil || r != 42 {
		t.Fatalf("r0 %d, %v; want 42 from the program's own helper", r, err)
	}
}
