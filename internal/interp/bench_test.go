package interp

import (
	"testing"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// fnv1a hashes the r2 bytes at r1 with 32-bit FNV-1a, as clang -O2 compiles
// the C loop: six instructions per byte.
var fnv1a = isa.Instructions{
	{Opcode: uint8(isa.ClassALU) | isa.ALUMov, Dst: isa.R0, Imm: int64(int32(-2128831035))}, // w0 = 0x811c9dc5
	{Opcode: uint8(isa.ClassJMP) | isa.JumpEq, Dst: isa.R2, Offset: 6},                      // if r2 == 0 goto out
	ldx(isa.SizeB, isa.R3, isa.R1, 0),
	{Opcode: uint8(isa.ClassALU) | isa.ALUXor | isa.SourceX, Dst: isa.R0, Src: isa.R3}, // w0 ^= w3
	{Opcode: uint8(isa.ClassALU) | isa.ALUMul, Dst: isa.R0, Imm: 16777619},             // w0 *= 16777619
	addImm(isa.R1, 1),  // r1 += 1
	addImm(isa.R2, -1), // r2 -= 1
	{Opcode: uint8(isa.ClassJMP) | isa.JumpNE, Dst: isa.R2, Offset: -6}, // if r2 != 0 goto loop
	exit,
}

func fnvGo(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

func TestFNV(t *testing.T) {
	data := make([]byte, 1500)
	for i := range data {
		data[i] = byte(i * 7)
	}
	r0, err := run(t, fnv1a, data, true, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if uint32(r0) != fnvGo(data) || r0>>32 != 0 {
		t.Fatalf("r0 = %#x, want %#x", r0, fnvGo(data))
	}
}

// BenchmarkInterpreter reports ns/op for one run and, for FNV, ns per
// executed instruction (ns/insn).
func BenchmarkInterpreter(b *testing.B) {
	data := make([]byte, 1500)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, bc := range []struct {
		name  string
		insns isa.Instructions
		mem   []byte
		count float64 // instructions executed per run
	}{
		{"return1", isa.Instructions{mov64(isa.R0, 1), exit}, nil, 2},
		{"fnv1a-1500", fnv1a, data, 2 + 6*1500 + 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := Compile(bc.insns, nil)
			if err != nil {
				b.Fatal(err)
			}
			m := NewMachine()
			r := memory.NewRegion(bc.mem, false, memory.KindContext)
			m.Memory.Add(r)
			args := engine.RunArgs{R1: r.Start, R2: uint64(len(bc.mem))}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Run(m, args); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bc.count, "ns/insn")
		})
	}
}
