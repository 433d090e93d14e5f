package isa

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// b builds bytecode from little-endian 64-bit slots, as in a conformance
// test's "-- raw" section.
func b(slots ...uint64) []byte {
	var code []byte
	for _, s := range slots {
		for i := 0; i < 8; i++ {
			code = append(code, byte(s>>(8*i)))
		}
	}
	return code
}

func TestDecodeEncode(t *testing.T) {
	tests := []struct {
		name string
		code []byte
		want Instructions
	}{
		{"empty", nil, Instructions{}},
		{"mov exit", b(0x00000001000000b7, 0x0000000000000095),
			Instructions{in(0xb7, 0, 0, 0, 1), in(0x95, 0, 0, 0, 0)}},
		{"registers and offset", b(0x0000000000fff81a7b),
			Instructions{in(0x7b, 10, 1, -8, 0)}},
		{"high registers survive", b(0x000000000000ff07),
			Instructions{in(0x07, 15, 15, 0, 0)}},
		{"negative immediate", b(0xffffffff00000007),
			Instructions{in(0x07, 0, 0, 0, -1)}},
		{"lddw", b(0x5566778800000018, 0x1122334400000000, 0x95),
			Instructions{in(0x18, 0, 0, 0, 0x1122334455667788), in(0x95, 0, 0, 0, 0)}},
		{"lddw with all bits", b(0xffffffff00000118, 0xffffffff00000000),
			Instructions{in(0x18, 1, 0, 0, -1)}},
		{"lddw map value", b(0x0000000300002118, 0x0000001000000000),
			Instructions{in(0x18, 1, 2, 0, 16<<32|3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.code)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Decode = %d instructions %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("instruction %d = %#v, want %#v", i, got[i], tt.want[i])
				}
			}
			if enc := got.Encode(); !bytes.Equal(enc, tt.code) && len(tt.code) > 0 {
				t.Errorf("Encode = %x, want %x", enc, tt.code)
			}
			if n := got.SlotCount(); n != len(tt.code)/InstructionSize {
				t.Errorf("SlotCount = %d, want %d", n, len(tt.code)/InstructionSize)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		code   []byte
		slot   int
		reason string
	}{
		{"short", []byte{0x95, 0, 0}, 0, "not a multiple of 8"},
		{"trailing bytes", append(b(0x95), 1, 2, 3), 1, "not a multiple of 8"},
		{"lddw alone", b(0x18), 0, "missing its second slot"},
		{"lddw at the end", b(0x95, 0x18), 1, "missing its second slot"},
		{"lddw second opcode", b(0x18, 0x95), 1, "second slot of lddw"},
		{"lddw second registers", b(0x18, 0x100), 1, "second slot of lddw"},
		{"lddw second offset", b(0x18, 0x01000000), 1, "second slot of lddw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.code)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error = %v, want a *DecodeError", err)
			}
			if de.Slot != tt.slot || !strings.Contains(de.Reason, tt.reason) {
				t.Errorf("Decode error = slot %d %q, want slot %d containing %q", de.Slot, de.Reason, tt.slot, tt.reason)
			}
		})
	}
}

func TestInstructionFields(t *testing.T) {
	ins := in(0x7b, 10, 1, -8, 0)
	if ins.Class() != ClassSTX || ins.Size() != SizeDW || ins.Mode() != ModeMEM {
		t.Errorf("stxdw: class %#x size %#x mode %#x", ins.Class(), ins.Size(), ins.Mode())
	}
	if ins := in(0x2d, 1, 2, 0, 0); ins.Op() != JumpGT || ins.Source() != SourceX {
		t.Errorf("jgt reg: op %#x source %#x", ins.Op(), ins.Source())
	}
	lddw := in(OpLdDW, 0, 0, 0, 1<<40)
	if !lddw.IsLdDW() || lddw.Slots() != 2 || lddw.Imm32() != 0 {
		t.Errorf("lddw: IsLdDW %v Slots %d Imm32 %d", lddw.IsLdDW(), lddw.Slots(), lddw.Imm32())
	}
	if !in(OpCall, 0, 0, 0, 1).IsHelperCall() || !in(OpCall, 0, 1, 0, 1).IsLocalCall() || in(OpCallX, 1, 0, 0, 0).IsHelperCall() {
		t.Error("IsHelperCall/IsLocalCall disagree with the source field")
	}
}
