// Package arm64 is the AArch64 backend of the JIT: it compiles eBPF to
// machine code that talks to Go through an abi.Context, as package amd64
// does for x86-64. It only produces bytes; package jit maps them
// executable, makes the instruction cache see them and runs them. The
// generator is plain Go and works on any host, so its output can be
// inspected and tested everywhere.
package arm64

import "encoding/binary"

// reg is an AArch64 general-purpose register, x0 to x30; 31 is xzr or sp
// depending on the instruction.
type reg uint8

const (
	x0  reg = 0
	x1  reg = 1
	x2  reg = 2
	x3  reg = 3
	x4  reg = 4
	x7  reg = 7
	x9  reg = 9
	x10 reg = 10
	x11 reg = 11
	x12 reg = 12
	x13 reg = 13
	x14 reg = 14
	x15 reg = 15
	x16 reg = 16
	x17 reg = 17
	x19 reg = 19
	x20 reg = 20
	x21 reg = 21
	x22 reg = 22
	x23 reg = 23
	x24 reg = 24
	x25 reg = 25
	x27 reg = 27
	x28 reg = 28
	x29 reg = 29
	x30 reg = 30
	xzr reg = 31 // in data-processing and load/store data operands
	sp  reg = 31 // as a base register, or in add/sub (immediate)
)

// Condition codes of b.cond.
const (
	condEQ = 0x0
	condNE = 0x1
	condHS = 0x2 // unsigned >=, no borrow
	condLO = 0x3 // unsigned <, borrow
	condHI = 0x8
	condLS = 0x9
	condGE = 0xa
	condLT = 0xb
	condGT = 0xc
	condLE = 0xd
)

// Data-processing (register) operations: the fixed bits of each, for
// sf = 0 (the 32-bit form); bit 31 selects 64 bits.
const (
	opADD  = 0x0b000000
	opSUB  = 0x4b000000
	opADDS = 0x2b000000
	opSUBS = 0x6b000000
	opAND  = 0x0a000000
	opORR  = 0x2a000000
	opEOR  = 0x4a000000
	opANDS = 0x6a000000
	opORN  = 0x2a200000
	opUDIV = 0x1ac00800
	opSDIV = 0x1ac00c00
	opLSLV = 0x1ac02000
	opLSRV = 0x1ac02400
	opASRV = 0x1ac02800
)

// Atomic memory operations of LSE (the opc field with o3).
const (
	lseADD = 0x0000
	lseCLR = 0x1000
	lseEOR = 0x2000
	lseSET = 0x3000
	lseSWP = 0x8000
)

// asm is an AArch64 instruction encoder appending to a byte slice.
type asm struct {
	b []byte
}

func (a *asm) emit(w uint32) { a.b = binary.LittleEndian.AppendUint32(a.b, w) }

func (a *asm) pos() int { return len(a.b) }

func sf(w bool) uint32 {
	if w {
		return 1 << 31
	}
	return 0
}

// rrr emits a three-register data-processing instruction: op Rd, Rn, Rm.
func (a *asm) rrr(op uint32, w bool, d, n, m reg) {
	a.emit(op | sf(w) | uint32(m&31)<<16 | uint32(n&31)<<5 | uint32(d&31))
}

// movRR copies src to dst (orr dst, xzr, src); 32 bits zero-extend.
func (a *asm) movRR(w bool, dst, src reg) { a.rrr(opORR, w, dst, xzr, src) }

// movSP copies between sp and a register (add dst, src, #0).
func (a *asm) movSP(dst, src reg) { a.addImm(true, dst, src, 0) }

// addImm emits add dst, src, #imm for 0 <= imm < 4096 (sp allowed).
func (a *asm) addImm(w bool, dst, src reg, imm uint32) {
	a.emit(0x11000000 | sf(w) | (imm&0xfff)<<10 | uint32(src&31)<<5 | uint32(dst&31))
}

// subImm emits sub dst, src, #imm for 0 <= imm < 4096 (sp allowed).
func (a *asm) subImm(w bool, dst, src reg, imm uint32) {
	a.emit(0x51000000 | sf(w) | (imm&0xfff)<<10 | uint32(src&31)<<5 | uint32(dst&31))
}

