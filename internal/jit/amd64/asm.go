// Package amd64 is the x86-64 backend of the JIT: it compiles eBPF to
// machine code that talks to Go through an abi.Context. It only produces
// bytes; package jit maps them executable and runs them. The generator is
// plain Go and works on any host, so its output can be inspected and tested
// everywhere.
package amd64

import "encoding/binary"

// reg is an x86-64 general-purpose register, numbered as in the encoding.
type reg uint8

const (
	rax reg = iota
	rcx
	rdx
	rbx
	rsp
	rbp
	rsi
	rdi
	r8
	r9
	r10
	r11
	r12
	r13
	r14
	r15
)

// Opcode extensions (the /digit of the ModRM reg field).
const (
	extAdd  = 0
	extOr   = 1
	extAnd  = 4
	extSub  = 5
	extXor  = 6
	extCmp  = 7
	extRol  = 0
	extRor  = 1
	extShl  = 4
	extShr  = 5
	extSar  = 7
	extNeg  = 3
	extDiv  = 6
	extIdiv = 7
)

// Condition codes, the low nibble of Jcc.
const (
	ccB  = 0x2
	ccAE = 0x3
	ccE  = 0x4
	ccNE = 0x5
	ccBE = 0x6
	ccA  = 0x7
	ccL  = 0xc
	ccGE = 0xd
	ccLE = 0xe
	ccG  = 0xf
)

// asm is an x86-64 instruction encoder appending to a byte slice.
type asm struct {
	b []byte
}

func (a *asm) emit(bs ...byte) { a.b = append(a.b, bs...) }

func (a *asm) imm32(v int32) { a.b = binary.LittleEndian.AppendUint32(a.b, uint32(v)) }

func (a *asm) pos() int { return len(a.b) }

// isByteReg reports whether r, as an 8-bit operand, needs a REX prefix to
// mean its low byte (spl, bpl, sil, dil) instead of ah, ch, dh, bh.
func isByteReg(r reg) bool { return r >= rsp && r <= rdi }

// rex emits the REX prefix for a 64-bit (w) operation whose ModRM reg field
// is r and whose rm or base is b, when one is needed. byteR and byteB say
// that r or b is an 8-bit operand.
func (a *asm) rex(w bool, r, b reg, byteR, byteB bool) {
	v := byte(0x40)
	if w {
		v |= 8
	}
	if r >= r8 {
		v |= 4
	}
	if b >= r8 {
		v |= 1
	}
	if v != 0x40 || (byteR && isByteReg(r)) || (byteB && isByteReg(b)) {
		a.emit(v)
	}
}

func modrmRR(r, b reg) byte { return 0xc0 | byte(r&7)<<3 | byte(b&7) }

// mem emits the ModRM (and SIB) and displacement of [base + disp] with r in
// the reg field.
func (a *asm) mem(r, base reg, disp int32) {
	var mod byte
	switch {
	case disp == 0 && base&7 != rbp:
		mod = 0
	case disp >= -128 && disp <= 127:
		mod = 1
	default:
		mod = 2
	}
	a.emit(mod<<6 | byte(r&7)<<3 | byte(base&7))
	if base&7 == rsp {
		a.emit(0x24)
	}
	switch mod {
	case 1:
		a.emit(byte(int8(disp)))
	case 2:
		a.imm32(disp)
	}
}

// aluRR is "op dst, src" in the "op r/m, r" form: add 0x01, or 0x09, and
// 0x21, sub 0x29, xor 0x31, cmp 0x39, test 0x85, mov 0x89.
func (a *asm) aluRR(op byte, w bool, dst, src reg) {
	a.rex(w, src, dst, false, false)
	a.emit(op, modrmRR(src, dst))
}

// aluRI is "op dst, imm" of the 0x81/0x83 group.
func (a *asm) aluRI(ext byte, w bool, dst reg, imm int32) {
	a.rex(w, 0, dst, false, false)
	if imm >= -128 && imm <= 127 {
		a.emit(0x83, modrmRR(reg(ext), dst), byte(int8(imm)))
		return
	}
	a.emit(0x81, modrmRR(reg(ext), dst))
	a.imm32(imm)
}

// testRI is "test dst, imm".
func (a *asm) testRI(w bool, dst reg, imm int32) {
	a.rex(w, 0, dst, false, false)
	a.emit(0xf7, modrmRR(0, dst))
	a.imm32(imm)
}

func (a *asm) movRR(w bool, dst, src reg) { a.aluRR(0x89, w, dst, src) }

