package jit

import (
	"math/rand"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/isa"
	"github.com/waggle-ebpf/waggle/verifier"
)

// randomProgram returns a program of random ALU operations (32 and 64
// bits, immediates and registers, movsx, byte swaps, signed division),
// forward jumps (JMP and JMP32), loads, sign-extending loads and stores of
// every size and atomics on the stack, on registers that start as random
// constants; it ends by folding every register and stack slot into r0.
func randomProgram(rng *rand.Rand) isa.Instructions {
	imms := []int64{0, 1, -1, 2, 7, 8, 16, 31, 32, 63, 4095, 4096, -4096, 65536, 0x7fffffff, -0x80000000, 0x12345678}
	aluOps := []uint8{isa.ALUAdd, isa.ALUSub, isa.ALUMul, isa.ALUDiv, isa.ALUOr, isa.ALUAnd, isa.ALULsh, isa.ALURsh,
		isa.ALUNeg, isa.ALUMod, isa.ALUXor, isa.ALUMov, isa.ALUArsh, isa.ALUEnd}
	jmpOps := []uint8{isa.JumpEq, isa.JumpGT, isa.JumpGE, isa.JumpSet, isa.JumpNE, isa.JumpSGT, isa.JumpSGE,
		isa.JumpLT, isa.JumpLE, isa.JumpSLT, isa.JumpSLE}
	var insns isa.Instructions
	for r := isa.R0; r <= isa.R9; r++ {
		insns = append(insns, isa.Instruction{Opcode: isa.OpLdDW, Dst: r, Imm: int64(rng.Uint64())})
	}
	stxdw := uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW)
	for k := 1; k <= 9; k++ {
		insns = append(insns, isa.Instruction{Opcode: stxdw, Dst: isa.R10, Src: isa.Register(k), Offset: int16(-8 * k)})
	}
	n := 5 + rng.Intn(25)
	for i := 0; i < n; i++ {
		dst, src := isa.Register(rng.Intn(10)), isa.Register(rng.Intn(10))
		imm := imms[rng.Intn(len(imms))]
		var ins isa.Instruction
		switch k := rng.Intn(10); {
		case k < 5:
			class := []isa.Class{isa.ClassALU, isa.ClassALU64}[rng.Intn(2)]
			op := aluOps[rng.Intn(len(aluOps))]
			ins = isa.Instruction{Opcode: uint8(class) | op, Dst: dst, Imm: imm}
			if rng.Intn(2) == 1 {
				ins.Opcode |= isa.SourceX
				ins.Src, ins.Imm = src, 0
			}
			switch op {
			case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
				if ins.Source() == isa.SourceK {
					ins.Imm = int64(rng.Intn(map[isa.Class]int{isa.ClassALU: 32, isa.ClassALU64: 64}[class]))
				}
			case isa.ALUDiv, isa.ALUMod:
				ins.Offset = int16(rng.Intn(2))
			case isa.ALUNeg:
				ins.Opcode &^= isa.SourceX
				ins.Src, ins.Imm = 0, 0
			case isa.ALUEnd:
				ins.Src, ins.Imm = 0, []int64{16, 32, 64}[rng.Intn(3)]
				if class == isa.ClassALU64 {
					ins.Opcode &^= isa.SourceX
				}
			case isa.ALUMov:
				if ins.Source() == isa.SourceX && rng.Intn(2) == 0 {
					ins.Offset = []int16{8, 16, 32}[rng.Intn(3)]
					if class == isa.ClassALU && ins.Offset == 32 {
						ins.Offset = 8
					}
				}
			}
		case k < 7:
			class := []isa.Class{isa.ClassJMP, isa.ClassJMP32}[rng.Intn(2)]
			ins = isa.Instruction{Opcode: uint8(class) | jmpOps[rng.Intn(len(jmpOps))], Dst: dst, Imm: imm, Offset: int16(rng.Intn(n - i))}
			if rng.Intn(2) == 1 {
				ins.Opcode |= isa.SourceX
				ins.Src, ins.Imm = src, 0
			}
		case k < 9:
			size := []isa.Size{isa.SizeB, isa.SizeH, isa.SizeW, isa.SizeDW}[rng.Intn(4)]
			off := int16(-8*(1+rng.Intn(9)) + size.Bytes()*rng.Intn(8/size.Bytes()))
			switch rng.Intn(4) {
			case 0:
				ins = isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(size), Dst: dst, Src: isa.R10, Offset: off}
			case 1:
				if size == isa.SizeDW {
					size, off = isa.SizeW, off&^3
				}
				ins = isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEMSX) | uint8(size), Dst: dst, Src: isa.R10, Offset: off}
			case 2:
				ins = isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(size), Dst: isa.R10, Src: src, Offset: off}
			default:
				ins = isa.Instruction{Opcode: uint8(isa.ClassST) | uint8(isa.ModeMEM) | uint8(size), Dst: isa.R10, Offset: off, Imm: imm}
			}
		default:
			size := []isa.Size{isa.SizeW, isa.SizeDW}[rng.Intn(2)]
			op := []int32{isa.AtomicAdd, isa.AtomicOr, isa.AtomicAnd, isa.AtomicXor,
				isa.AtomicAdd | isa.AtomicFetch, isa.AtomicOr | isa.AtomicFetch, isa.AtomicAnd | isa.AtomicFetch, isa.AtomicXor | isa.AtomicFetch,
				isa.AtomicXchg, isa.AtomicCmpXchg}[rng.Intn(10)]
			ins = isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeATOMIC) | uint8(size), Dst: isa.R10, Src: src, Offset: int16(-8 * (1 + rng.Intn(9))), Imm: int64(op)}
		}
		insns = append(insns, ins)
	}
	for r := isa.R1; r <= isa.R9; r++ {
		insns = append(insns, isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUXor | isa.SourceX, Dst: isa.R0, Src: r})
	}
	for k := 1; k <= 9; k++ {
		insns = append(insns,
			isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R1, Src: isa.R10, Offset: int16(-8 * k)},
			isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUMul, Dst: isa.R0, Imm: 31},
			isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd | isa.SourceX, Dst: isa.R0, Src: isa.R1})
	}
	return append(insns, isa.Instruction{Opcode: isa.OpExit})
}

// TestRandomVerifiedPrograms compiles random programs that the verifier
// accepts (seeded: the same programs every run) without checks, as
// verified programs are compiled, and compares r0, which folds every
// register and stack slot, with the interpreter's.
func TestRandomVerifiedPrograms(t *testing.T) {
	table, err := helper.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(17))
	m, im := NewMachine(), interp.NewMachine()
	compared := 0
	for range 400 {
		insns := randomProgram(rng)
		if err := insns.Validate(); err != nil {
			t.Fatalf("%v\n%s", err, insns)
		}
		if _, err := verifier.Verify(&verifier.Program{Type: ebpf.SocketFilter, Instructions: insns}, verifier.Options{}); err != nil {
			continue
		}
		ip, err := interp.Compile(insns, table)
		if err != nil {
			t.Fatal(err)
		}
		jp, err := Compile(insns, table, Options{Validated: true})
		if err != nil {
			t.Fatalf("%v\n%s", err, insns)
		}
		ir, ierr := ip.Run(im, engine.RunArgs{})
		jr, jerr := jp.Run(m, engine.RunArgs{})
		if ierr != nil || jerr != nil || ir != jr {
			t.Fatalf("interpreter: r0 %#x, %v; JIT: r0 %#x, %v\n%s", ir, ierr, jr, jerr, insns)
		}
		compared++
	}
	if compared < 300 {
		t.Fatalf("the verifier accepted only %d of 400 programs", compared)
	}
}
