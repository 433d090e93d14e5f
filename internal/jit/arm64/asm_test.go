package arm64

import (
	"fmt"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
)

// TestEncodings checks the encoder against GNU objdump's reading of its
// words (binutils-aarch64-linux-gnu), register by register where the
// register fields differ and through the forms that each operation takes
// (32 and 64 bits, scaled, unscaled and register offsets, movz, movn and
// movk, LSE and exclusive accesses).
func TestEncodings(t *testing.T) {
	objdump := jittest.NeedObjdump(t, "aarch64-linux-gnu-objdump", "aarch64-linux-gnu-objdump (Debian's binutils-aarch64-linux-gnu) is not installed: cannot check the encodings")
	type enc struct {
		emit func(a *asm)
		want string // objdump's reading, operands separated by ", "
	}
	xn := func(r reg) string {
		if r == 31 {
			return "xzr"
		}
		return fmt.Sprintf("x%d", r)
	}
	wn := func(r reg) string {
		if r == 31 {
			return "wzr"
		}
		return fmt.Sprintf("w%d", r)
	}
	var cases []enc
	for _, r := range []reg{x0, x4, x7, x9, x17, x19, x25, x27, x30} {
		for _, b := range []reg{x1, x25, x27, sp} {
			bn := xn(b)
			if b == sp {
				bn = "sp"
			}
			cases = append(cases,
				enc{func(a *asm) { a.load(8, r, b, 16, x16) }, fmt.Sprintf("ldr %s, [%s, #16]", xn(r), bn)},
				enc{func(a *asm) { a.load(4, r, b, 4092, x16) }, fmt.Sprintf("ldr %s, [%s, #4092]", wn(r), bn)},
				enc{func(a *asm) { a.load(2, r, b, -8, x16) }, fmt.Sprintf("ldurh %s, [%s, #-8]", wn(r), bn)},
				enc{func(a *asm) { a.load(1, r, b, 0, x16) }, fmt.Sprintf("ldrb %s, [%s]", wn(r), bn)},
				enc{func(a *asm) { a.loadSX(4, r, b, 8, x16) }, fmt.Sprintf("ldrsw %s, [%s, #8]", xn(r), bn)},
				enc{func(a *asm) { a.loadSX(2, r, b, -2, x16) }, fmt.Sprintf("ldursh %s, [%s, #-2]", xn(r), bn)},
				enc{func(a *asm) { a.loadSX(1, r, b, 3, x16) }, fmt.Sprintf("ldrsb %s, [%s, #3]", xn(r), bn)},
				enc{func(a *asm) { a.store(8, b, -256, r, x16) }, fmt.Sprintf("stur %s, [%s, #-256]", xn(r), bn)},
				enc{func(a *asm) { a.store(2, b, 2, r, x16) }, fmt.Sprintf("strh %s, [%s, #2]", wn(r), bn)},
				enc{func(a *asm) { a.store(1, b, 255, r, x16) }, fmt.Sprintf("strb %s, [%s, #255]", wn(r), bn)},
			)
		}
		cases = append(cases,
			// An offset that fits no immediate: movn x16 and a register
			// offset.
			enc{func(a *asm) { a.load(8, r, x1, -4097, x16) }, "mov x16, #0xffffffffffffefff"},
			enc{nil, fmt.Sprintf("ldr %s, [x1, x16]", xn(r))},
			enc{func(a *asm) { a.store(4, x2, 32766, r, x16) }, "mov w16, #0x7ffe"},
			enc{nil, fmt.Sprintf("str %s, [x2, x16]", wn(r))},
			enc{func(a *asm) { a.rrr(opADD, true, r, r, x9) }, fmt.Sprintf("add %s, %s, x9", xn(r), xn(r))},
			enc{func(a *asm) { a.rrr(opSUB, false, r, xzr, r) }, fmt.Sprintf("neg %s, %s", wn(r), wn(r))},
			enc{func(a *asm) { a.rrr(opEOR, true, x10, r, x3) }, fmt.Sprintf("eor x10, %s, x3", xn(r))},
			enc{func(a *asm) { a.rrr(opAND, false, r, x3, x4) }, fmt.Sprintf("and %s, w3, w4", wn(r))},
			enc{func(a *asm) { a.rrr(opORN, true, r, xzr, x2) }, fmt.Sprintf("mvn %s, x2", xn(r))},
			enc{func(a *asm) { a.movRR(false, r, x2) }, fmt.Sprintf("mov %s, w2", wn(r))},
			enc{func(a *asm) { a.movRR(true, x2, r) }, fmt.Sprintf("mov x2, %s", xn(r))},
			enc{func(a *asm) { a.rrr(opUDIV, true, r, r, x1) }, fmt.Sprintf("udiv %s, %s, x1", xn(r), xn(r))},
			enc{func(a *asm) { a.rrr(opSDIV, false, r, r, x1) }, fmt.Sprintf("sdiv %s, %s, w1", wn(r), wn(r))},
			enc{func(a *asm) { a.madd(true, true, r, x12, x1, x3) }, fmt.Sprintf("msub %s, x12, x1, x3", xn(r))},
			enc{func(a *asm) { a.madd(false, false, r, r, x17, xzr) }, fmt.Sprintf("mul %s, %s, w17", wn(r), wn(r))},
			enc{func(a *asm) { a.rrr(opLSLV, true, r, r, x1) }, fmt.Sprintf("lsl %s, %s, x1", xn(r), xn(r))},
			enc{func(a *asm) { a.rrr(opLSRV, false, r, r, x1) }, fmt.Sprintf("lsr %s, %s, w1", wn(r), wn(r))},
			enc{func(a *asm) { a.rrr(opASRV, true, r, r, x1) }, fmt.Sprintf("asr %s, %s, x1", xn(r), xn(r))},
			enc{func(a *asm) { a.shiftImm(shiftLSL, true, r, r, 3) }, fmt.Sprintf("lsl %s, %s, #3", xn(r), xn(r))},
			enc{func(a *asm) { a.shiftImm(shiftLSL, false, r, r, 31) }, fmt.Sprintf("lsl %s, %s, #31", wn(r), wn(r))},
			enc{func(a *asm) { a.shiftImm(shiftLSR, true, r, r, 63) }, fmt.Sprintf("lsr %s, %s, #63", xn(r), xn(r))},
			enc{func(a *asm) { a.shiftImm(shiftASR, false, r, r, 5) }, fmt.Sprintf("asr %s, %s, #5", wn(r), wn(r))},
			enc{func(a *asm) { a.extend(true, true, 1, r, x3) }, fmt.Sprintf("sxtb %s, w3", xn(r))},
			enc{func(a *asm) { a.extend(true, true, 4, r, x3) }, fmt.Sprintf("sxtw %s, w3", xn(r))},
			enc{func(a *asm) { a.extend(true, false, 2, r, x3) }, fmt.Sprintf("sxth %s, w3", wn(r))},
			enc{func(a *asm) { a.extend(false, false, 2, r, r) }, fmt.Sprintf("uxth %s, %s", wn(r), wn(r))},
			enc{func(a *asm) { a.rev(2, r, r) }, fmt.Sprintf("rev16 %s, %s", wn(r), wn(r))},
			enc{func(a *asm) { a.rev(4, r, r) }, fmt.Sprintf("rev %s, %s", wn(r), wn(r))},
			enc{func(a *asm) { a.rev(8, r, r) }, fmt.Sprintf("rev %s, %s", xn(r), xn(r))},
			enc{func(a *asm) { a.addImm(true, r, r, 4095) }, fmt.Sprintf("add %s, %s, #0xfff", xn(r), xn(r))},
			enc{func(a *asm) { a.subImm(false, r, r, 1) }, fmt.Sprintf("sub %s, %s, #0x1", wn(r), wn(r))},
			enc{func(a *asm) { a.subsImm(true, xzr, r, 33) }, fmt.Sprintf("cmp %s, #0x21", xn(r))},
			enc{func(a *asm) { a.addsImm(false, xzr, r, 7) }, fmt.Sprintf("cmn %s, #0x7", wn(r))},
			enc{func(a *asm) { a.cmp(false, r, x7) }, fmt.Sprintf("cmp %s, w7", wn(r))},
			enc{func(a *asm) { a.tst(true, r, x7) }, fmt.Sprintf("tst %s, x7", xn(r))},
			enc{func(a *asm) { a.movImm(r, 0) }, fmt.Sprintf("mov %s, #0x0", wn(r))},
			enc{func(a *asm) { a.movImm(r, 0xffffffff) }, fmt.Sprintf("mov %s, #0xffffffff", wn(r))},
			enc{func(a *asm) { a.movImm(r, 0x12340000) }, fmt.Sprintf("mov %s, #0x12340000", wn(r))},
			enc{func(a *asm) { a.movImm(r, 0x12345678) }, fmt.Sprintf("mov %s, #0x5678", wn(r))},
			enc{nil, fmt.Sprintf("movk %s, #0x1234, lsl #16", wn(r))},
			enc{func(a *asm) { a.movImm(r, 0xffffffffffff8000) }, fmt.Sprintf("mov %s, #0xffffffffffff8000", xn(r))},
			enc{func(a *asm) { a.movImm(r, 0x1122000000005566) }, fmt.Sprintf("mov %s, #0x5566", xn(r))},
			enc{nil, fmt.Sprintf("movk %s, #0x1122, lsl #48", xn(r))},
			enc{func(a *asm) { a.movImm(r, 0xffff1234ffff5678) }, fmt.Sprintf("mov %s, #0xffffffffffff5678", xn(r))},
			enc{nil, fmt.Sprintf("movk %s, #0x1234, lsl #32", xn(r))},
			enc{func(a *asm) { a.movImm(r, ^uint64(0)) }, fmt.Sprintf("mov %s, #0xffffffffffffffff", xn(r))},
			enc{func(a *asm) { a.movImm(r, 0xffff1234) }, fmt.Sprintf("mov %s, #0xffff1234", wn(r))},
			enc{func(a *asm) { a.movImm(r, 0x0000123400000000) }, fmt.Sprintf("mov %s, #0x123400000000", xn(r))},
			enc{func(a *asm) { a.loadSX(2, r, x3, 0x2001, x16) }, "mov w16, #0x2001"},
			enc{nil, fmt.Sprintf("ldrsh %s, [x3, x16]", xn(r))},
			enc{func(a *asm) { a.store(8, x3, 12, r, x16) }, fmt.Sprintf("stur %s, [x3, #12]", xn(r))},
			enc{func(a *asm) { a.ldxr(true, false, r, x16) }, fmt.Sprintf("ldxr %s, [x16]", xn(r))},
			enc{func(a *asm) { a.ldxr(false, true, r, x16) }, fmt.Sprintf("ldaxr %s, [x16]", wn(r))},
			enc{func(a *asm) { a.stxr(true, true, x14, r, x16) }, fmt.Sprintf("stlxr w14, %s, [x16]", xn(r))},
			enc{func(a *asm) { a.stxr(false, false, x14, r, x16) }, fmt.Sprintf("stxr w14, %s, [x16]", wn(r))},
			enc{func(a *asm) { a.ldar(8, r, x16) }, fmt.Sprintf("ldar %s, [x16]", xn(r))},
			enc{func(a *asm) { a.ldar(2, r, x16) }, fmt.Sprintf("ldarh %s, [x16]", wn(r))},
			enc{func(a *asm) { a.stlr(1, r, x16) }, fmt.Sprintf("stlrb %s, [x16]", wn(r))},
			enc{func(a *asm) { a.stlr(4, r, x16) }, fmt.Sprintf("stlr %s, [x16]", wn(r))},
			enc{func(a *asm) { a.lse(lseADD, true, true, r, r, x16) }, fmt.Sprintf("ldaddal %s, %s, [x16]", xn(r), xn(r))},
			enc{func(a *asm) { a.lse(lseADD, false, false, r, xzr, x16) }, fmt.Sprintf("stadd %s, [x16]", wn(r))},
			enc{func(a *asm) { a.lse(lseCLR, true, true, x12, r, x16) }, fmt.Sprintf("ldclral x12, %s, [x16]", xn(r))},
			enc{func(a *asm) { a.lse(lseSET, false, true, r, r, x16) }, fmt.Sprintf("ldsetal %s, %s, [x16]", wn(r), wn(r))},
			enc{func(a *asm) { a.lse(lseEOR, true, false, r, xzr, x16) }, fmt.Sprintf("steor %s, [x16]", xn(r))},
			enc{func(a *asm) { a.lse(lseSWP, false, true, r, r, x16) }, fmt.Sprintf("swpal %s, %s, [x16]", wn(r), wn(r))},
			enc{func(a *asm) { a.casal(true, x7, r, x16) }, fmt.Sprintf("casal x7, %s, [x16]", xn(r))},
			enc{func(a *asm) { a.casal(false, x7, r, x16) }, fmt.Sprintf("casal w7, %s, [x16]", wn(r))},
			enc{func(a *asm) { a.br(r) }, fmt.Sprintf("br %s", xn(r))},
		)
	}
	cases = append(cases,
		enc{func(a *asm) { a.pushPair(x30, xzr) }, "stp x30, xzr, [sp, #-16]!"},
		enc{func(a *asm) { a.popPair(x19, x20) }, "ldp x19, x20, [sp], #16"},
		enc{func(a *asm) { a.movSP(sp, x9) }, "mov sp, x9"},
		enc{func(a *asm) { a.movSP(x9, sp) }, "mov x9, sp"},
		enc{func(a *asm) { a.dmbISH() }, "dmb ish"},
		enc{func(a *asm) { a.ret() }, "ret"},
		enc{func(a *asm) { a.umulh(x7, x7, x17) }, "umulh x7, x7, x17"},
		enc{func(a *asm) { a.bfm(false, false, x9, x15, 0, 0) }, "ubfx w9, w15, #0, #1"},
		// Branches patched to offsets relative to themselves: objdump
		// shows the target address.
		enc{func(a *asm) { p := a.branch(); a.patch(p, p-8) }, "b @-8"},
		enc{func(a *asm) { p := a.bl(); a.patch(p, p+4096) }, "bl @+4096"},
		enc{func(a *asm) { p := a.bcond(condHS); a.patch(p, p+8) }, "b.cs @+8"},
		enc{func(a *asm) { p := a.bcond(condLE); a.patch(p, p+1048572) }, "b.le @+1048572"},
		enc{func(a *asm) { p := a.cbz(true, true, x3); a.patch(p, p+12) }, "cbnz x3, @+12"},
		enc{func(a *asm) { p := a.cbz(false, false, x15); a.patch(p, p-4) }, "cbz w15, @-4"},
		enc{func(a *asm) { p := a.adr(x10); a.patch(p, p+13) }, "adr x10, @+13"},
	)
	var a asm
	var want []string
	for _, c := range cases {
		if c.emit != nil {
			c.emit(&a)
		}
		want = append(want, c.want)
	}
	dis := jittest.Objdump(t, objdump, a.b, "-maarch64")
	var got []string
	var addrs []int
	for _, d := range dis {
		text := strings.Join(strings.Fields(d.Text), " ")
		if i := strings.Index(text, " <"); i >= 0 {
			text = text[:i] // the symbol of a branch target
		}
		if i := strings.Index(text, " //"); i >= 0 {
			text = text[:i] // objdump's comments (a movk's value)
		}
		got = append(got, text)
		addrs = append(addrs, d.Addr)
	}
	if len(got) != len(want) {
		t.Fatalf("objdump read %d instructions, want %d:\n%q", len(got), len(want), got)
	}
	for i := range want {
		w := want[i]
		if k := strings.Index(w, "@"); k >= 0 {
			// A branch target relative to the instruction.
			var rel int
			fmt.Sscanf(w[k+1:], "%d", &rel)
			w = fmt.Sprintf("%s0x%x", w[:k], addrs[i]+rel)
		}
		if got[i] != w {
			t.Errorf("instruction %d at %#x: objdump reads %q, want %q", i, addrs[i], got[i], w)
		}
	}
}
