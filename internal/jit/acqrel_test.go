package jit

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// TestAcquireRelease compares load-acquire and store-release in compiled
// code, unchecked and checked, with the interpreter: results, zero
// extension, and the memory they leave.
func TestAcquireRelease(t *testing.T) {
	progs := map[string]string{
		"load b":             "mov %r0, -1; ldacqb %r0, [%r1+3]; exit",
		"load h":             "mov %r0, -1; ldacqh %r0, [%r1+6]; exit",
		"load w":             "mov %r0, -1; ldacqw %r0, [%r1+4]; exit",
		"load dw":            "mov %r0, -1; ldacqdw %r0, [%r1+8]; exit",
		"load into base":     "ldacqdw %r1, [%r1+0]; mov %r0, %r1; exit",
		"load high regs":     "mov %r9, %r1; ldacqw %r8, [%r9+12]; mov %r0, %r8; exit",
		"store b":            "lddw %r2, 0x8182838485868788; strelb [%r1+1], %r2; ldxdw %r0, [%r1+0]; exit",
		"store h":            "lddw %r2, 0x8182838485868788; strelh [%r1+2], %r2; ldxdw %r0, [%r1+0]; exit",
		"store w":            "lddw %r2, 0x8182838485868788; strelw [%r1+4], %r2; ldxdw %r0, [%r1+0]; exit",
		"store dw":           "lddw %r2, 0x8182838485868788; streldw [%r1+8], %r2; ldxdw %r0, [%r1+8]; exit",
		"store from r0 base": "mov %r0, %r1; mov %r3, 0x55; strelb [%r0+15], %r3; mov %r0, 0; exit",
		"stack round trip": "lddw %r2, 0x1122334455667788; streldw [%r10-8], %r2; mov %r0, -1; ldacqw %r0, [%r10-8]; " +
			"strelh [%r10-16], %r0; ldacqh %r3, [%r10-16]; add %r0, %r3; exit",
	}
	for name, src := range progs {
		insns := assemble(t, src)
		mem := make([]byte, 16)
		for i := range mem {
			mem[i] = byte(0x10 + i)
		}
		runInterp := func() (uint64, []byte) {
			b := bytes.Clone(mem)
			ip, err := interp.Compile(insns, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			m := interp.NewMachine()
			reg := memory.NewRegion(b, true, memory.KindContext)
			m.Memory.Add(reg)
			r, err := ip.Run(m, engine.RunArgs{R1: reg.Start, R2: uint64(len(b))})
			if err != nil {
				t.Fatalf("%s: interpreter: %v", name, err)
			}
			return r, b
		}
		want, wantMem := runInterp()
		for _, checked := range []bool{false, true} {
			b := bytes.Clone(mem)
			p, err := Compile(insns, nil, Options{Type: kernel.RawMemory, Checked: checked})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			m := NewMachine()
			reg := memory.NewRegion(b, true, memory.KindContext)
			m.Memory.Add(reg)
			got, err := p.Run(m, engine.RunArgs{R1: reg.Start, R2: uint64(len(b)), Budget: 1 << 20})
			if err != nil {
				t.Fatalf("%s (checked %v): %v", name, checked, err)
			}
			if got != want || !bytes.Equal(b, wantMem) {
				t.Errorf("%s (checked %v): r0 %#x, memory %x; interpreter r0 %#x, memory %x", name, checked, got, b, want, wantMem)
			}
		}
	}
	// The values themselves, once.
	mem := make([]byte, 16)
	binary.LittleEndian.PutUint64(mem, 0xf1f2f3f4f5f6f7f8)
	p, err := Compile(assemble(t, "mov %r0, -1; ldacqh %r0, [%r1+2]; exit"), nil, Options{Type: kernel.RawMemory})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMachine()
	reg := memory.NewRegion(mem, false, memory.KindContext)
	m.Memory.Add(reg)
	if got, err := p.Run(m, engine.RunArgs{R1: reg.Start}); err != nil || got != 0xf5f6 {
		t.Errorf("load-acquire of 2 bytes from read-only memory: %#x, %v; want 0xf5f6", got, err)
	}
}

// TestAcquireReleaseChecked checks that checked code refuses what the
// interpreter refuses: misaligned accesses, stores into read-only memory,
// accesses outside memory.
func TestAcquireReleaseChecked(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"ldacqw %r0, [%r1+2]; exit", "aligned"},
		{"mov %r2, 1; strelh [%r1+1], %r2; mov %r0, 0; exit", "aligned"},
		{"ldacqdw %r0, [%r1+16]; exit", "read"},
		{"mov %r2, 1; strelb [%r1+0], %r2; mov %r0, 0; exit", "write"},
	} {
		insns := assemble(t, tc.src)
		mem := make([]byte, 16)
		p, err := Compile(insns, nil, Options{Type: kernel.RawMemory, Checked: true})
		if err != nil {
			t.Fatal(err)
		}
		m := NewMachine()
		reg := memory.NewRegion(mem, false, memory.KindContext)
		m.Memory.Add(reg)
		_, err = p.Run(m, engine.RunArgs{R1: reg.Start, R2: 16, Budget: 1 << 20})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one about %q", tc.src, err, tc.want)
		}
		ip, err := interp.Compile(insns, nil)
		if err != nil {
			t.Fatal(err)
		}
		im := interp.NewMachine()
		ireg := memory.NewRegion(mem, false, memory.KindContext)
		im.Memory.Add(ireg)
		if _, err := ip.Run(im, engine.RunArgs{R1: ireg.Start, R2: 16}); err == nil {
			t.Errorf("%s: the interpreter accepts it", tc.src)
		}
	}
}
