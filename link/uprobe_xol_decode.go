//go:build linux && amd64

package link

import (
	"encoding/binary"
	"fmt"
	"math"

	"golang.org/x/arch/x86/x86asm"
)

// Out-of-line execution of a probe's displaced instructions (see
// uprobe_xol_linux.go): which instructions can move, and how they move.

// jmpLen is the length of the jmp rel32 that replaces the displaced
// instructions.
const jmpLen = 5

// xolPlan is a probe site whose first instructions run out of line.
type xolPlan struct {
	addr  uint64    // the probed address
	orig  []byte    // the displaced instructions: whole ones, at least jmpLen bytes
	insns []xolInsn // each of them
}

// xolInsn is one displaced instruction.
type xolInsn struct {
	off, len int    // its offset in xolPlan.orig and its length
	rel      int    // the offset in it of a rip-relative disp32, or -1
	branch   []byte // a relative jmp or jcc: its opcode as moved (e9, or 0f 8x: rel32 forms)
	target   uint64 // the branch's target
}

// movedLen is the length of in as moved: a branch takes its rel32 form.
func (in xolInsn) movedLen() int {
	if in.branch != nil {
		return len(in.branch) + 4
	}
	return in.len
}

// planXOL decides whether the instructions at addr can run out of line:
// code holds the bytes at addr (at least 20 of them, or up to the end of
// the function), fn the whole function, which starts at fnAddr. The
// displaced instructions (whole ones, at least jmpLen bytes, inside the
// function) must not be calls, returns, traps or indirect jumps (a
// relative jmp or jcc moves: its rel32 form, to the same target), and no
// jump of the function may land inside them (after their first byte); a
// function with an indirect jump (a jump table, whose targets are
// unknown) is refused, and so is one that does not decode. The moved
// instructions, an int3 before them and a jmp back after them fit in a
// slot. The error says why.
func planXOL(code []byte, addr uint64, fn []byte, fnAddr uint64) (*xolPlan, error) {
	if len(fn) == 0 {
		return nil, fmt.Errorf("the function's size is unknown")
	}
	if addr < fnAddr || addr-fnAddr >= uint64(len(fn)) {
		return nil, fmt.Errorf("%#x is outside its function (%#x, %d bytes)", addr, fnAddr, len(fn))
	}
	end := fnAddr + uint64(len(fn))
	p := &xolPlan{addr: addr}
	n := 0
	for n < jmpLen {
		if addr+uint64(n) >= end || n >= len(code) {
			return nil, fmt.Errorf("the function ends %d bytes after %#x, before %d bytes of whole instructions", end-addr, addr, jmpLen)
		}
		inst, err := decodeInsn(code[n:])
		if err != nil {
			return nil, fmt.Errorf("instruction at %#x: %w", addr+uint64(n), err)
		}
		if addr+uint64(n+inst.Len) > end {
			return nil, fmt.Errorf("instruction at %#x runs past the function's end", addr+uint64(n))
		}
		in, err := movable(inst, code[n:])
		if err != nil {
			return nil, fmt.Errorf("instruction at %#x (%v): %w", addr+uint64(n), inst, err)
		}
		in.off = n
		if in.branch != nil {
			in.target = addr + uint64(n+inst.Len) + uint64(int64(inst.Args[0].(x86asm.Rel)))
		}
		p.insns = append(p.insns, in)
		n += inst.Len
	}
	p.orig = append([]byte(nil), code[:n]...)
	if m := p.movedLen(); 1+m+jmpLen > xolSlotSize {
		return nil, fmt.Errorf("the moved instructions (%d bytes) do not fit in a slot", m)
	}
	// No jump may land inside the displaced instructions.
	for off := 0; off < len(fn); {
		inst, err := decodeInsn(fn[off:])
		if err != nil {
			return nil, fmt.Errorf("the function does not decode at %#x: %w", fnAddr+uint64(off), err)
		}
		next := fnAddr + uint64(off+inst.Len)
		for _, a := range inst.Args {
			switch a := a.(type) {
			case x86asm.Rel:
				if to := next + uint64(int64(a)); to > addr && to < addr+uint64(n) {
					return nil, fmt.Errorf("the jump at %#x lands at %#x, inside the displaced instructions", fnAddr+uint64(off), to)
				}
			case x86asm.Reg, x86asm.Mem:
				if inst.Op == x86asm.JMP {
					return nil, fmt.Errorf("the function has an indirect jump at %#x (%v): its targets are unknown", fnAddr+uint64(off), inst)
				}
			}
		}
		off += inst.Len
	}
	return p, nil
}

