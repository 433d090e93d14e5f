package amd64

import (
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
)

// TestEncodings checks the encoder against GNU objdump's reading of its
// bytes, register by register where the encoding differs (REX bits, rsp and
// r12 bases that need a SIB byte, rbp and r13 bases that need a
// displacement, byte registers that need a REX prefix).
func TestEncodings(t *testing.T) {
	objdump := jittest.NeedObjdump(t, "objdump", "objdump (GNU binutils) is not installed: cannot check the encodings")
	names := [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}
	names32 := [16]string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"}
	names16 := [16]string{"ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"}
	names8 := [16]string{"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"}
	type enc struct {
		emit func(a *asm)
		want string // objdump's Intel syntax
	}
	var cases []enc
	for r := rax; r <= r15; r++ {
		for _, b := range []reg{rax, rsp, rbp, r12, r13, r15} {
			r, b := r, b
			zero := "" // objdump shows [rbp+0x0]: rbp and r13 need a displacement
			if b&7 == rbp {
				zero = "+0x0"
			}
			cases = append(cases,
				enc{func(a *asm) { a.load(8, r, b, 16) }, "mov " + names[r] + ",QWORD PTR [" + names[b] + "+0x10]"},
				enc{func(a *asm) { a.load(1, r, b, 0) }, "movzx " + names32[r] + ",BYTE PTR [" + names[b] + zero + "]"},
				enc{func(a *asm) { a.load(2, r, b, -8) }, "movzx " + names32[r] + ",WORD PTR [" + names[b] + "-0x8]"},
				enc{func(a *asm) { a.loadSX(4, r, b, 0x1000) }, "movsxd " + names[r] + ",DWORD PTR [" + names[b] + "+0x1000]"},
				enc{func(a *asm) { a.store(1, b, 4, r) }, "mov BYTE PTR [" + names[b] + "+0x4]," + names8[r]},
				enc{func(a *asm) { a.store(2, b, 4, r) }, "mov WORD PTR [" + names[b] + "+0x4]," + names16[r]},
				enc{func(a *asm) { a.store(4, b, 4, r) }, "mov DWORD PTR [" + names[b] + "+0x4]," + names32[r]},
			)
		}
		r := r
		cases = append(cases,
			enc{func(a *asm) { a.aluRR(0x01, true, r, r9) }, "add " + names[r] + ",r9"},
			enc{func(a *asm) { a.aluRR(0x31, false, r10, r) }, "xor r10d," + names32[r]},
			enc{func(a *asm) { a.aluRI(extAnd, true, r, -2) }, "and " + names[r] + ",0xfffffffffffffffe"},
			enc{func(a *asm) { a.aluRI(extCmp, false, r, 0x12345) }, "cmp " + names32[r] + ",0x12345"},
			enc{func(a *asm) { a.imulRRI(true, r, r, 16777619) }, "imul " + names[r] + "," + names[r] + ",0x1000193"},
			enc{func(a *asm) { a.shiftRI(extSar, true, r, 3) }, "sar " + names[r] + ",0x3"},
			enc{func(a *asm) { a.shiftRCL(extShl, false, r) }, "shl " + names32[r] + ",cl"},
			enc{func(a *asm) { a.movsx(1, true, r, rsi) }, "movsx " + names[r] + ",sil"},
			enc{func(a *asm) { a.movzx16(r, r) }, "movzx " + names32[r] + "," + names16[r]},
			enc{func(a *asm) { a.bswap(true, r) }, "bswap " + names[r]},
			enc{func(a *asm) { a.movImm(r, 0xffffffff) }, "mov " + names32[r] + ",0xffffffff"},
			enc{func(a *asm) { a.movImm(r, 0x1122334455667788) }, "movabs " + names[r] + ",0x1122334455667788"},
			enc{func(a *asm) { a.atomicRM(true, true, r, 8, r14, 0x0f, 0xc1) }, "lock xadd QWORD PTR [" + names[r] + "+0x8],r14"},
		)
	}
	var a asm
	var want []string
	for _, c := range cases {
		c.emit(&a)
		want = append(want, c.want)
	}
	var got []string
	for _, d := range jittest.Objdump(t, objdump, a.b, "-mi386:x86-64", "-Mintel") {
		got = append(got, strings.Join(strings.Fields(d.Text), " "))
	}
	if len(got) != len(want) {
		t.Fatalf("objdump read %d instructions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != strings.Join(strings.Fields(strings.ReplaceAll(want[i], ",", ", ")), " ") && got[i] != want[i] {
			t.Errorf("instruction %d: objdump reads %q, want %q", i, got[i], want[i])
		}
	}
}
