package jit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// The operands of TestInstructionForms: immediates at the edges of the
// encodings that backends choose between (arm64: 12-bit arithmetic
// immediates and their negatives, 16-bit moves; amd64: 8- and 32-bit
// immediates), and register values at the edges of 32 and 64 bits.
var (
	formImms = []int32{0, 1, -1, 7, 31, 32, 63, 64, 4095, 4096, -4095, -4096, 65535, 65536, -65536, 0x12345678, 0x7fffffff, -0x80000000}
	formVals = []uint64{0, 1, 0xffffffffffffffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x8000000000000000, 0x123456789abcdef0, 0xfffffffffffff000, 4096}
	// Offsets of loads and stores from a base in the middle of the
	// memory: the edges of scaled 12-bit, signed 9-bit and register
	// offsets.
	formOffsets = []int16{0, 1, 3, 8, 255, 256, 257, 4095, 4096, 8190, 16380, 32760, 32767 - 8, -1, -8, -255, -256, -257, -4096, -16384, -32768}
)

// formMemSize is the memory of TestInstructionForms' programs: a base at
// formBase reaches every offset, and results go from formResults up.
const (
	formBase    = 33000
	formResults = 66000
	formMemSize = 66000 + 8*1024
)

// formProgram collects instructions that store each result at the next
// word of the results (r7 the memory's base + formBase, r8 the results).
type formProgram struct {
	insns isa.Instructions
	n     int
}

func (f *formProgram) add(insns ...isa.Instruction) { f.insns = append(f.insns, insns...) }

// result stores register r as the next result.
func (f *formProgram) result(r isa.Register) {
	f.add(isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R8, Src: r, Offset: int16(8 * f.n)})
	f.n++
}

func lddw(r isa.Register, v uint64) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpLdDW, Dst: r, Imm: int64(v)}
}

func (f *formProgram) done() isa.Instructions {
	prologue := isa.Instructions{
		{Opcode: uint8(isa.ClassALU64) | isa.ALUMov | isa.SourceX, Dst: isa.R7, Src: isa.R1},
		{Opcode: uint8(isa.ClassALU64) | isa.ALUMov | isa.SourceX, Dst: isa.R8, Src: isa.R1},
		{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd, Dst: isa.R7, Imm: formBase},
		{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd, Dst: isa.R8, Imm: formResults},
	}
	return append(append(prologue, f.insns...), isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUMov, Dst: isa.R0}, isa.Instruction{Opcode: isa.OpExit})
}