// decodeInsn decodes the 64-bit instruction at the start of code.
// x86asm knows no endbr64 (nor endbr32), with which functions start when
// built for CET: it is a 4-byte no-op here. An instruction that x86asm
// does not know, or that code cuts short, is an error (x86asm returns it
// as a 1-byte instruction without an operation).
func decodeInsn(code []byte) (x86asm.Inst, error) {
	if len(code) >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && (code[3] == 0xfa || code[3] == 0xfb) {
		return x86asm.Inst{Op: x86asm.NOP, Mode: 64, Len: 4}, nil
	}
	inst, err := x86asm.Decode(code, 64)
	if err != nil {
		return inst, err
	}
	if inst.Op == 0 {
		return inst, fmt.Errorf("unknown or truncated instruction % x", code[:min(len(code), 15)])
	}
	return inst, nil
}

// movable reports whether inst (its bytes at the start of code) runs
// the same at another address: a rip-relative operand fixed up (rel is
// the offset of its disp32 in the instruction), a relative jmp or jcc
// turned into its rel32 form to the same target (branch is that form's
// opcode). Calls (their return address would be in the slot), returns,
// traps, indirect jumps and the rel8-only loops are refused.
func movable(inst x86asm.Inst, code []byte) (xolInsn, error) {
	in := xolInsn{len: inst.Len, rel: -1}
	switch inst.Op {
	case x86asm.JMP, x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JG,
		x86asm.JGE, x86asm.JL, x86asm.JLE, x86asm.JNE, x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO,
		x86asm.JP, x86asm.JS:
		if _, ok := inst.Args[0].(x86asm.Rel); !ok {
			return in, fmt.Errorf("an indirect jump")
		}
		// The opcode is the instruction's bytes before its displacement,
		// without prefixes: eb, e9 (jmp), 7x, 0f 8x (jcc).
		op := code[:inst.PCRelOff]
		switch {
		case len(op) == 1 && (op[0] == 0xeb || op[0] == 0xe9):
			in.branch = []byte{0xe9}
		case len(op) == 1 && op[0]&0xf0 == 0x70:
			in.branch = []byte{0x0f, 0x80 | op[0]&0x0f}
		case len(op) == 2 && op[0] == 0x0f && op[1]&0xf0 == 0x80:
			in.branch = []byte{0x0f, op[1]}
		default:
			return in, fmt.Errorf("a branch with prefixes (% x)", op)
		}
		return in, nil
	case x86asm.LJMP, x86asm.CALL, x86asm.LCALL, x86asm.RET, x86asm.LRET,
		x86asm.JCXZ, x86asm.JECXZ, x86asm.JRCXZ, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE,
		x86asm.INT, x86asm.INTO, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.SYSCALL, x86asm.SYSENTER,
		x86asm.SYSEXIT, x86asm.SYSRET, x86asm.UD1, x86asm.UD2, x86asm.HLT, x86asm.XBEGIN, x86asm.XABORT:
		return in, fmt.Errorf("%v changes the flow of control", inst.Op)
	}
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Rel:
			return in, fmt.Errorf("a relative branch")
		case x86asm.Mem:
			if a.Base == x86asm.RIP {
				if inst.PCRel != 4 || inst.PCRelOff <= 0 || inst.PCRelOff+4 > inst.Len {
					return in, fmt.Errorf("a rip-relative operand without a disp32")
				}
				in.rel = inst.PCRelOff
			}
		}
	}
	if in.rel < 0 && inst.PCRel != 0 {
		return in, fmt.Errorf("a pc-relative operand")
	}
	return in, nil
}

// movedLen is the length of the displaced instructions as moved.
func (p *xolPlan) movedLen() int {
	n := 0
	for _, in := range p.insns {
		n += in.movedLen()
	}
	return n
}