// subsImm emits subs dst, src, #imm for 0 <= imm < 4096: cmp when dst is
// xzr.
func (a *asm) subsImm(w bool, dst, src reg, imm uint32) {
	a.emit(0x71000000 | sf(w) | (imm&0xfff)<<10 | uint32(src&31)<<5 | uint32(dst&31))
}

// addsImm emits adds dst, src, #imm for 0 <= imm < 4096: cmn when dst is
// xzr.
func (a *asm) addsImm(w bool, dst, src reg, imm uint32) {
	a.emit(0x31000000 | sf(w) | (imm&0xfff)<<10 | uint32(src&31)<<5 | uint32(dst&31))
}

// cmp compares n with m (subs xzr, n, m).
func (a *asm) cmp(w bool, n, m reg) { a.rrr(opSUBS, w, xzr, n, m) }

// tst tests n & m (ands xzr, n, m).
func (a *asm) tst(w bool, n, m reg) { a.rrr(opANDS, w, xzr, n, m) }

// madd emits madd dst, n, m, acc (dst = acc + n*m); msub with sub.
func (a *asm) madd(w, sub bool, dst, n, m, acc reg) {
	op := uint32(0x1b000000)
	if sub {
		op |= 1 << 15
	}
	a.emit(op | sf(w) | uint32(m)<<16 | uint32(acc)<<10 | uint32(n)<<5 | uint32(dst))
}

// umulh sets dst to the high 64 bits of n*m.
func (a *asm) umulh(dst, n, m reg) {
	a.emit(0x9bc07c00 | uint32(m)<<16 | uint32(n)<<5 | uint32(dst))
}

// bfm emits ubfm (signed false) or sbfm dst, src, #immr, #imms.
func (a *asm) bfm(signed, w bool, dst, src reg, immr, imms uint32) {
	op := uint32(0x53000000)
	if signed {
		op = 0x13000000
	}
	if w {
		op |= 1<<31 | 1<<22 // sf and N
	}
	a.emit(op | immr<<16 | imms<<10 | uint32(src)<<5 | uint32(dst))
}

// Shift kinds of shiftImm.
const (
	shiftLSL = iota
	shiftLSR
	shiftASR
)

// shiftImm shifts src by n (0 < n < width) into dst.
func (a *asm) shiftImm(kind int, w bool, dst, src reg, n uint32) {
	width := uint32(32)
	if w {
		width = 64
	}
	switch kind {
	case shiftLSL:
		a.bfm(false, w, dst, src, (width-n)%width, width-1-n)
	case shiftLSR:
		a.bfm(false, w, dst, src, n, width-1)
	default:
		a.bfm(true, w, dst, src, n, width-1)
	}
}

// extend zero-extends (signed false) or sign-extends the low size bytes of
// src into dst: uxtb/uxth (32 bits) or sxtb/sxth/sxtw.
func (a *asm) extend(signed, w bool, size int, dst, src reg) {
	a.bfm(signed, w, dst, src, 0, uint32(8*size-1))
}

// rev reverses the bytes of src into dst: rev16 (size 2, in each
// halfword of the 32-bit register), rev w (4), rev x (8).
func (a *asm) rev(size int, dst, src reg) {
	op := uint32(0xdac00c00)
	switch size {
	case 2:
		op = 0x5ac00400
	case 4:
		op = 0x5ac00800
	}
	a.emit(op | uint32(src)<<5 | uint32(dst))
}

// movImm sets dst to v with the fewest movz/movn and movk.
func (a *asm) movImm(dst reg, v uint64) {
	if v>>32 == 0 {
		a.movImm32(dst, uint32(v))
		return
	}
	zeros, ones := 0, 0
	for i := 0; i < 4; i++ {
		switch uint16(v >> (16 * i)) {
		case 0:
			zeros++
		case 0xffff:
			ones++
		}
	}
	if ones > zeros {
		// movn, then movk the halfwords that are not 0xffff.
		first := true
		for i := 0; i < 4; i++ {
			h := uint16(v >> (16 * i))
			if h == 0xffff {
				continue
			}
			if first {
				a.emit(0x92800000 | uint32(i)<<21 | uint32(^h)<<5 | uint32(dst))
				first = false
			} else {
				a.emit(0xf2800000 | uint32(i)<<21 | uint32(h)<<5 | uint32(dst))
			}
		}
		if first {
			a.emit(0x92800000 | uint32(dst)) // movn dst, #0: all ones
		}
		return
	}
	first := true
	for i := 0; i < 4; i++ {
		h := uint16(v >> (16 * i))
		if h == 0 {
			continue
		}
		if first {
			a.emit(0xd2800000 | uint32(i)<<21 | uint32(h)<<5 | uint32(dst))
			first = false
		} else {
			a.emit(0xf2800000 | uint32(i)<<21 | uint32(h)<<5 | uint32(dst))
		}
	}
}

