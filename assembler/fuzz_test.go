package assembler_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/isa"
)

// seedTests returns the conformance vectors for seeding.
func seedTests(tb testing.TB) []*conformance.Test {
	return conformance.Vectors(tb)
}

// fieldsValid reports whether Validate accepts the instruction itself,
// whatever its jump target: it checks the program {ins, exit} and forgives
// only a target outside it.
func fieldsValid(ins isa.Instruction) bool {
	err := isa.Instructions{ins, {Opcode: isa.OpExit}}.Validate()
	var ve *isa.ValidationError
	return err == nil || errors.As(err, &ve) && ve.Index == 0 && strings.HasPrefix(ve.Reason, "jump target slot")
}

// FuzzDisassembleAssemble checks that every instruction that decodes, valid
// or not, prints in SyntaxConformance as text that assembles back to it, and
// that exactly the instructions Validate rejects print as ".invalid".
func FuzzDisassembleAssemble(f *testing.F) {
	for _, ct := range seedTests(f) {
		for _, ins := range ct.Program {
			f.Add(ins.AppendEncoded(nil))
		}
	}
	f.Add(isa.Instruction{Opcode: 0x18, Dst: 1, Src: 4, Imm: -4}.AppendEncoded(nil))
	f.Add(isa.Instruction{Opcode: 0x07, Dst: 1, Src: 2, Imm: 5}.AppendEncoded(nil))
	f.Add(isa.Instruction{Opcode: 0xdb, Dst: 10, Src: 1, Offset: -8, Imm: 0xf1}.AppendEncoded(nil))
	f.Fuzz(func(t *testing.T, code []byte) {
		if len(code) != 8 && len(code) != 16 {
			return
		}
		insns, err := isa.Decode(code)
		if err != nil || len(insns) != 1 {
			return
		}
		ins := insns[0]
		text := ins.Format(isa.SyntaxConformance)
		_ = ins.Format(isa.SyntaxLLVM)
		if valid := fieldsValid(ins); valid == strings.HasPrefix(text, ".invalid") {
			t.Fatalf("%#v prints as %q, but Validate accepts its fields: %v", ins, text, valid)
		}
		got, err := assembler.Assemble(text)
		if err != nil {
			t.Fatalf("%#v prints as %q, which does not assemble: %v", ins, text, err)
		}
		if len(got) != 1 || got[0] != ins {
			t.Fatalf("%#v prints as %q, which assembles to %#v", ins, text, got)
		}
	})
}

// FuzzAssemble checks that any text either fails with an *assembler.Error
// naming one of its lines, or assembles to a program whose disassembly
// assembles back to it.
func FuzzAssemble(f *testing.F) {
	for _, ct := range seedTests(f) {
		if ct.Asm != "" {
			f.Add(ct.Asm)
		}
	}
	f.Add("lddw %r1, map_value 3, 16\nlddw %r1, func f\nf: call local f\nexit")
	f.Add("ldindh %r1, -2\nldabsw 4\ncall runtime 7\n.raw 0x95\n.invalid 0xff")
	f.Add("ldxw %r0, [ %r1 - 0x10 ]\nja32 exit\nlock fetch xor32 [%r10-4], %r1\nexit")
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := assembler.Assemble(src)
		if err != nil {
			var ae *assembler.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is a %T, not an *assembler.Error", err, err)
			}
			if lines := strings.Count(src, "\n") + 1; ae.Line < 1 || ae.Line > lines {
				t.Fatalf("error %v names line %d of %d", err, ae.Line, lines)
			}
			return
		}
		text := prog.Format(isa.SyntaxConformance)
		_ = prog.Format(isa.SyntaxLLVM)
		again, err := assembler.Assemble(text)
		if err != nil {
			t.Fatalf("the disassembly does not assemble: %v\n%s", err, text)
		}
		if len(again) != len(prog) {
			t.Fatalf("round trip gave %d instructions, want %d", len(again), len(prog))
		}
		for i := range prog {
			if again[i] != prog[i] {
				t.Fatalf("round trip changed instruction %d from %#v to %#v", i, prog[i], again[i])
			}
		}
	})
}

// TestRoundTripEveryOpcode runs the check of FuzzDisassembleAssemble over
// every opcode with a grid of register, offset and immediate values.
func TestRoundTripEveryOpcode(t *testing.T) {
	regs := []isa.Register{0, 1, 10, 11, 15}
	srcs := []isa.Register{0, 1, 2, 4, 6, 7, 15}
	offs := []int16{0, 1, -1, 8, 16, 32}
	imms := []int64{0, 1, -1, 16, 64, 0x41, 0xe1, 0xf1, 0x10, 5<<32 | 3}
	checked := 0
	for op := 0; op < 256; op++ {
		for _, dst := range regs {
			for _, src := range srcs {
				for _, off := range offs {
					for _, imm := range imms {
						ins := isa.Instruction{Opcode: uint8(op), Dst: dst, Src: src, Offset: off, Imm: imm}
						if !ins.IsLdDW() {
							ins.Imm = int64(int32(imm))
						}
						text := ins.Format(isa.SyntaxConformance)
						if valid := fieldsValid(ins); valid == strings.HasPrefix(text, ".invalid") {
							t.Fatalf("%#v prints as %q, but Validate accepts its fields: %v", ins, text, valid)
						}
						got, err := assembler.Assemble(text)
						if err != nil || len(got) != 1 || got[0] != ins {
							t.Fatalf("%#v prints as %q, which assembles to %#v, %v", ins, text, got, err)
						}
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d instructions round-tripped", checked)
}