// formPrograms are TestInstructionForms' programs by name: every ALU
// operation, 32 and 64 bits, with an immediate and a register, on every
// value and immediate; every conditional jump likewise; every load and
// store size at every offset; atomics at offsets.
func formPrograms() map[string]isa.Instructions {
	progs := map[string]isa.Instructions{}
	aluOps := map[string]uint8{"add": isa.ALUAdd, "sub": isa.ALUSub, "mul": isa.ALUMul, "div": isa.ALUDiv, "mod": isa.ALUMod,
		"or": isa.ALUOr, "and": isa.ALUAnd, "xor": isa.ALUXor, "lsh": isa.ALULsh, "rsh": isa.ALURsh, "arsh": isa.ALUArsh, "mov": isa.ALUMov}
	for name, op := range aluOps {
		for _, class := range []isa.Class{isa.ClassALU, isa.ClassALU64} {
			for _, x := range []bool{false, true} {
				offsets := []int16{0}
				switch {
				case op == isa.ALUDiv || op == isa.ALUMod:
					offsets = []int16{0, 1} // signed
				case op == isa.ALUMov && x && class == isa.ClassALU64:
					offsets = []int16{0, 8, 16, 32} // movsx
				case op == isa.ALUMov && x:
					offsets = []int16{0, 8, 16}
				}
				for _, off := range offsets {
					var f formProgram
					for _, v := range formVals {
						for _, imm := range formImms {
							if (op == isa.ALULsh || op == isa.ALURsh || op == isa.ALUArsh) && (imm < 0 || imm > 63 || class == isa.ClassALU && imm > 31) && !x {
								continue // the verifier refuses shifts out of range by an immediate
							}
							f.add(lddw(isa.R0, v))
							ins := isa.Instruction{Opcode: uint8(class) | op, Dst: isa.R0, Imm: int64(imm), Offset: off}
							if x {
								f.add(lddw(isa.R1, uint64(int64(imm))))
								ins.Opcode |= isa.SourceX
								ins.Src, ins.Imm = isa.R1, 0
							}
							f.add(ins)
							f.result(isa.R0)
						}
					}
					progs[fmt.Sprintf("%s%s/x=%v/off=%d", name, map[isa.Class]string{isa.ClassALU: "32", isa.ClassALU64: "64"}[class], x, off)] = f.done()
				}
			}
		}
	}
	// neg and the byte swaps.
	var f formProgram
	for _, v := range formVals {
		for _, ins := range []isa.Instruction{
			{Opcode: uint8(isa.ClassALU) | isa.ALUNeg}, {Opcode: uint8(isa.ClassALU64) | isa.ALUNeg},
			{Opcode: uint8(isa.ClassALU) | isa.ALUEnd, Imm: 16}, {Opcode: uint8(isa.ClassALU) | isa.ALUEnd, Imm: 32}, {Opcode: uint8(isa.ClassALU) | isa.ALUEnd, Imm: 64},
			{Opcode: uint8(isa.ClassALU) | isa.ALUEnd | isa.SourceX, Imm: 16}, {Opcode: uint8(isa.ClassALU) | isa.ALUEnd | isa.SourceX, Imm: 32}, {Opcode: uint8(isa.ClassALU) | isa.ALUEnd | isa.SourceX, Imm: 64},
			{Opcode: uint8(isa.ClassALU64) | isa.ALUEnd, Imm: 16}, {Opcode: uint8(isa.ClassALU64) | isa.ALUEnd, Imm: 32}, {Opcode: uint8(isa.ClassALU64) | isa.ALUEnd, Imm: 64},
		} {
			f.add(lddw(isa.R0, v))
			f.add(ins)
			f.result(isa.R0)
		}
	}
	progs["neg-end"] = f.done()
	jumpOps := map[string]uint8{"jeq": isa.JumpEq, "jne": isa.JumpNE, "jset": isa.JumpSet, "jgt": isa.JumpGT, "jge": isa.JumpGE, "jlt": isa.JumpLT, "jle": isa.JumpLE,
		"jsgt": isa.JumpSGT, "jsge": isa.JumpSGE, "jslt": isa.JumpSLT, "jsle": isa.JumpSLE}
	for name, op := range jumpOps {
		for _, class := range []isa.Class{isa.ClassJMP32, isa.ClassJMP} {
			for _, x := range []bool{false, true} {
				var f formProgram
				for _, v := range formVals {
					for _, imm := range formImms {
						f.add(lddw(isa.R0, v), isa.Instruction{Opcode: isa.OpMov64, Dst: isa.R6})
						ins := isa.Instruction{Opcode: uint8(class) | op, Dst: isa.R0, Imm: int64(imm), Offset: 1}
						if x {
							f.add(lddw(isa.R1, uint64(int64(imm))))
							ins.Opcode |= isa.SourceX
							ins.Src, ins.Imm = isa.R1, 0
						}
						f.add(ins,
							isa.Instruction{Opcode: uint8(isa.ClassJMP) | isa.JumpA, Offset: 1},
							isa.Instruction{Opcode: isa.OpMov64, Dst: isa.R6, Imm: 1})
						f.result(isa.R6)
					}
				}
				progs[fmt.Sprintf("%s%s/x=%v", name, map[isa.Class]string{isa.ClassJMP32: "32", isa.ClassJMP: ""}[class], x)] = f.done()
			}
		}
	}
	// Loads and stores: a value stored at each offset in each size (from
	// a register and as an immediate), read back zero- and sign-extended.
	sizes := []isa.Size{isa.SizeB, isa.SizeH, isa.SizeW, isa.SizeDW}
	f = formProgram{}
	f.add(lddw(isa.R0, 0x8899aabbccddeeff))
	for _, off := range formOffsets {
		for _, size := range sizes {
			f.add(isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(size), Dst: isa.R7, Src: isa.R0, Offset: off},
				isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(size), Dst: isa.R1, Src: isa.R7, Offset: off})
			f.result(isa.R1)
			if size != isa.SizeDW {
				f.add(isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEMSX) | uint8(size), Dst: isa.R1, Src: isa.R7, Offset: off})
				f.result(isa.R1)
			}
			f.add(isa.Instruction{Opcode: uint8(isa.ClassST) | uint8(isa.ModeMEM) | uint8(size), Dst: isa.R7, Offset: off, Imm: -0x12345678},
				isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(size), Dst: isa.R1, Src: isa.R7, Offset: off})
			f.result(isa.R1)
		}
	}
	progs["load-store"] = f.done()
	// Atomics at offsets (aligned), fetching and not, 32 and 64 bits.
	f = formProgram{}
	f.add(lddw(isa.R0, 0x0123456789abcdef))
	for _, off := range []int16{0, 8, 256, 4096, 8192 + 8, 32760, -8, -256, -4096, -32768} {
		for _, size := range []isa.Size{isa.SizeW, isa.SizeDW} {
			for _, op := range []int32{isa.AtomicAdd, isa.AtomicOr, isa.AtomicAnd, isa.AtomicXor,
				isa.AtomicAdd | isa.AtomicFetch, isa.AtomicOr | isa.AtomicFetch, isa.AtomicAnd | isa.AtomicFetch, isa.AtomicXor | isa.AtomicFetch,
				isa.AtomicXchg, isa.AtomicCmpXchg} {
				f.add(lddw(isa.R2, 0xfedcba9876543210),
					isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R7, Src: isa.R2, Offset: off},
					lddw(isa.R1, 0x0f0f0f0ff0f0f0f0),
					isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeATOMIC) | uint8(size), Dst: isa.R7, Src: isa.R1, Offset: off, Imm: int64(op)},
					isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R2, Src: isa.R7, Offset: off})
				f.result(isa.R1)
				f.result(isa.R2)
				f.result(isa.R0)
			}
		}
	}
	progs["atomic"] = f.done()
	return progs
}