// movImm32 sets dst to v, zero-extended.
func (a *asm) movImm32(dst reg, v uint32) {
	lo, hi := uint16(v), uint16(v>>16)
	switch {
	case hi == 0:
		a.emit(0x52800000 | uint32(lo)<<5 | uint32(dst)) // movz w
	case lo == 0:
		a.emit(0x52800000 | 1<<21 | uint32(hi)<<5 | uint32(dst))
	case hi == 0xffff:
		a.emit(0x12800000 | uint32(^lo)<<5 | uint32(dst)) // movn w
	default:
		a.emit(0x52800000 | uint32(lo)<<5 | uint32(dst))
		a.emit(0x72800000 | 1<<21 | uint32(hi)<<5 | uint32(dst)) // movk w
	}
}

// sizeBits is the size field of loads and stores.
func sizeBits(size int) uint32 {
	switch size {
	case 1:
		return 0
	case 2:
		return 1
	case 4:
		return 2
	}
	return 3
}

// Load and store kinds (the opc field).
const (
	memStore  = 0 // str
	memLoad   = 1 // ldr, zero-extending
	memLoadSX = 2 // ldrs into 64 bits
)

// mem emits a load or store of size bytes between rt and [base+off],
// using scratch for an offset that fits no immediate form.
func (a *asm) mem(kind uint32, size int, rt, base reg, off int32, scratch reg) {
	sz := sizeBits(size)
	scale := int32(size)
	switch {
	case off >= 0 && off%scale == 0 && off/scale < 4096:
		a.emit(0x39000000 | sz<<30 | kind<<22 | uint32(off/scale)<<10 | uint32(base)<<5 | uint32(rt))
	case off >= -256 && off < 256:
		a.emit(0x38000000 | sz<<30 | kind<<22 | (uint32(off)&0x1ff)<<12 | uint32(base)<<5 | uint32(rt))
	default:
		a.movImm(scratch, uint64(int64(off)))
		a.emit(0x38206800 | sz<<30 | kind<<22 | uint32(scratch)<<16 | uint32(base)<<5 | uint32(rt))
	}
}

// load loads size bytes at [base+off] into dst, zero-extended.
func (a *asm) load(size int, dst, base reg, off int32, scratch reg) {
	a.mem(memLoad, size, dst, base, off, scratch)
}

// loadSX loads size bytes (1, 2 or 4) at [base+off] into dst,
// sign-extended to 64 bits.
func (a *asm) loadSX(size int, dst, base reg, off int32, scratch reg) {
	a.mem(memLoadSX, size, dst, base, off, scratch)
}

// store stores the low size bytes of src at [base+off].
func (a *asm) store(size int, base reg, off int32, src, scratch reg) {
	a.mem(memStore, size, src, base, off, scratch)
}

// pushPair stores a and b below sp, moving sp down 16 bytes
// (stp a, b, [sp, #-16]!).
func (a *asm) pushPair(r1, r2 reg) {
	a.emit(0xa9800000 | (0x7e)<<15 | uint32(r2)<<10 | uint32(sp)<<5 | uint32(r1))
}

// popPair loads a and b from sp, moving sp up 16 bytes
// (ldp a, b, [sp], #16).
func (a *asm) popPair(r1, r2 reg) {
	a.emit(0xa8c00000 | 2<<15 | uint32(r2)<<10 | uint32(sp)<<5 | uint32(r1))
}

// ldxr and friends: exclusive and ordered accesses, base register only.

