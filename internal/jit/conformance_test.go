package jit

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

func unwind(c *helper.Call) (uint64, error) {
	if c.Args[0] == 0 {
		return 0, helper.ErrExitProgram
	}
	return c.Args[0], nil
}

// TestConformance runs the bpf_conformance vectors compiled.
func TestConformance(t *testing.T) {
	tests := conformance.Vectors(t)
	table, err := helper.NewTable(helper.Helper{ID: 5, Name: "unwind", Func: unwind})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMachine()
	for _, checked := range []bool{false, true} {
		for _, tc := range tests {
			if tc.Error != "" && !checked {
				// Unchecked code runs only programs proven safe: a vector
				// that must fail is run in checked code alone.
				continue
			}
			t.Run(fmt.Sprintf("checked=%v/%s", checked, tc.Name), func(t *testing.T) {
				p, err := Compile(tc.Program, table, Options{Type: kernel.RawMemory, Checked: checked})
				if tc.Error != "" {
					if err == nil {
						r, runErr := p.Run(NewMachine(), engine.RunArgs{})
						if runErr == nil {
							t.Fatalf("ran with r0 = %#x, want an error (%s)", r, tc.Error)
						}
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				r, err := runVector(p, m, tc.Mem)
				if err != nil {
					t.Fatal(err)
				}
				if r != tc.Result {
					t.Fatalf("r0 = %#x, want %#x\n%s", r, tc.Result, tc.Asm)
				}
			})
		}
	}
}

// runVector runs p on m as the conformance vectors run: a copy of mem,
// if any, is m's only memory, its address in r1 and its length in r2.
func runVector(p *Program, m *Machine, mem []byte) (uint64, error) {
	mem = append([]byte(nil), mem...)
	m.Memory.Reset()
	var addr uint64
	if len(mem) > 0 {
		m.Memory.Add(memory.NewRegion(mem, true, memory.KindContext))
		addr = uint64(uintptr(unsafe.Pointer(&mem[0])))
	}
	return p.Run(m, engine.RunArgs{R1: addr, R2: uint64(len(mem))})
}
