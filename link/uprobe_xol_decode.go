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
	off, len int // its offset in xolPlan.orig and its length
	rel      int // the offset in it of a rip-relative disp32, or -1
}

// planXOL decides whether the instructions at addr can run out of line:
// code holds the bytes at addr (at least 20 of them, or up to the end of
// the function), fn the whole function, which starts at fnAddr. The
// displaced instructions (whole ones, at least jmpLen bytes, inside the
// function) must not be jumps, calls, returns or traps, and no jump of
// the function may land inside them (after their first byte); a function
// with an indirect jump (a jump table, whose targets are unknown) is
// refused, and so is one that does not decode. The error says why.
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
		rel, err := movable(inst)
		if err != nil {
			return nil, fmt.Errorf("instruction at %#x (%v): %w", addr+uint64(n), inst, err)
		}
		p.insns = append(p.insns, xolInsn{off: n, len: inst.Len, rel: rel})
		n += inst.Len
	}
	p.orig = append([]byte(nil), code[:n]...)
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

// movable reports whether inst runs the same at another address (its
// rip-relative operand, if any, fixed up): it returns the offset of
// that operand's disp32 in the instruction, or -1.
func movable(inst x86asm.Inst) (int, error) {
	switch inst.Op {
	case x86asm.JMP, x86asm.LJMP, x86asm.CALL, x86asm.LCALL, x86asm.RET, x86asm.LRET,
		x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JCXZ, x86asm.JE, x86asm.JECXZ, x86asm.JG,
		x86asm.JGE, x86asm.JL, x86asm.JLE, x86asm.JNE, x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO,
		x86asm.JP, x86asm.JRCXZ, x86asm.JS, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE,
		x86asm.INT, x86asm.INTO, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.SYSCALL, x86asm.SYSENTER,
		x86asm.SYSEXIT, x86asm.SYSRET, x86asm.UD1, x86asm.UD2, x86asm.HLT, x86asm.XBEGIN, x86asm.XABORT:
		return -1, fmt.Errorf("%v changes the flow of control", inst.Op)
	}
	rel := -1
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Rel:
			return -1, fmt.Errorf("a relative branch")
		case x86asm.Mem:
			if a.Base == x86asm.RIP {
				if inst.PCRel != 4 || inst.PCRelOff <= 0 || inst.PCRelOff+4 > inst.Len {
					return -1, fmt.Errorf("a rip-relative operand without a disp32")
				}
				rel = inst.PCRelOff
			}
		}
	}
	if rel < 0 && inst.PCRel != 0 {
		return -1, fmt.Errorf("a pc-relative operand")
	}
	return rel, nil
}

// relocate returns the displaced instructions as they run at to: each
// rip-relative disp32 changed so that it reaches the same address.
func (p *xolPlan) relocate(to uint64) ([]byte, error) {
	out := append([]byte(nil), p.orig...)
	for _, in := range p.insns {
		if in.rel < 0 {
			continue
		}
		at := out[in.off+in.rel:]
		target := p.addr + uint64(in.off+in.len) + uint64(int64(int32(binary.LittleEndian.Uint32(at))))
		d := int64(target - (to + uint64(in.off+in.len)))
		if d < math.MinInt32 || d > math.MaxInt32 {
			return nil, fmt.Errorf("the rip-relative operand at %#x does not reach %#x from %#x", p.addr+uint64(in.off), target, to)
		}
		binary.LittleEndian.PutUint32(at, uint32(int32(d)))
	}
	return out, nil
}

// origRIP maps an address inside the moved instructions (at to) back to
// the original ones; ok is false when rip is not among them. The end of
// the moved instructions (the jmp back) maps to the instruction after
// the displaced ones.
func (p *xolPlan) origRIP(to, rip uint64) (uint64, bool) {
	if rip < to || rip > to+uint64(len(p.orig)) {
		return 0, false
	}
	return p.addr + (rip - to), true
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