// ldxr emits ldxr (acquire false) or ldaxr.
func (a *asm) ldxr(w, acquire bool, rt, base reg) {
	op := uint32(0x885f7c00)
	if acquire {
		op |= 1 << 15
	}
	if w {
		op |= 1 << 30
	}
	a.emit(op | uint32(base)<<5 | uint32(rt))
}

// stxr emits stxr (release false) or stlxr: status gets 0 on success.
func (a *asm) stxr(w, release bool, status, rt, base reg) {
	op := uint32(0x88007c00)
	if release {
		op |= 1 << 15
	}
	if w {
		op |= 1 << 30
	}
	a.emit(op | uint32(status)<<16 | uint32(base)<<5 | uint32(rt))
}

// ldar loads size bytes at [base] with acquire semantics, zero-extended.
func (a *asm) ldar(size int, rt, base reg) {
	a.emit(0x08dffc00 | sizeBits(size)<<30 | uint32(base)<<5 | uint32(rt))
}

// stlr stores the low size bytes of rt at [base] with release semantics.
func (a *asm) stlr(size int, rt, base reg) {
	a.emit(0x089ffc00 | sizeBits(size)<<30 | uint32(base)<<5 | uint32(rt))
}

// lse emits an LSE atomic: op (lseADD...) of rs into [base], the old
// value into rt; acquire-release when al.
func (a *asm) lse(op uint32, w, al bool, rs, rt, base reg) {
	ins := uint32(0xb8200000) | op
	if w {
		ins |= 1 << 30
	}
	if al {
		ins |= 1<<23 | 1<<22
	}
	a.emit(ins | uint32(rs)<<16 | uint32(base)<<5 | uint32(rt))
}

// casal compares rs with [base] and, if equal, stores rt there; rs gets
// the old value. Acquire-release.
func (a *asm) casal(w bool, rs, rt, base reg) {
	op := uint32(0x88e0fc00)
	if w {
		op |= 1 << 30
	}
	a.emit(op | uint32(rs)<<16 | uint32(base)<<5 | uint32(rt))
}

// dmbISH is a full barrier in the inner shareable domain.
func (a *asm) dmbISH() { a.emit(0xd5033bbf) }

// ret returns to x30.
func (a *asm) ret() { a.emit(0xd65f03c0) }

// br jumps to the address in r.
func (a *asm) br(r reg) { a.emit(0xd61f0000 | uint32(r)<<5) }

// branch emits an unconditional b to patch; it returns its position.
func (a *asm) branch() int { p := a.pos(); a.emit(0x14000000); return p }

// bl emits a branch with link to patch; it returns its position.
func (a *asm) bl() int { p := a.pos(); a.emit(0x94000000); return p }

// bcond emits b.cond to patch; it returns its position.
func (a *asm) bcond(cond uint32) int { p := a.pos(); a.emit(0x54000000 | cond); return p }

// cbz emits cbz (nz false) or cbnz on r to patch; it returns its position.
func (a *asm) cbz(w, nz bool, r reg) int {
	p := a.pos()
	op := uint32(0x34000000)
	if nz {
		op |= 1 << 24
	}
	a.emit(op | sf(w) | uint32(r))
	return p
}

// adr emits adr r to patch (an address near the code); it returns its
// position.
func (a *asm) adr(r reg) int { p := a.pos(); a.emit(0x10000000 | uint32(r)); return p }

// patch points the branch or adr at pos to target (both code offsets).
func (a *asm) patch(pos, target int) {
	w := binary.LittleEndian.Uint32(a.b[pos:])
	rel := target - pos
	switch {
	case w&0x7c000000 == 0x14000000: // b, bl
		w = w&0xfc000000 | uint32(rel/4)&0x3ffffff
	case w&0x9f000000 == 0x10000000: // adr
		w = w&0x9f00001f | (uint32(rel)&3)<<29 | (uint32(rel>>2)&0x7ffff)<<5
	default: // b.cond, cbz, cbnz: imm19
		w = w&0xff00001f | (uint32(rel/4)&0x7ffff)<<5
	}
	binary.LittleEndian.PutUint32(a.b[pos:], w)
}

// inReach19 reports whether a b.cond at pos reaches target.
func inReach19(pos, target int) bool {
	rel := (target - pos) / 4
	return rel >= -(1<<18) && rel < 1<<18
}