// movImm sets dst to the 64-bit value v with the shortest encoding.
func (a *asm) movImm(dst reg, v uint64) {
	switch {
	case v == 0:
		a.aluRR(0x31, false, dst, dst) // xor r32, r32
	case v <= 0xffffffff:
		a.rex(false, 0, dst, false, false)
		a.emit(0xb8 + byte(dst&7))
		a.imm32(int32(uint32(v)))
	case int64(v) >= -1<<31 && int64(v) < 1<<31:
		a.rex(true, 0, dst, false, false)
		a.emit(0xc7, modrmRR(0, dst))
		a.imm32(int32(int64(v)))
	default:
		a.rex(true, 0, dst, false, false)
		a.emit(0xb8 + byte(dst&7))
		a.b = binary.LittleEndian.AppendUint64(a.b, v)
	}
}

// movImm64 sets dst to v with the 10-byte encoding, whatever v is, so that
// the constant can be patched.
func (a *asm) movImm64(dst reg, v uint64) {
	a.rex(true, 0, dst, false, false)
	a.emit(0xb8 + byte(dst&7))
	a.b = binary.LittleEndian.AppendUint64(a.b, v)
}

func (a *asm) imulRR(w bool, dst, src reg) {
	a.rex(w, dst, src, false, false)
	a.emit(0x0f, 0xaf, modrmRR(dst, src))
}

func (a *asm) imulRRI(w bool, dst, src reg, imm int32) {
	a.rex(w, dst, src, false, false)
	if imm >= -128 && imm <= 127 {
		a.emit(0x6b, modrmRR(dst, src), byte(int8(imm)))
		return
	}
	a.emit(0x69, modrmRR(dst, src))
	a.imm32(imm)
}

// shiftRI shifts dst by the constant n (not 0).
func (a *asm) shiftRI(ext byte, w bool, dst reg, n uint8) {
	a.rex(w, 0, dst, false, false)
	if n == 1 {
		a.emit(0xd1, modrmRR(reg(ext), dst))
		return
	}
	a.emit(0xc1, modrmRR(reg(ext), dst), n)
}

// shiftRCL shifts dst by cl.
func (a *asm) shiftRCL(ext byte, w bool, dst reg) {
	a.rex(w, 0, dst, false, false)
	a.emit(0xd3, modrmRR(reg(ext), dst))
}

// unary is the 0xf7 group: neg, div, idiv.
func (a *asm) unary(ext byte, w bool, dst reg) {
	a.rex(w, 0, dst, false, false)
	a.emit(0xf7, modrmRR(reg(ext), dst))
}

// load is a zero-extending load of size bytes at [base+off] into dst.
func (a *asm) load(size int, dst, base reg, off int32) {
	switch size {
	case 1:
		a.rex(false, dst, base, false, false)
		a.emit(0x0f, 0xb6)
	case 2:
		a.rex(false, dst, base, false, false)
		a.emit(0x0f, 0xb7)
	case 4:
		a.rex(false, dst, base, false, false)
		a.emit(0x8b)
	case 8:
		a.rex(true, dst, base, false, false)
		a.emit(0x8b)
	}
	a.mem(dst, base, off)
}

// loadSX is a sign-extending load of size bytes (1, 2 or 4) into dst.
func (a *asm) loadSX(size int, dst, base reg, off int32) {
	a.rex(true, dst, base, false, false)
	switch size {
	case 1:
		a.emit(0x0f, 0xbe)
	case 2:
		a.emit(0x0f, 0xbf)
	case 4:
		a.emit(0x63)
	}
	a.mem(dst, base, off)
}

// store writes the low size bytes of src at [base+off].
func (a *asm) store(size int, base reg, off int32, src reg) {
	switch size {
	case 1:
		a.rex(false, src, base, true, false)
		a.emit(0x88)
	case 2:
		a.emit(0x66)
		a.rex(false, src, base, false, false)
		a.emit(0x89)
	case 4:
		a.rex(false, src, base, false, false)
		a.emit(0x89)
	case 8:
		a.rex(true, src, base, false, false)
		a.emit(0x89)
	}
	a.mem(src, base, off)
}

// storeImm writes the low size bytes of imm (sign-extended for 8) at
// [base+off].
func (a *asm) storeImm(size int, base reg, off int32, imm int32) {
	switch size {
	case 1:
		a.rex(false, 0, base, false, false)
		a.emit(0xc6)
		a.mem(0, base, off)
		a.emit(byte(imm))
	case 2:
		a.emit(0x66)
		a.rex(false, 0, base, false, false)
		a.emit(0xc7)
		a.mem(0, base, off)
		a.b = binary.LittleEndian.AppendUint16(a.b, uint16(imm))
	case 4, 8:
		a.rex(size == 8, 0, base, false, false)
		a.emit(0xc7)
		a.mem(0, base, off)
		a.imm32(imm)
	}
}