// TestInstructionForms runs every ALU operation, jump, load, store and
// atomic on operands at the edges of the encodings the backends choose
// between, compiled (verified and checked) and interpreted: the results
// must be the same, word by word.
func TestInstructionForms(t *testing.T) {
	table, err := helper.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	for name, insns := range formPrograms() {
		if err := insns.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ip, err := interp.Compile(insns, table)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := make([]byte, formMemSize)
		im := interp.NewMachine()
		reg := memory.NewRegion(want, true, memory.KindContext)
		im.Memory.Add(reg)
		if _, err := ip.Run(im, engine.RunArgs{R1: reg.Start}); err != nil {
			t.Fatalf("%s: interpreter: %v", name, err)
		}
		for _, checked := range []bool{false, true} {
			p, err := Compile(insns, table, Options{Checked: checked})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := make([]byte, formMemSize)
			m := NewMachine()
			reg := memory.NewRegion(got, true, memory.KindContext)
			m.Memory.Add(reg)
			if _, err := p.Run(m, engine.RunArgs{R1: reg.Start}); err != nil {
				t.Fatalf("%s, checked=%v: %v", name, checked, err)
			}
			if bytes.Equal(got, want) {
				continue
			}
			bad := 0
			for i := 0; i < formMemSize; i += 8 {
				g, w := binary.LittleEndian.Uint64(got[i:]), binary.LittleEndian.Uint64(want[i:])
				if g != w {
					if bad++; bad <= 5 {
						t.Errorf("%s, checked=%v: word %d (result %d): %#x, interpreter %#x", name, checked, i/8, (i-formResults)/8, g, w)
					}
				}
			}
		}
	}
}
