package isa

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	exit := in(OpExit, 0, 0, 0, 0)
	tests := []struct {
		name string
		prog Instructions
		want string // substring of the reason; "" if the program is valid
	}{
		// Valid programs, one of every class.
		{"exit", Instructions{exit}, ""},
		{"ALU64", Instructions{in(0xb7, 0, 0, 0, 1), in(0x0f, 0, 1, 0, 0), in(0x87, 0, 0, 0, 0), exit}, ""},
		{"ALU32", Instructions{in(0xb4, 0, 0, 0, 1), in(0x3c, 0, 1, 1, 0), in(0xdc, 0, 0, 0, 16), exit}, ""},
		{"movsx", Instructions{in(0xbf, 0, 1, 32, 0), in(0xbc, 0, 1, 16, 0), exit}, ""},
		{"bswap", Instructions{in(0xd7, 0, 0, 0, 64), exit}, ""},
		{"JMP", Instructions{in(0x15, 1, 0, 1, 0), in(0x05, 0, 0, 0, 0), exit}, ""},
		{"JMP32", Instructions{in(0x1e, 1, 2, 1, 0), in(0x06, 0, 0, 0, 0), exit}, ""},
		{"backward jump", Instructions{exit, in(0x05, 0, 0, -2, 0)}, ""},
		{"ends in ja", Instructions{in(0xb7, 0, 0, 0, 0), in(0x05, 0, 0, -2, 0)}, ""},
		{"calls", Instructions{in(OpCall, 0, 0, 0, 1), in(OpCallX, 2, 0, 0, 0), in(OpCall, 0, 1, 0, 0), exit}, ""},
		{"kfunc call", Instructions{in(OpCall, 0, 2, 0, 9), exit}, ""},
		{"LD", Instructions{in(0x18, 1, 0, 0, 1<<40), in(0x30, 0, 0, 0, 3), in(0x48, 0, 1, 0, 0), exit}, ""},
		{"lddw func", Instructions{in(0x18, 1, 4, 0, 1), exit}, ""},
		{"LDX", Instructions{in(0x79, 0, 10, -8, 0), in(0x91, 0, 1, 0, 0), exit}, ""},
		{"ST", Instructions{in(0x62, 10, 0, -4, 1), exit}, ""},
		{"STX", Instructions{in(0x7b, 10, 1, -8, 0), in(0xdb, 10, 1, -8, 0xf1), in(0xc3, 10, 1, -4, 0xa1), exit}, ""},
		{"load-acquire, store-release", Instructions{in(0xd3, 0, 10, -1, 0x100), in(0xcb, 0, 10, -2, 0x100), in(0xdb, 10, 0, -8, 0x110), in(0xd3, 10, 0, -1, 0x110), exit}, ""},
		{"jump over lddw", Instructions{in(0x05, 0, 0, 2, 0), in(0x18, 0, 0, 0, 0), exit}, ""},
		{"may_goto", Instructions{in(0xb7, 0, 0, 0, 0), in(0xe5, 0, 0, 1, 0), in(0x05, 0, 0, -3, 0), exit}, ""},
		{"may_goto 0", Instructions{in(0xe5, 0, 0, 0, 0), exit}, ""},

		// Invalid programs.
		{"empty", nil, "no instructions"},
		{"ALU imm with source register", Instructions{in(0x07, 1, 2, 0, 5), exit}, "does not use (source register)"},
		{"ALU reg with immediate", Instructions{in(0x0f, 1, 2, 0, 5), exit}, "does not use (immediate)"},
		{"neg with offset", Instructions{in(0x87, 1, 0, 3, 0), exit}, "does not use (offset)"},
		{"byte swap with source register", Instructions{in(0xd4, 1, 2, 0, 16), exit}, "does not use (source register)"},
		{"exit with source bit", Instructions{in(0x9d, 0, 0, 0, 0)}, "does not use (source bit)"},
		{"exit with registers", Instructions{in(0x95, 1, 2, 0, 0)}, "does not use (destination register, source register)"},
		{"ja with immediate", Instructions{in(0x05, 0, 0, 0, 7), exit}, "does not use (immediate)"},
		{"gotol with offset", Instructions{in(0x06, 0, 0, 1, 0), exit}, "does not use (offset)"},
		{"helper call with destination", Instructions{in(OpCall, 3, 0, 0, 1), exit}, "does not use (destination register)"},
		{"callx with immediate", Instructions{in(OpCallX, 2, 0, 0, 1), exit}, "does not use (immediate)"},
		{"conditional jump imm with source", Instructions{in(0x15, 1, 2, 0, 0), exit}, "does not use (source register)"},
		{"lddw with offset", Instructions{in(0x18, 1, 0, 7, 1), exit}, "does not use (offset)"},
		{"ldabs with destination", Instructions{in(0x30, 1, 0, 0, 3), exit}, "does not use (destination register)"},
		{"ldx with immediate", Instructions{in(0x79, 0, 10, -8, 1), exit}, "does not use (immediate)"},
		{"st with source register", Instructions{in(0x62, 10, 1, -4, 1), exit}, "does not use (source register)"},
		{"stx with immediate", Instructions{in(0x7b, 10, 1, -8, 1), exit}, "does not use (immediate)"},
		{"falls off the end", Instructions{in(0xb7, 0, 0, 0, 0)}, "fall off the end"},
		{"ends in a conditional jump", Instructions{exit, in(0x15, 0, 0, -2, 0)}, "fall off the end"},
		{"ends in a call", Instructions{in(OpCall, 0, 0, 0, 1)}, "fall off the end"},
		{"bad dst", Instructions{in(0xb7, 11, 0, 0, 0), exit}, "destination register r11"},
		{"bad src", Instructions{in(0xbf, 0, 12, 0, 0), exit}, "source register r12"},
		{"write r10", Instructions{in(0xb7, 10, 0, 0, 0), exit}, "read-only frame pointer"},
		{"load into r10", Instructions{in(0x79, 10, 1, 0, 0), exit}, "read-only frame pointer"},
		{"lddw into r10", Instructions{in(0x18, 10, 0, 0, 0), exit}, "read-only frame pointer"},
		{"jump into lddw", Instructions{in(0x05, 0, 0, 1, 0), in(0x18, 0, 0, 0, 0), exit}, "second half of an lddw"},
		{"call into lddw", Instructions{in(OpCall, 0, 1, 0, 1), in(0x18, 0, 0, 0, 0), exit}, "second half of an lddw"},
		{"jump past the end", Instructions{in(0x05, 0, 0, 5, 0), exit}, "outside the program"},
		{"jump before the start", Instructions{in(0x15, 0, 0, -2, 0), exit}, "outside the program"},
		{"ja32 outside", Instructions{in(0x06, 0, 0, 0, 100), exit}, "outside the program"},
		{"local call outside", Instructions{in(OpCall, 0, 1, 0, -5), exit}, "outside the program"},
		{"lddw func outside", Instructions{in(0x18, 1, 4, 0, 9), exit}, "outside the program"},
		{"unknown ALU op", Instructions{in(0xe7, 0, 0, 0, 0), exit}, "unknown ALU operation"},
		{"div offset 2", Instructions{in(0x37, 0, 0, 2, 1), exit}, "offset 2 of div/mod"},
		{"add with offset", Instructions{in(0x07, 0, 0, 1, 1), exit}, "must be 0 for this ALU operation"},
		{"movsx of an immediate", Instructions{in(0xb7, 0, 0, 8, 1), exit}, "movsx takes a register source"},
		{"movsx32 in ALU32", Instructions{in(0xbc, 0, 1, 32, 0), exit}, "movsx of 32 bits exists only in 64-bit ALU"},
		{"movsx 24", Instructions{in(0xbf, 0, 1, 24, 0), exit}, "offset 24 of mov"},
		{"neg with register", Instructions{in(0x8f, 0, 1, 0, 0), exit}, "neg takes no source register"},
		{"bad bswap width", Instructions{in(0xd7, 0, 0, 0, 8), exit}, "byte swap width 8"},
		{"bad le width", Instructions{in(0xd4, 0, 0, 0, 0), exit}, "byte swap width 0"},
		{"bswap with source bit", Instructions{in(0xdf, 0, 0, 0, 16), exit}, "bswap must use source bit 0"},
		{"ja with register", Instructions{in(0x0d, 0, 0, 0, 0), exit}, "ja takes no source register"},
		{"unknown jump op", Instructions{in(0xf5, 0, 0, 0, 0), exit}, "unknown jump operation"},
		{"call in JMP32", Instructions{in(0x86, 0, 0, 0, 1), exit}, "call does not exist in the JMP32 class"},
		{"exit in JMP32", Instructions{in(0x96, 0, 0, 0, 0), exit}, "exit does not exist in the JMP32 class"},
		{"unknown call source", Instructions{in(OpCall, 0, 3, 0, 1), exit}, "call source 3"},
		{"sign-extending 8-byte load", Instructions{in(0x99, 0, 1, 0, 0), exit}, "sign-extending load of 8 bytes"},
		{"unknown LDX mode", Instructions{in(0x21, 0, 1, 0, 0), exit}, "unknown load mode"},
		{"unknown ST mode", Instructions{in(0xc2, 10, 0, 0, 0), exit}, "unknown store mode"},
		{"unknown STX mode", Instructions{in(0x23, 10, 1, 0, 0), exit}, "unknown store mode"},
		{"atomic byte", Instructions{in(0xd3, 10, 1, 0, 0), exit}, "only for 4 and 8 bytes"},
		{"unknown atomic op", Instructions{in(0xdb, 10, 1, -8, 0x10), exit}, "unknown atomic operation 0x10"},
		{"xchg without fetch", Instructions{in(0xdb, 10, 1, -8, 0xe0), exit}, "unknown atomic operation 0xe0"},
		{"may_goto out of the program", Instructions{in(0xe5, 0, 0, 1, 0), exit}, "outside the program"},
		{"may_goto into lddw", Instructions{in(0xe5, 0, 0, 1, 0), in(0x18, 0, 0, 0, 0), exit}, "second half of an lddw"},
		{"may_goto with dst", Instructions{in(0xe5, 1, 0, 0, 0), exit}, "reserved fields"},
		{"may_goto with imm", Instructions{in(0xe5, 0, 0, 0, 7), exit}, "reserved fields"},
		{"jcond kind 1", Instructions{in(0xe5, 0, 1, 0, 0), exit}, "not may_goto"},
		{"jcond with register source", Instructions{in(0xed, 0, 0, 0, 0), exit}, "unknown jump operation 0xe0"},
		{"jcond in JMP32", Instructions{in(0xe6, 0, 0, 0, 0), exit}, "unknown jump operation 0xe0"},
		{"load-acquire into r10", Instructions{in(0xdb, 10, 1, 0, 0x100), exit}, "read-only frame pointer"},
		{"fetch-add into r10", Instructions{in(0xdb, 1, 10, 0, 0x01), exit}, "read-only frame pointer"},
		{"xchg into r10", Instructions{in(0xc3, 1, 10, 0, 0xe1), exit}, "read-only frame pointer"},
		{"load-acquire with fetch", Instructions{in(0xdb, 0, 1, 0, 0x101), exit}, "unknown atomic operation 0x101"},
		{"store-release with fetch", Instructions{in(0xdb, 1, 2, 0, 0x111), exit}, "unknown atomic operation 0x111"},
		{"immediate load of 4 bytes", Instructions{in(0x00, 0, 0, 0, 0), exit}, "exist only as lddw"},
		{"unknown lddw kind", Instructions{in(0x18, 1, 7, 0, 0), exit}, "lddw source kind 7"},
		{"8-byte packet load", Instructions{in(0x38, 0, 0, 0, 0), exit}, "legacy packet loads exist only"},
		{"unknown LD mode", Instructions{in(0x60, 0, 0, 0, 0), exit}, "unknown load mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.prog.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError containing %q", err, tt.want)
			}
			if !strings.Contains(ve.Reason, tt.want) {
				t.Errorf("Validate = %v, want a reason containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), ve.Instruction.String()) {
				t.Errorf("error %q does not show the instruction %q", err, ve.Instruction.String())
			}
		})
	}
}

// TestValidateErrorPosition checks that the error names the index and slot
// of the bad instruction, counting lddw as two slots.
func TestValidateErrorPosition(t *testing.T) {
	prog := Instructions{in(0x18, 0, 0, 0, 0), in(0x18, 0, 0, 0, 0), in(0xb7, 11, 0, 0, 0), in(OpExit, 0, 0, 0, 0)}
	var ve *ValidationError
	if err := prog.Validate(); !errors.As(err, &ve) || ve.Index != 2 || ve.Slot != 4 {
		t.Fatalf("Validate = %v, want index 2 slot 4", err)
	}
}