// atomicRM is a memory-destination operation with src in the reg field:
// "lock add [m], r" (0x01), or (0x09), and (0x21), xor (0x31), xadd
// (0x0f 0xc1), cmpxchg (0x0f 0xb1), and xchg (0x87, locked by itself).
func (a *asm) atomicRM(lock bool, w bool, base reg, off int32, src reg, op ...byte) {
	if lock {
		a.emit(0xf0)
	}
	a.rex(w, src, base, false, false)
	a.emit(op...)
	a.mem(src, base, off)
}

// movzx16 is "movzx dst32, src16".
func (a *asm) movzx16(dst, src reg) {
	a.rex(false, dst, src, false, false)
	a.emit(0x0f, 0xb7, modrmRR(dst, src))
}

// movsx sign-extends the low size bytes (1, 2 or 4) of src into dst, as a
// 64-bit (w) or 32-bit result.
func (a *asm) movsx(size int, w bool, dst, src reg) {
	a.rex(w, dst, src, false, size == 1)
	switch size {
	case 1:
		a.emit(0x0f, 0xbe)
	case 2:
		a.emit(0x0f, 0xbf)
	case 4:
		a.emit(0x63)
	}
	a.emit(modrmRR(dst, src))
}

// ror16by8 swaps the two low bytes of r.
func (a *asm) ror16by8(r reg) {
	a.emit(0x66)
	a.rex(false, 0, r, false, false)
	a.emit(0xc1, modrmRR(extRor, r), 8)
}

func (a *asm) bswap(w bool, r reg) {
	a.rex(w, 0, r, false, false)
	a.emit(0x0f, 0xc8+byte(r&7))
}

func (a *asm) push(r reg) {
	if r >= r8 {
		a.emit(0x41)
	}
	a.emit(0x50 + byte(r&7))
}

func (a *asm) pop(r reg) {
	if r >= r8 {
		a.emit(0x41)
	}
	a.emit(0x58 + byte(r&7))
}

func (a *asm) ret() { a.emit(0xc3) }

// jmp emits "jmp rel32" and returns the position of its rel32.
func (a *asm) jmp() int {
	a.emit(0xe9)
	a.imm32(0)
	return a.pos() - 4
}

// jcc emits "jcc rel32" and returns the position of its rel32.
func (a *asm) jcc(cc byte) int {
	a.emit(0x0f, 0x80|cc)
	a.imm32(0)
	return a.pos() - 4
}

// call emits "call rel32" and returns the position of its rel32.
func (a *asm) call() int {
	a.emit(0xe8)
	a.imm32(0)
	return a.pos() - 4
}

// patch points the rel32 at pos to target.
func (a *asm) patch(pos, target int) {
	binary.LittleEndian.PutUint32(a.b[pos:], uint32(int32(target-(pos+4))))
}

// aluMI is "op qword [base+off], imm" of the 0x81/0x83 group.
func (a *asm) aluMI(ext byte, base reg, off int32, imm int32) {
	a.rex(true, 0, base, false, false)
	if imm >= -128 && imm <= 127 {
		a.emit(0x83)
		a.mem(reg(ext), base, off)
		a.emit(byte(int8(imm)))
		return
	}
	a.emit(0x81)
	a.mem(reg(ext), base, off)
	a.imm32(imm)
}

// aluRM is "op dst, qword [base+off]" in the "op r, r/m" form: add 0x03,
// sub 0x2b, cmp 0x3b.
func (a *asm) aluRM(op byte, dst, base reg, off int32) {
	a.rex(true, dst, base, false, false)
	a.emit(op)
	a.mem(dst, base, off)
}

// lea is "lea dst, [base+off]".
func (a *asm) lea(dst, base reg, off int32) {
	a.rex(true, dst, base, false, false)
	a.emit(0x8d)
	a.mem(dst, base, off)
}

// leaRIP is "lea dst, [rip+0]"; the caller patches the displacement, the
// last four bytes.
func (a *asm) leaRIP(dst reg) {
	a.rex(true, dst, 0, false, false)
	a.emit(0x8d, byte(dst&7)<<3|5)
	a.imm32(0)
}

// jmpReg is "jmp r".
func (a *asm) jmpReg(r reg) {
	a.rex(false, 0, r, false, false)
	a.emit(0xff, modrmRR(4, r))
}