// relocate returns the displaced instructions as they run at to: each
// rip-relative disp32 changed so that it reaches the same address, each
// branch in its rel32 form to the same target.
func (p *xolPlan) relocate(to uint64) ([]byte, error) {
	var out []byte
	for _, in := range p.insns {
		at := to + uint64(len(out))
		if in.branch != nil {
			d := int64(in.target - (at + uint64(in.movedLen())))
			if d < math.MinInt32 || d > math.MaxInt32 {
				return nil, fmt.Errorf("the branch at %#x does not reach %#x from %#x", p.addr+uint64(in.off), in.target, at)
			}
			out = append(out, in.branch...)
			out = binary.LittleEndian.AppendUint32(out, uint32(int32(d)))
			continue
		}
		b := append([]byte(nil), p.orig[in.off:in.off+in.len]...)
		if in.rel >= 0 {
			disp := b[in.rel:]
			target := p.addr + uint64(in.off+in.len) + uint64(int64(int32(binary.LittleEndian.Uint32(disp))))
			d := int64(target - (at + uint64(in.len)))
			if d < math.MinInt32 || d > math.MaxInt32 {
				return nil, fmt.Errorf("the rip-relative operand at %#x does not reach %#x from %#x", p.addr+uint64(in.off), target, at)
			}
			binary.LittleEndian.PutUint32(disp, uint32(int32(d)))
		}
		out = append(out, b...)
	}
	return out, nil
}

// origRIP maps an instruction's start among the moved instructions (at
// to) back to the original one; ok is false when rip is not one. The
// end of the moved instructions (the jmp back) maps to the instruction
// after the displaced ones.
func (p *xolPlan) origRIP(to, rip uint64) (uint64, bool) {
	at := to
	for _, in := range p.insns {
		if rip == at {
			return p.addr + uint64(in.off), true
		}
		at += uint64(in.movedLen())
	}
	if rip == at {
		return p.addr + uint64(len(p.orig)), true
	}
	return 0, false
}

// jmpRel32 is a jmp from at to to.
func jmpRel32(at, to uint64) ([]byte, bool) {
	d := int64(to - (at + jmpLen))
	if d < math.MinInt32 || d > math.MaxInt32 {
		return nil, false
	}
	b := []byte{0xe9, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], uint32(int32(d)))
	return b, true
}

// branchInto looks in seg, a file's executable code (its first byte at
// offset base; offsets here are in that code's address space: a file's
// offsets within one segment), for a relative branch from outside the
// function [fnLo, fnHi) that lands inside the displaced instructions,
// (lo, hi): another entry into the middle of them, which the jmp over
// them would break (glibc's mempcpy jumps past memcpy's first
// instruction; gcc's cold parts jump back into their function). It finds
// every jmp, jcc or call rel32 (each byte is tried as an opcode: a false
// alarm only keeps a probe on an int3) and the jmp and jcc rel8 of the
// 256 bytes on each side of the function (decoded from there on). It
// returns the branch's offset.
func branchInto(seg []byte, base, fnLo, fnHi, lo, hi uint64) (uint64, bool) {
	inside := func(to uint64) bool { return to > lo && to < hi }
	for i := 0; i+5 <= len(seg); i++ {
		at := base + uint64(i)
		if at >= fnLo && at < fnHi {
			continue
		}
		switch {
		case seg[i] == 0xe8 || seg[i] == 0xe9:
			if inside(at + 5 + uint64(int64(int32(binary.LittleEndian.Uint32(seg[i+1:]))))) {
				return at, true
			}
		case seg[i] == 0x0f && i+6 <= len(seg) && seg[i+1]&0xf0 == 0x80:
			if inside(at + 6 + uint64(int64(int32(binary.LittleEndian.Uint32(seg[i+2:]))))) {
				return at, true
			}
		}
	}
	for _, w := range [][2]uint64{{fnLo - min(fnLo-base, 256), fnLo}, {fnHi, min(fnHi+256, base+uint64(len(seg)))}} {
		if fnLo < base || w[0] >= w[1] {
			continue
		}
		for at := w[0]; at < w[1]; {
			inst, err := x86asm.Decode(seg[at-base:], 64)
			if err != nil || inst.Len == 0 {
				at++
				continue
			}
			if r, ok := inst.Args[0].(x86asm.Rel); ok && inst.PCRel == 1 && inside(at+uint64(inst.Len)+uint64(int64(r))) {
				return at, true
			}
			at += uint64(inst.Len)
		}
	}
	return 0, false
}
