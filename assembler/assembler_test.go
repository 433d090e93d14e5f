package assembler_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/isa"
)

// in builds an instruction from its fields.
func in(op uint8, dst, src isa.Register, off int16, imm int64) isa.Instruction {
	return isa.Instruction{Opcode: op, Dst: dst, Src: src, Offset: off, Imm: imm}
}

var exit = in(0x95, 0, 0, 0, 0)

func TestAssemble(t *testing.T) {
	tests := []struct {
		src  string
		want isa.Instructions
	}{
		// ALU.
		{"mov %r0, 1", isa.Instructions{in(0xb7, 0, 0, 0, 1)}},
		{"mov64 %r0, 1", isa.Instructions{in(0xb7, 0, 0, 0, 1)}},
		{"mov32 %r0, 0xffffffff", isa.Instructions{in(0xb4, 0, 0, 0, -1)}},
		{"mov32 %r0, 0x80000000", isa.Instructions{in(0xb4, 0, 0, 0, -0x80000000)}},
		{"mov %r0, -2147483648", isa.Instructions{in(0xb7, 0, 0, 0, -0x80000000)}},
		{"mov %r0, 2147483647", isa.Instructions{in(0xb7, 0, 0, 0, 0x7fffffff)}},
		{"mov %r0, -0x10", isa.Instructions{in(0xb7, 0, 0, 0, -16)}},
		{"mov %r0, +7", isa.Instructions{in(0xb7, 0, 0, 0, 7)}},
		{"mov %r0, 0XfF", isa.Instructions{in(0xb7, 0, 0, 0, 255)}},
		{"mov %r9, %r10", isa.Instructions{in(0xbf, 9, 10, 0, 0)}},
		{"add %r1, %r2", isa.Instructions{in(0x0f, 1, 2, 0, 0)}},
		{"add32 %r1, 5", isa.Instructions{in(0x04, 1, 0, 0, 5)}},
		{"sub %r1, 1", isa.Instructions{in(0x17, 1, 0, 0, 1)}},
		{"mul32 %r1, %r2", isa.Instructions{in(0x2c, 1, 2, 0, 0)}},
		{"div %r1, 3", isa.Instructions{in(0x37, 1, 0, 0, 3)}},
		{"sdiv %r1, 3", isa.Instructions{in(0x37, 1, 0, 1, 3)}},
		{"sdiv32 %r1, %r2", isa.Instructions{in(0x3c, 1, 2, 1, 0)}},
		{"or %r1, 1", isa.Instructions{in(0x47, 1, 0, 0, 1)}},
		{"and32 %r1, 1", isa.Instructions{in(0x54, 1, 0, 0, 1)}},
		{"lsh %r1, 63", isa.Instructions{in(0x67, 1, 0, 0, 63)}},
		{"rsh32 %r1, %r2", isa.Instructions{in(0x7c, 1, 2, 0, 0)}},
		{"neg %r1", isa.Instructions{in(0x87, 1, 0, 0, 0)}},
		{"neg32 %r1", isa.Instructions{in(0x84, 1, 0, 0, 0)}},
		{"mod %r1, %r2", isa.Instructions{in(0x9f, 1, 2, 0, 0)}},
		{"smod %r1, -3", isa.Instructions{in(0x97, 1, 0, 1, -3)}},
		{"smod32 %r1, %r2", isa.Instructions{in(0x9c, 1, 2, 1, 0)}},
		{"xor %r1, %r1", isa.Instructions{in(0xaf, 1, 1, 0, 0)}},
		{"arsh32 %r1, 3", isa.Instructions{in(0xc4, 1, 0, 0, 3)}},
		{"movsx864 %r0, %r1", isa.Instructions{in(0xbf, 0, 1, 8, 0)}},
		{"movsx1664 %r0, %r1", isa.Instructions{in(0xbf, 0, 1, 16, 0)}},
		{"movsx3264 %r0, %r1", isa.Instructions{in(0xbf, 0, 1, 32, 0)}},
		{"movsx832 %r0, %r1", isa.Instructions{in(0xbc, 0, 1, 8, 0)}},
		{"movsx1632 %r0, %r1", isa.Instructions{in(0xbc, 0, 1, 16, 0)}},
		{"le16 %r1", isa.Instructions{in(0xd4, 1, 0, 0, 16)}},
		{"le64 %r1", isa.Instructions{in(0xd4, 1, 0, 0, 64)}},
		{"be32 %r1", isa.Instructions{in(0xdc, 1, 0, 0, 32)}},
		{"bswap16 %r1", isa.Instructions{in(0xd7, 1, 0, 0, 16)}},
		{"swap64 %r1", isa.Instructions{in(0xd7, 1, 0, 0, 64)}},
		// Loads and stores.
		{"ldxb %r0, [%r1]", isa.Instructions{in(0x71, 0, 1, 0, 0)}},
		{"ldxh %r0, [%r1+2]", isa.Instructions{in(0x69, 0, 1, 2, 0)}},
		{"ldxw %r0, [%r1+4]", isa.Instructions{in(0x61, 0, 1, 4, 0)}},
		{"ldxdw %r0, [%r10-8]", isa.Instructions{in(0x79, 0, 10, -8, 0)}},
		{"ldxdw %r0, [ %r10 - 8 ]", isa.Instructions{in(0x79, 0, 10, -8, 0)}},
		{"ldxdw %r0, [%r1+0x10]", isa.Instructions{in(0x79, 0, 1, 16, 0)}},
		{"ldxdw %r0, [%r1+0xffff]", isa.Instructions{in(0x79, 0, 1, -1, 0)}},
		{"ldxdw %r0, [%r1-0x8000]", isa.Instructions{in(0x79, 0, 1, -32768, 0)}},
		{"ldxdw %r0, [%r1+32767]", isa.Instructions{in(0x79, 0, 1, 32767, 0)}},
		{"ldxsb %r0, [%r1]", isa.Instructions{in(0x91, 0, 1, 0, 0)}},
		{"ldxsh %r0, [%r1+2]", isa.Instructions{in(0x89, 0, 1, 2, 0)}},
		{"ldxsw %r0, [%r1+4]", isa.Instructions{in(0x81, 0, 1, 4, 0)}},
		{"stb [%r10-1], 1", isa.Instructions{in(0x72, 10, 0, -1, 1)}},
		{"sth [%r10-2], 0xffff", isa.Instructions{in(0x6a, 10, 0, -2, 0xffff)}},
		{"stw [%r10-4], -1", isa.Instructions{in(0x62, 10, 0, -4, -1)}},
		{"stdw [%r10-8], 0x7fffffff", isa.Instructions{in(0x7a, 10, 0, -8, 0x7fffffff)}},
		{"stxb [%r10-1], %r1", isa.Instructions{in(0x73, 10, 1, -1, 0)}},
		{"stxh [%r10-2], %r1", isa.Instructions{in(0x6b, 10, 1, -2, 0)}},
		{"stxw [%r10-4], %r1", isa.Instructions{in(0x63, 10, 1, -4, 0)}},
		{"stxdw [%r10-8], %r1", isa.Instructions{in(0x7b, 10, 1, -8, 0)}},
		{"ldabsb 3", isa.Instructions{in(0x30, 0, 0, 0, 3)}},
		{"ldabsh 3", isa.Instructions{in(0x28, 0, 0, 0, 3)}},
		{"ldabsw 3", isa.Instructions{in(0x20, 0, 0, 0, 3)}},
		{"ldindb %r1, 3", isa.Instructions{in(0x50, 0, 1, 0, 3)}},
		{"ldindh %r1, -3", isa.Instructions{in(0x48, 0, 1, 0, -3)}},
		{"ldindw %r1, 0", isa.Instructions{in(0x40, 0, 1, 0, 0)}},
		// Atomics.
		{"lock add [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0x00)}},
		{"lock add32 [%r10-4], %r1", isa.Instructions{in(0xc3, 10, 1, -4, 0x00)}},
		{"lock or [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0x40)}},
		{"lock and32 [%r10-8], %r1", isa.Instructions{in(0xc3, 10, 1, -8, 0x50)}},
		{"lock xor [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0xa0)}},
		{"lock fetch add [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0x01)}},
		{"lock fetch or32 [%r10-4], %r3", isa.Instructions{in(0xc3, 10, 3, -4, 0x41)}},
		{"lock fetch and [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0x51)}},
		{"lock fetch xor32 [%r10-8], %r1", isa.Instructions{in(0xc3, 10, 1, -8, 0xa1)}},
		{"lock xchg [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0xe1)}},
		{"lock fetch xchg [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0xe1)}},
		{"ldacqdw %r0, [%r1]", isa.Instructions{in(0xdb, 0, 1, 0, 0x100)}},
		{"may_goto +2", isa.Instructions{in(0xe5, 0, 0, 2, 0)}},
		{"l: may_goto l", isa.Instructions{in(0xe5, 0, 0, -1, 0)}},
		{"ldacqb %r2, [%r10-1]", isa.Instructions{in(0xd3, 2, 10, -1, 0x100)}},
		{"strelh [%r1+2], %r3", isa.Instructions{in(0xcb, 1, 3, 2, 0x110)}},
		{"strelw [%r10-4], %r3", isa.Instructions{in(0xc3, 10, 3, -4, 0x110)}},
		{"lock xchg32 [%r10-8], %r1", isa.Instructions{in(0xc3, 10, 1, -8, 0xe1)}},
		{"lock cmpxchg [%r10-8], %r1", isa.Instructions{in(0xdb, 10, 1, -8, 0xf1)}},
		{"lock cmpxchg32 [%r1], %r2", isa.Instructions{in(0xc3, 1, 2, 0, 0xf1)}},
		// lddw.
		{"lddw %r0, 0x1122334455667788", isa.Instructions{in(0x18, 0, 0, 0, 0x1122334455667788)}},
		{"lddw %r0, 0xffffffffffffffff", isa.Instructions{in(0x18, 0, 0, 0, -1)}},
		{"lddw %r0, -1", isa.Instructions{in(0x18, 0, 0, 0, -1)}},
		{"lddw %r0, 18446744073709551615", isa.Instructions{in(0x18, 0, 0, 0, -1)}},
		{"lddw %r0, -9223372036854775808", isa.Instructions{in(0x18, 0, 0, 0, -1<<63)}},
		{"lddw %r1, map_fd 3", isa.Instructions{in(0x18, 1, 1, 0, 3)}},
		{"lddw %r1, map_fd 3, 5", isa.Instructions{in(0x18, 1, 1, 0, 5<<32|3)}},
		{"lddw %r1, map_fd -1", isa.Instructions{in(0x18, 1, 1, 0, 0xffffffff)}},
		{"lddw %r1, map_value 3, 16", isa.Instructions{in(0x18, 1, 2, 0, 16<<32|3)}},
		{"lddw %r1, btf_id 0xffffffff", isa.Instructions{in(0x18, 1, 3, 0, 0xffffffff)}},
		{"lddw %r1, map_idx 0", isa.Instructions{in(0x18, 1, 5, 0, 0)}},
		{"lddw %r1, map_idx_value 1, 8", isa.Instructions{in(0x18, 1, 6, 0, 8<<32|1)}},
		{"lddw %r1, func +1\nexit", isa.Instructions{in(0x18, 1, 4, 0, 1), exit}},
		{"lddw %r1, func -4", isa.Instructions{in(0x18, 1, 4, 0, 0xfffffffc)}},
		{"lddw %r1, func f, 7\nexit\nf:\nexit", isa.Instructions{in(0x18, 1, 4, 0, 7<<32|2), exit, exit}},
		// Jumps and calls.
		{"ja +2", isa.Instructions{in(0x05, 0, 0, 2, 0)}},
		{"ja -1", isa.Instructions{in(0x05, 0, 0, -1, 0)}},
		{"ja +0x10", isa.Instructions{in(0x05, 0, 0, 16, 0)}},
		{"ja32 +70000", isa.Instructions{in(0x06, 0, 0, 0, 70000)}},
		{"jeq %r1, 0x5, +3", isa.Instructions{in(0x15, 1, 0, 3, 5)}},
		{"jeq %r1, %r2, -3", isa.Instructions{in(0x1d, 1, 2, -3, 0)}},
		{"jgt %r1, 5, +1", isa.Instructions{in(0x25, 1, 0, 1, 5)}},
		{"jge32 %r1, 5, +1", isa.Instructions{in(0x36, 1, 0, 1, 5)}},
		{"jset %r1, %r2, +1", isa.Instructions{in(0x4d, 1, 2, 1, 0)}},
		{"jne32 %r1, -1, +1", isa.Instructions{in(0x56, 1, 0, 1, -1)}},
		{"jsgt %r1, 5, +1", isa.Instructions{in(0x65, 1, 0, 1, 5)}},
		{"jsge %r1, 5, +1", isa.Instructions{in(0x75, 1, 0, 1, 5)}},
		{"jlt %r1, 5, +1", isa.Instructions{in(0xa5, 1, 0, 1, 5)}},
		{"jle %r1, 5, +1", isa.Instructions{in(0xb5, 1, 0, 1, 5)}},
		{"jslt32 %r1, %r2, -2", isa.Instructions{in(0xce, 1, 2, -2, 0)}},
		{"jsle %r1, 5, +1", isa.Instructions{in(0xd5, 1, 0, 1, 5)}},
		{"jeq %r1 5 +1", isa.Instructions{in(0x15, 1, 0, 1, 5)}},
		{"call 5", isa.Instructions{in(0x85, 0, 0, 0, 5)}},
		{"call -1", isa.Instructions{in(0x85, 0, 0, 0, -1)}},
		{"call helper 5", isa.Instructions{in(0x85, 0, 0, 0, 5)}},
		{"call local +3", isa.Instructions{in(0x85, 0, 1, 0, 3)}},
		{"call local -3", isa.Instructions{in(0x85, 0, 1, 0, -3)}},
		{"call runtime 7", isa.Instructions{in(0x85, 0, 2, 0, 7)}},
		{"call kfunc 7", isa.Instructions{in(0x85, 0, 2, 0, 7)}},
		{"call %r2", isa.Instructions{in(0x8d, 2, 0, 0, 0)}},
		{"call helper %r2", isa.Instructions{in(0x8d, 2, 0, 0, 0)}},
		{"callx %r5", isa.Instructions{in(0x8d, 5, 0, 0, 0)}},
		{"exit", isa.Instructions{exit}},
		// Raw slots.
		{".raw 0x0000000500002107", isa.Instructions{in(0x07, 1, 2, 0, 5)}},
		{".invalid 0x00000000000000ff", isa.Instructions{in(0xff, 0, 0, 0, 0)}},
		{".invalid 0x0000000100000a18, 0", isa.Instructions{in(0x18, 10, 0, 0, 1)}},
		{".raw 149", isa.Instructions{exit}},
		// Layout: comments, blank lines, labels.
		{"", nil},
		{"# only a comment\n\n   \n", nil},
		{"  mov %r0, 1   # comment\n\texit\n", isa.Instructions{in(0xb7, 0, 0, 0, 1), exit}},
		{"mov %r0,1\nexit", isa.Instructions{in(0xb7, 0, 0, 0, 1), exit}},
		{"ja L\nL:\nexit", isa.Instructions{in(0x05, 0, 0, 0, 0), exit}},
		{"L: mov %r0, 0\nja L", isa.Instructions{in(0xb7, 0, 0, 0, 0), in(0x05, 0, 0, -2, 0)}},
		{"jeq %r1, 0, exit\nlddw %r0, 1\nexit\nexit", isa.Instructions{in(0x15, 1, 0, 2, 0), in(0x18, 0, 0, 0, 0x1), exit, exit}},
		{"ja exit\nexit:\nmov %r0, 1\nexit", isa.Instructions{in(0x05, 0, 0, 0, 0), in(0xb7, 0, 0, 0, 1), exit}},
		{"ja exit\nmov %r0, 1\nexit\nexit:\nexit", isa.Instructions{in(0x05, 0, 0, 2, 0), in(0xb7, 0, 0, 0, 1), exit, exit}},
		{"ja32 end\nlddw %r0, 1\nend:\nexit", isa.Instructions{in(0x06, 0, 0, 0, 2), in(0x18, 0, 0, 0, 1), exit}},
		{"call local f\nexit\nf:\nmov %r0, 1\nexit", isa.Instructions{in(0x85, 0, 1, 0, 1), exit, in(0xb7, 0, 0, 0, 1), exit}},
		{"f:\nexit\ncall local f", isa.Instructions{exit, in(0x85, 0, 1, 0, -2)}},
		{"L.1_$x:\nja L.1_$x", isa.Instructions{in(0x05, 0, 0, -1, 0)}},
	}
	for _, tt := range tests {
		got, err := assembler.Assemble(tt.src)
		if err != nil {
			t.Errorf("Assemble(%q): %v", tt.src, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("Assemble(%q) = %v, want %v", tt.src, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Assemble(%q)[%d] = %#v, want %#v", tt.src, i, got[i], tt.want[i])
			}
		}
	}
}

func TestAssembleErrors(t *testing.T) {
	tests := []struct {
		src  string
		want string // the whole error text
	}{
		{"mov %r0, 1\nexit\n\n\n\n\nfoo %r1", `line 7: unknown mnemonic "foo"`},
		{"ja L1\nexit\nja L2\nL1:\nexit", `line 3: label "L2" is not defined`},
		{"ja exit", `line 1: label "exit" is not defined`},
		{"mov32 %r0, 0x1ffffffff", `line 1: immediate 0x1ffffffff does not fit in 32 bits`},
		{"mov %r0, 2147483648", `line 1: immediate 2147483648 does not fit in 32 bits`},
		{"mov %r0, -2147483649", `line 1: immediate -2147483649 does not fit in 32 bits`},
		{"mov %r0, -0x80000001", `line 1: immediate -0x80000001 does not fit in 32 bits`},
		{"mov %r0, 0x10000000000000000", `line 1: immediate 0x10000000000000000 does not fit in 64 bits`},
		{"lddw %r0, -0x8000000000000001", `line 1: immediate -0x8000000000000001 does not fit in 64 bits`},
		{"mov %r0, 12abc", `line 1: immediate "12abc" is not a number`},
		{"mov %r0, 0x", `line 1: immediate "0x" is not a number`},
		{"mov %r0, --1", `line 1: immediate "--1" is not a number`},
		{"mov %r0, 1_000", `line 1: immediate "1_000" is not a number`},
		{"L:\nexit\nL:\nexit", `line 3: label "L" is already defined at line 1`},
		{"mov %r0", `line 1: mov takes 2 operands, got 1`},
		{"mov %r0, 1, 2", `line 1: mov takes 2 operands, got 3`},
		{"exit %r0", `line 1: exit takes 0 operands, got 1`},
		{"neg %r0, 1", `line 1: neg takes 1 operand, got 2`},
		{"be16 %r0, %r1", `line 1: be16 takes 1 operand, got 2`},
		{"jeq %r1, 1", `line 1: jeq takes 3 operands, got 2`},
		{"ja", `line 1: ja takes 1 operand, got 0`},
		{"mov %r11, 1", `line 1: register "%r11" does not exist: registers are %r0 to %r10`},
		{"mov %r1, %r15", `line 1: register "%r15" does not exist: registers are %r0 to %r10`},
		{"mov r1, 1", `line 1: expected a register %r0 to %r10, got "r1"`},
		{"mov %r01, 1", `line 1: expected a register %r0 to %r10, got "%r01"`},
		{"mov %rx, 1", `line 1: expected a register %r0 to %r10, got "%rx"`},
		{"mov %r1, %r", `line 1: expected a register %r0 to %r10, got "%r"`},
		{"ldxw %r0, %r1", `line 1: expected a memory operand like [%r1+4], got "%r1"`},
		{"ldxw %r0, [%r1+4", `line 1: memory operand "[%r1+4" has no closing ']'`},
		{"ldxw %r0, [%r1+40000]", `line 1: offset +40000 does not fit in 16 bits`},
		{"ldxw %r0, [%r1-0x8001]", `line 1: offset -0x8001 does not fit in 16 bits`},
		{"ldxw %r0, [%r1+x]", `line 1: offset "+x" is not a number`},
		{"ldxw %r0, [%r11]", `line 1: register "%r11" does not exist: registers are %r0 to %r10`},
		{"ldxsdw %r0, [%r1]", `line 1: unknown mnemonic "ldxsdw"`},
		{"ldabsdw 1", `line 1: unknown mnemonic "ldabsdw"`},
		{"movsx3232 %r0, %r1", `line 1: unknown mnemonic "movsx3232"`},
		{"movsx864 %r0, 1", `line 1: expected a register %r0 to %r10, got "1"`},
		{"bswap8 %r0", `line 1: unknown mnemonic "bswap8"`},
		{"ja +32768", `line 1: jump offset +32768 does not fit in 16 bits`},
		{"ja -32769", `line 1: jump offset -32769 does not fit in 16 bits`},
		{"ja32 +2147483648", `line 1: jump offset +2147483648 does not fit in 32 bits`},
		{"ja 3", `line 1: label "3" is not defined`},
		{"ja [x]", `line 1: expected a label or a +N/-N offset, got "[x]"`},
		{"ja far\n" + strings.Repeat("exit\n", 40000) + "far:", `line 1: label "far" is 40000 slots away, too far for a 16-bit jump offset`},
		{"call", `line 1: call takes a target, or a kind (helper, local, runtime) and a target; got 0 operands`},
		{"call local", `line 1: call local needs a target`},
		{"call remote 3", `line 1: unknown call kind "remote": want helper, local, runtime or kfunc`},
		{"call func1", `line 1: immediate "func1" is not a number`},
		{"callx 3", `line 1: expected a register %r0 to %r10, got "3"`},
		{"lock", `line 1: lock takes [fetch] and an operation, a memory operand and a register; got 0 operands`},
		{"lock sub [%r10-8], %r1", `line 1: unknown atomic operation "sub"`},
		{"lock fetch add [%r10-8]", `line 1: lock takes [fetch] and an operation, a memory operand and a register; got 2 operands`},
		{"lddw %r0", `line 1: lddw takes 2 operands, got 1`},
		{"lddw %r0, map 3", `line 1: unknown lddw source kind "map"`},
		{"lddw %r0, map_fd 0x100000000", `line 1: immediate 0x100000000 does not fit in 32 bits`},
		{"lddw %r0, map_value 1, 2, 3", `line 1: lddw map_value takes a value and at most one more, got 3 operands`},
		{"lddw %r0, func nowhere", `line 1: label "nowhere" is not defined`},
		{".raw", `line 1: .raw takes 1 or 2 slots, got 0 operands`},
		{".raw 0x18", `line 1: .raw 0x18: decode bytecode: slot 0 (byte offset 0): lddw is missing its second slot`},
		{".raw 0x95, 0x95", `line 1: .raw 0x95, 0x95 is 2 instructions, not one`},
		{".raw -1", `line 1: slot -1 must not be negative`},
		{"9lives:", ``}, // a valid label: checked below to give no error
		{"a-b:\nexit", `line 1: invalid label name "a-b"`},
		{":\nexit", `line 1: invalid label name ""`},
	}
	for _, tt := range tests {
		_, err := assembler.Assemble(tt.src)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Assemble(%.40q): %v", tt.src, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Assemble(%.40q) succeeded, want error %q", tt.src, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Assemble(%.40q) error = %q, want %q", tt.src, err, tt.want)
		}
		var ae *assembler.Error
		if !errors.As(err, &ae) {
			t.Errorf("Assemble(%.40q) error is %T, want *assembler.Error", tt.src, err)
		}
	}
}

func TestErrorFields(t *testing.T) {
	_, err := assembler.Assemble("mov %r0, 1\n  foo %r1, 2   # what\nexit")
	var ae *assembler.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *assembler.Error", err)
	}
	want := assembler.Error{Line: 2, Text: "foo %r1, 2", Reason: `unknown mnemonic "foo"`}
	if *ae != want {
		t.Errorf("error = %+v, want %+v", *ae, want)
	}
	_, err = assembler.Assemble("mov %r0, 1\nja nowhere\nexit")
	if !errors.As(err, &ae) || ae.Line != 2 || ae.Text != "ja nowhere" {
		t.Errorf("undefined label error = %+v, want line 2 text \"ja nowhere\"", err)
	}
}
