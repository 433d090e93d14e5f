package jit

import (
	"testing"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// TestMayGoto compares may_goto in compiled code, unchecked and checked,
// with the interpreter: loops that leave through may_goto after
// isa.MayGotoLimit iterations, loops that leave earlier, a backward
// may_goto, two loops sharing the run's count, and a second run on the
// same machine, which starts with a full count again.
func TestMayGoto(t *testing.T) {
	progs := map[string]string{
		"limit":    "mov %r0, 0; again: may_goto out; add %r0, 1; ja again; out: exit",
		"bounded":  "ldxw %r2, [%r1+0]; mov %r0, 0; again: may_goto out; add %r0, 1; jne %r0, %r2, again; out: exit",
		"backward": "mov %r0, 0; ja +2; add %r0, 100; exit; add %r0, 1; may_goto -4; ja -3",
		"zero":     "mov %r0, 3; may_goto +0; add %r0, 1; exit",
		"two loops": "mov %r0, 0; a: may_goto b; add %r0, 1; ja a; b: mov %r1, 7; may_goto +1; mov %r1, 100; " +
			"add %r0, %r1; exit",
		"nested call": "mov %r6, 0; call local f; add %r6, %r0; call local f; add %r0, %r6; exit; " +
			"f: mov %r0, 0; again: may_goto out; add %r0, 1; ja again; out: exit",
	}
	for name, src := range progs {
		insns := assemble(t, src)
		mem := []byte{100, 0, 0, 0}
		newRegion := func() memory.Region { return memory.NewRegion(mem, false, memory.KindContext) }
		ip, err := interp.Compile(insns, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		im := interp.NewMachine()
		ireg := newRegion()
		im.Memory.Add(ireg)
		want, err := ip.Run(im, engine.RunArgs{R1: ireg.Start, R2: 4})
		if err != nil {
			t.Fatalf("%s: interpreter: %v", name, err)
		}
		for _, checked := range []bool{false, true} {
			p, err := Compile(insns, nil, Options{Type: kernel.RawMemory, Checked: checked})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			m := NewMachine()
			reg := newRegion()
			m.Memory.Add(reg)
			for run := 0; run < 2; run++ {
				got, err := p.Run(m, engine.RunArgs{R1: reg.Start, R2: 4, Budget: 1 << 28})
				if err != nil || got != want {
					t.Errorf("%s (checked %v, run %d): r0 %d, %v; interpreter %d", name, checked, run, got, err, want)
				}
			}
		}
	}
}

// TestMayGotoValues pins the interpreter's (and so the JIT's) counts.
func TestMayGotoValues(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want uint64
	}{
		{"mov %r0, 0; again: may_goto out; add %r0, 1; ja again; out: exit", isa.MayGotoLimit},
		{"mov %r0, 0; ja +2; add %r0, 100; exit; add %r0, 1; may_goto -4; ja -3", isa.MayGotoLimit + 1 + 100},
	} {
		p, err := Compile(assemble(t, tc.src), nil, Options{Type: kernel.RawMemory})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.Run(NewMachine(), engine.RunArgs{}); err != nil || got != tc.want {
			t.Errorf("%s: r0 %d, %v; want %d", tc.src, got, err, tc.want)
		}
	}
}
