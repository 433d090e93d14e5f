package verifier

import (
	"fmt"
	"math"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/isa"
)

// step checks the instruction at insn on the current state and applies
// it. It returns the next instruction, or -1 when the path ends.
func (v *verifier) step(insn int) (int, *vErr) {
	ins := v.prog.insns[insn]
	if why, ok := v.p.Unresolved[insn]; ok {
		return -1, v.errf(-1, fmt.Sprintf("invalid func unknown#%d", kernel.CORESentinel), "%s", why)
	}
	switch ins.Class() {
	case isa.ClassALU, isa.ClassALU64:
		return insn + 1, v.checkALU(ins)
	case isa.ClassLDX:
		return insn + 1, v.checkLoad(ins)
	case isa.ClassST, isa.ClassSTX:
		if ins.IsLoadAcquire() || ins.IsStoreRelease() {
			return insn + 1, v.checkAcquireRelease(ins)
		}
		if ins.Mode() == isa.ModeATOMIC {
			return insn + 1, v.checkAtomic(ins)
		}
		return insn + 1, v.checkStore(ins)
	case isa.ClassLD:
		if ins.Mode() == isa.ModeIMM {
			return insn + 1, v.checkLdImm64(insn, ins)
		}
		return insn + 1, v.checkLdAbs(ins)
	case isa.ClassJMP, isa.ClassJMP32:
		switch ins.Op() {
		case isa.JumpA:
			v.jmps++
			return v.prog.target(insn), nil
		case isa.JumpExit:
			v.jmps++
			return v.checkExit(insn)
		case isa.JumpCall:
			v.jmps++
			return v.checkCall(insn, ins)
		case isa.JumpCond:
			v.jmps++
			return v.checkMayGoto(insn, ins)
		}
		v.jmps++
		return v.checkCondJump(insn, ins)
	}
	return -1, v.errf(-1, fmt.Sprintf("unknown opcode %02x", ins.Opcode), "unknown instruction")
}

func (v *verifier) regs() *[11]reg { return &v.cur.cur().regs }

// readReg returns a register the instruction reads, which must be
// initialised.
func (v *verifier) readReg(r isa.Register) (*reg, *vErr) {
	rg := &v.regs()[r]
	if rg.typ == regNotInit {
		return nil, v.errf(int(r), fmt.Sprintf("R%d !read_ok", r),
			"%s is read before anything was written to it on this path%s", regName(r), uninitHint(r))
	}
	return rg, nil
}

func uninitHint(r isa.Register) string {
	switch {
	case r == 0:
		return " (r0 holds the program's result: set it before exit; helper and function calls set it)"
	case r >= 1 && r <= 5:
		return " (r1-r5 are not kept across calls: a call clobbers them)"
	}
	return ""
}

func regName(r isa.Register) string { return "r" + itoa(int(r)) }

func (v *verifier) setReg(r isa.Register, val reg) { v.regs()[r] = val }

// markUnknown sets r to an unknown scalar made here.
func (v *verifier) markUnknown(r isa.Register) {
	v.setReg(r, unknownReg(v.insn))
}

var aluNames = map[uint8]string{
	isa.ALUAdd: "+=", isa.ALUSub: "-=", isa.ALUMul: "*=", isa.ALUDiv: "/=", isa.ALUOr: "|=",
	isa.ALUAnd: "&=", isa.ALULsh: "<<=", isa.ALURsh: ">>=", isa.ALUNeg: "neg", isa.ALUMod: "%=",
	isa.ALUXor: "^=", isa.ALUMov: "=", isa.ALUArsh: "s>>=", isa.ALUEnd: "endian",
}

func (v *verifier) checkALU(ins isa.Instruction) *vErr {
	alu32 := ins.Class() == isa.ClassALU
	op := ins.Op()
	dst := ins.Dst
	switch op {
	case isa.ALUNeg, isa.ALUEnd:
		d, err := v.readReg(dst)
		if err != nil {
			return err
		}
		if d.isPtr() {
			if !v.strict {
				// The pointer becomes a number.
				v.markUnknown(dst)
				return nil
			}
			what := "neg"
			if op == isa.ALUEnd {
				what = "byte swap"
			}
			return v.errf(int(dst), fmt.Sprintf("R%d pointer arithmetic prohibited", dst),
				"unprivileged programs may not apply %s to a pointer (%s)", what, v.typeWords(d))
		}
		var r scalar
		if op == isa.ALUNeg {
			r = negScalar(d.s, alu32)
		} else {
			size := int(ins.Imm) / 8
			swap := alu32 && ins.Source() == isa.SourceX || !alu32
			r = endScalar(d.s, size, swap)
			if !swap && alu32 && size == 8 {
				r = d.s
			}
		}
		v.setReg(dst, scalarReg(r, v.insn))
		return nil
	case isa.ALUMov:
		return v.checkMov(ins, alu32)
	}
	// Arithmetic.
	d, err := v.readReg(dst)
	if err != nil {
		return err
	}
	var src reg
	if ins.Source() == isa.SourceX {
		s, err := v.readReg(ins.Src)
		if err != nil {
			return err
		}
		src = *s
	} else {
		imm := uint64(int64(ins.Imm32()))
		if alu32 {
			imm = uint64(uint32(imm))
		}
		src = constReg(imm, v.insn)
		if (op == isa.ALUDiv || op == isa.ALUMod) && ins.Imm32() == 0 {
			return v.errf(-1, "div by zero", "division by the constant 0")
		}
		if op == isa.ALULsh || op == isa.ALURsh || op == isa.ALUArsh {
			width := int32(64)
			if alu32 {
				width = 32
			}
			if ins.Imm32() < 0 || ins.Imm32() >= width {
				return v.errf(-1, fmt.Sprintf("invalid shift %d", ins.Imm32()), "shift by %d: a %d-bit shift amount must be between 0 and %d", ins.Imm32(), width, width-1)
			}
		}
	}
	if d.isPtr() || src.isPtr() {
		res, err := v.ptrArith(ins, alu32, op, *d, src)
		if err != nil {
			return err
		}
		v.setReg(dst, res)
		return nil
	}
	return v.scalarArith(ins, alu32, op, d, &src)
}

// scalarArith applies an ALU operation to two scalars.
func (v *verifier) scalarArith(ins isa.Instruction, alu32 bool, op uint8, d, src *reg) *vErr {
	if (op == isa.ALUAnd || op == isa.ALUOr) && src.s.isConst() {
		if forked, err := v.forkSignMask(ins); forked || err != nil {
			return err
		}
	}
	res := aluScalar(op, d.s, src.s, alu32)
	out := scalarReg(res, v.insn)
	out.precise = d.precise
	if d.precise && ins.Source() == isa.SourceX {
		v.markPrecise(int(ins.Src))
	}
	// Keep the link between copies of a scalar when a constant is added
	// (r1 = r2; r1 += 4; a test of r2 then bounds r1 too), as the kernel.
	if d.id != 0 && (op == isa.ALUAdd || op == isa.ALUSub) && src.isConst() && d.flags&(flagAddConst|flagAddConst32) == 0 {
		val := int64(src.constVal())
		if alu32 {
			val = int64(int32(uint32(src.constVal())))
		}
		if val >= math.MinInt32 && val <= math.MaxInt32 && !(op == isa.ALUSub && val == math.MinInt32) {
			if op == isa.ALUSub {
				val = -val
			}
			out.id = d.id
			out.off = int32(val)
			if alu32 {
				out.flags |= flagAddConst32
			} else {
				out.flags |= flagAddConst
			}
		}
	}
	v.setReg(ins.Dst, out)
	return nil
}

// forkSignMask splits the path at an AND or OR with a constant whose
// destination is 0 or -1 (a sign mask, x s>> 63 or, in its low 32 bits,
// x s>> 31), as Linux's verifier does (maybe_fork_scalars): compilers turn
// "c ? K : 0" into (x s>> 31) & K, whose result the bounds can only
// approximate (0 to K), so that later tests of it go both ways. The
// current path goes on with the destination -1; a branch queued at this
// instruction runs it again with the destination 0. Each keeps the
// result exact. It returns true when the current path has no -1 case (its
// bounds exclude it) and ends here.
func (v *verifier) forkSignMask(ins isa.Instruction) (bool, *vErr) {
	d := &v.regs()[ins.Dst]
	var zero, ones scalar
	switch {
	case d.s.smin == -1 && d.s.smax == 0:
		zero, ones = constScalar(0), constScalar(math.MaxUint64)
	case d.s.s32min == -1 && d.s.s32max == 0:
		zero, ones = d.s.withLow32(0), d.s.withLow32(math.MaxUint32)
	default:
		return false, nil
	}
	if zero.valid() {
		other := v.pool.clone(v.cur)
		r := &other.cur().regs[ins.Dst]
		r.s, r.id, r.off = zero, 0, 0
		r.flags &^= flagAddConst | flagAddConst32
		other.addPath(fmt.Sprintf("insn %d: r%d is 0 or -1 (a sign mask): the path goes on with 0 here", v.insn, ins.Dst))
		if err := v.pushChecked(other, v.insn, v.insn); err != nil {
			return false, err
		}
	}
	if !ones.valid() {
		// Only 0 is possible: the queued branch has it.
		return true, nil
	}
	d.s, d.id, d.off = ones, 0, 0
	d.flags &^= flagAddConst | flagAddConst32
	v.cur.addPath(fmt.Sprintf("insn %d: r%d is 0 or -1 (a sign mask): the path goes on with -1 here", v.insn, ins.Dst))
	return false, nil
}

// checkMov handles mov and movsx.
func (v *verifier) checkMov(ins isa.Instruction, alu32 bool) *vErr {
	dst := ins.Dst
	if ins.Source() == isa.SourceK {
		imm := uint64(int64(ins.Imm32()))
		if alu32 {
			imm = uint64(uint32(imm))
		}
		v.setReg(dst, constReg(imm, v.insn))
		return nil
	}
	s, err := v.readReg(ins.Src)
	if err != nil {
		return err
	}
	src := s
	if ins.Offset != 0 {
		// movsx.
		if src.isPtr() {
			if v.strict {
				return v.errf(int(ins.Src), fmt.Sprintf("R%d sign-extension part of pointer", ins.Src), "sign-extending part of a pointer is not allowed")
			}
			v.markUnknown(dst)
			return nil
		}
		size := int(ins.Offset) / 8
		var r scalar
		if alu32 {
			r = src.s.sext32(size)
		} else {
			r = src.s.sext(size)
		}
		out := scalarReg(r, v.insn)
		out.precise = src.precise
		// movsx links the registers when the source is a number below
		// the narrow type's sign bit, which the extension leaves as it
		// is, in either ALU, as the kernel's check_alu_op (no_sext): its
		// unsigned maximum, not its signed range, so that a range with
		// negative numbers never links.
		if src.s.umax < 1<<(8*size-1) {
			v.idBeforeCopy(src)
			out.id, out.off, out.flags = src.id, src.off, src.flags
		}
		v.setReg(dst, out)
		return nil
	}
	if !alu32 {
		v.idBeforeCopy(src)
		c := *src
		v.setReg(dst, c)
		return nil
	}
	// mov32.
	if src.isPtr() {
		if v.strict {
			return v.errf(int(ins.Src), fmt.Sprintf("R%d partial copy of pointer", ins.Src), "copying the low 32 bits of a pointer (%s) is not allowed", v.typeWords(src))
		}
		v.markUnknown(dst)
		v.regs()[dst].s = v.regs()[dst].s.zext32()
		return nil
	}
	fits := src.s.umax <= math.MaxUint32
	if fits {
		v.idBeforeCopy(src)
	}
	out := *src
	out.s = src.s.zext32()
	out.origin = int32(v.insn)
	if !fits {
		out.id = 0
		out.off = 0
		out.flags = 0
	}
	v.setReg(dst, out)
	return nil
}

// ptrArith applies an ALU operation where an operand is a pointer, as the
// kernel's adjust_ptr_min_max_vals.
func (v *verifier) ptrArith(ins isa.Instruction, alu32 bool, op uint8, d, src reg) (reg, *vErr) {
	dst := ins.Dst
	opName := aluNames[op]
	if d.isPtr() && src.isPtr() {
		if op == isa.ALUSub && !v.strict && !alu32 {
			return unknownReg(v.insn), nil
		}
		if op == isa.ALUSub && !v.strict && alu32 {
			r := unknownReg(v.insn)
			r.s = r.s.zext32()
			return r, nil
		}
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d pointer %s pointer prohibited", dst, kernelOpName(op)),
			"%s of two pointers (%s and %s) is not allowed: only subtracting one pointer from another gives a number", opWord(op), v.typeWords(&d), v.typeWords(&src))
	}
	if alu32 {
		if op == isa.ALUSub && !v.strict {
			r := unknownReg(v.insn)
			r.s = r.s.zext32()
			return r, nil
		}
		p := &d
		if !d.isPtr() {
			p = &src
		}
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d 32-bit pointer arithmetic prohibited", dst),
			"32-bit arithmetic on a pointer (%s) is not allowed: use the 64-bit instruction", v.typeWords(p))
	}
	ptr, off := d, src
	ptrIsDst := true
	if !d.isPtr() {
		ptr, off = src, d
		ptrIsDst = false
	}
	if ptr.maybeNull() {
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d pointer arithmetic on %s prohibited, null-check it first", dst, v.kernelType(&ptr)),
			"arithmetic on %s, which may be NULL: test it against 0 first%s", v.typeWords(&ptr), v.originNote(&ptr))
	}
	if ins.Source() == isa.SourceX {
		if ptrIsDst {
			v.markPrecise(int(ins.Src))
		} else {
			v.markPrecise(int(dst))
		}
	}
	known := off.s.isConst()
	switch ptr.typ {
	case regCtx, regMapValue, regMapKey, regStack, regPacketMeta, regPacket, regMem, regFunc:
	case regMapPtr:
		if known && off.s.t.v == 0 && op == isa.ALUAdd {
			break
		}
		fallthrough
	default:
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d pointer arithmetic on %s prohibited", dst, v.kernelType(&ptr)),
			"arithmetic on %s is not allowed", v.typeWords(&ptr))
	}
	switch op {
	case isa.ALUAdd, isa.ALUSub:
	case isa.ALUAnd, isa.ALUOr, isa.ALUXor:
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d bitwise operator %s on pointer prohibited", dst, opName),
			"bitwise operation %s on a pointer (%s) is not allowed", opName, v.typeWords(&ptr))
	default:
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d pointer arithmetic with %s operator prohibited", dst, opName),
			"operation %s on a pointer (%s) is not allowed: only adding and subtracting numbers is", opName, v.typeWords(&ptr))
	}
	if op == isa.ALUSub && !ptrIsDst {
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d tried to subtract pointer from scalar", dst),
			"subtracting a pointer (%s) from a number is not allowed", v.typeWords(&ptr))
	}
	if op == isa.ALUSub && ptr.typ == regStack {
		return reg{}, v.errf(int(dst), fmt.Sprintf("R%d subtraction from stack pointer prohibited", dst),
			"subtracting from a stack pointer is not allowed: add a negative number instead")
	}
	// RawMemory: the start of the memory plus its length is its end.
	if v.raw && op == isa.ALUAdd && ptr.typ == regPacket && ptr.id == 0 && ptr.off == 0 && !ptr.hasVarOff() &&
		off.typ == regScalar && off.id == v.lenID && off.flags&(flagAddConst|flagAddConst32) == 0 {
		r := ptrReg(regPacketEnd, v.insn)
		return r, nil
	}
	if e := v.saneOffset(&off, ptr.typ, int(dst)); e != nil {
		return reg{}, e
	}
	if e := v.saneOffset(&ptr, ptr.typ, int(dst)); e != nil {
		return reg{}, e
	}
	res := ptr
	res.origin = int32(v.insn)
	c := int64(off.s.t.v)
	if known && op == isa.ALUAdd && int64(ptr.off)+c == int64(int32(int64(ptr.off)+c)) {
		res.off = ptr.off + int32(c)
	} else if known && op == isa.ALUSub && int64(ptr.off)-c == int64(int32(int64(ptr.off)-c)) {
		res.off = ptr.off - int32(c)
	} else {
		var s scalar
		if op == isa.ALUAdd {
			s = addScalar(ptr.s, off.s)
		} else {
			s = subScalar(ptr.s, off.s)
		}
		s.unbound32()
		s.sync()
		res.s = s
		if ptr.isPacketPtr() {
			res.id = v.newID()
			if op == isa.ALUAdd || off.s.smin < 0 {
				res.size = 0
			}
		}
	}
	if e := v.saneOffset(&res, ptr.typ, int(dst)); e != nil {
		return reg{}, e
	}
	if v.strict {
		if e := v.strictPtrBounds(&res, int(dst)); e != nil {
			return reg{}, e
		}
	}
	return res, nil
}

func opWord(op uint8) string {
	switch op {
	case isa.ALUAdd:
		return "adding"
	case isa.ALUSub:
		return "subtraction"
	case isa.ALUMul:
		return "multiplication"
	}
	return "arithmetic"
}

func kernelOpName(op uint8) string {
	names := map[uint8]string{isa.ALUAdd: "+=", isa.ALUSub: "-=", isa.ALUMul: "*=", isa.ALUDiv: "/=",
		isa.ALUOr: "|=", isa.ALUAnd: "&=", isa.ALULsh: "<<=", isa.ALURsh: ">>=", isa.ALUMod: "%=",
		isa.ALUXor: "^=", isa.ALUArsh: "s>>="}
	return names[op]
}

// saneOffset is the kernel's check_reg_sane_offset: offsets of pointers
// stay within ±2^29.
func (v *verifier) saneOffset(r *reg, ptrType regType, dst int) *vErr {
	tn := v.kernelTypeOf(ptrType)
	if r.typ == regScalar {
		if r.s.isConst() {
			val := int64(r.s.t.v)
			if val >= maxVarOff || val <= -maxVarOff {
				return v.errf(dst, fmt.Sprintf("math between %s pointer and %d is not allowed", tn, val),
					"adding %d to a pointer moves it too far (beyond ±2^29 bytes)", val)
			}
		}
		if r.s.smin == math.MinInt64 {
			return v.errf(dst, fmt.Sprintf("math between %s pointer and register with unbounded min value is not allowed", tn),
				"the number added to the pointer has no lower bound: it could move the pointer anywhere. Bound it first (if (x < N), or x &= MASK)")
		}
		if r.s.smin >= maxVarOff || r.s.smin <= -maxVarOff {
			return v.errf(dst, fmt.Sprintf("value %d makes %s pointer be out of bounds", r.s.smin, tn),
				"the number added to the pointer (at least %d) moves it too far", r.s.smin)
		}
		return nil
	}
	if r.off >= maxVarOff || r.off <= -maxVarOff {
		return v.errf(dst, fmt.Sprintf("%s pointer offset %d is not allowed", tn, r.off),
			"the pointer's offset %d is too far from where it points (beyond ±2^29 bytes)", r.off)
	}
	if r.s.smin == math.MinInt64 {
		return v.errf(dst, fmt.Sprintf("math between %s pointer and register with unbounded min value is not allowed", tn),
			"the pointer's variable offset has no lower bound")
	}
	if r.s.smin >= maxVarOff || r.s.smin <= -maxVarOff {
		return v.errf(dst, fmt.Sprintf("value %d makes %s pointer be out of bounds", r.s.smin, tn),
			"the pointer's variable offset (at least %d) is too far", r.s.smin)
	}
	return nil
}

// strictPtrBounds refuses, for unprivileged programs, pointer arithmetic
// that leaves the object (the kernel's sanitize_check_bounds).
func (v *verifier) strictPtrBounds(r *reg, dst int) *vErr {
	switch r.typ {
	case regStack:
		lo := int64(r.off) + r.s.smin
		hi := int64(r.off) + r.s.smax
		if r.hasVarOff() {
			return v.errf(dst, fmt.Sprintf("R%d variable stack access prohibited for !root, var_off=%s off=%d", dst, r.s.t, r.off),
				"unprivileged programs may not give a stack pointer a variable offset")
		}
		if lo < -stackSize || hi >= 0 && hi > 0 {
			return v.errf(dst, fmt.Sprintf("R%d stack pointer arithmetic goes out of range, prohibited for !root; off=%d", dst, r.off),
				"the stack pointer leaves the stack (offset %d), which unprivileged programs may not do", r.off)
		}
	case regMapValue:
		m := v.maps[r.aux]
		lo := int64(r.off) + r.s.smin
		hi := int64(r.off) + int64(r.s.umax)
		if lo < 0 || hi > int64(m.ValueSize) {
			return v.errf(dst, fmt.Sprintf("R%d pointer arithmetic of map value goes out of range, prohibited for !root", dst),
				"the pointer leaves the map value (offsets %d to %d of %d bytes), which unprivileged programs may not do", lo, hi, m.ValueSize)
		}
	}
	return nil
}

// checkLdImm64 handles lddw: a constant, a map, a map value or a function.
func (v *verifier) checkLdImm64(insn int, ins isa.Instruction) *vErr {
	switch uint8(ins.Src) {
	case isa.PseudoNone:
		v.setReg(ins.Dst, constReg(uint64(ins.Imm), insn))
	case isa.PseudoMapFD:
		r := ptrReg(regMapPtr, insn)
		r.aux = int32(uint32(ins.Imm))
		v.setReg(ins.Dst, r)
	case isa.PseudoMapValue:
		r := ptrReg(regMapValue, insn)
		r.aux = int32(uint32(ins.Imm))
		r.off = int32(uint32(uint64(ins.Imm) >> 32))
		v.setReg(ins.Dst, r)
	case isa.PseudoFunc:
		if v.strict {
			return v.errf(-1, "function pointers are allowed for CAP_BPF and CAP_SYS_ADMIN", "unprivileged programs may not take the address of a function")
		}
		r := ptrReg(regFunc, insn)
		r.aux = int32(v.prog.subOf[v.prog.target(insn)])
		v.setReg(ins.Dst, r)
	}
	return nil
}

// checkLdAbs handles the legacy packet loads.
func (v *verifier) checkLdAbs(ins isa.Instruction) *vErr {
	if !v.pt.LegacyPacketLoads {
		return v.errf(-1, "BPF_LD_[ABS|IND] instructions not allowed for this program type",
			"legacy packet loads (LD_ABS, LD_IND) exist only in socket filters and tc programs, not in %s programs", progTypeName(v.p.Type))
	}
	r6, err := v.readReg(isa.R6)
	if err != nil {
		return err
	}
	if len(v.cur.refs) > 0 {
		return v.errf(-1, "BPF_LD_[ABS|IND] would lead to reference leak",
			"a legacy packet load may end the program, and the %s acquired at instruction %d would never be released", v.cur.refs[0].kind, v.cur.refs[0].insn)
	}
	if v.cur.lock.held {
		return v.errf(-1, "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region",
			"a legacy packet load may end the program while it holds the bpf_spin_lock taken at instruction %d", v.cur.lock.insn)
	}
	if r6.typ != regCtx {
		return v.errf(6, "at the time of BPF_LD_ABS|IND R6 != pointer to skb",
			"legacy packet loads take the context from r6, and r6 holds %s", v.typeWords(r6))
	}
	if r6.off != 0 || r6.hasVarOff() {
		return v.errf(6, fmt.Sprintf("dereference of modified ctx ptr R6 off=%d disallowed", r6.off), "r6 must hold the context itself, not an offset into it")
	}
	if ins.Mode() == isa.ModeIND {
		if _, err := v.readReg(ins.Src); err != nil {
			return err
		}
	}
	regs := v.regs()
	for r := isa.R1; r <= isa.R5; r++ {
		regs[r] = reg{typ: regNotInit, aux: -1, origin: int32(v.insn)}
	}
	regs[0] = unknownReg(v.insn)
	return nil
}

// checkExit handles exit: from a function to its caller, or from the
// program.
func (v *verifier) checkExit(insn int) (int, *vErr) {
	st := v.cur
	f := st.cur()
	if len(st.frames) > 1 {
		return v.returnFromFunc(insn)
	}
	if st.lock.held {
		return -1, v.errf(-1, "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region",
			"the program ends holding the bpf_spin_lock taken at instruction %d: every path must call bpf_spin_unlock", st.lock.insn)
	}
	if len(st.refs) > 0 {
		r := st.refs[0]
		return -1, v.errf(-1, fmt.Sprintf("Unreleased reference id=%d alloc_insn=%d\nBPF_EXIT instruction in main prog would lead to reference leak", r.id, v.prog.slot[r.insn]),
			"the program ends without releasing the %s acquired at instruction %d%s: submit or discard it on every path", r.kind, r.insn, v.lineNote(r.insn))
	}
	r0, err := v.readReg(isa.R0)
	if err != nil {
		return -1, err
	}
	if k := f.subprog; k != 0 && r0.typ != regScalar {
		return -1, v.errf(0, fmt.Sprintf("At subprogram exit the register R0 is not a scalar value (%s)", v.kernelType(r0)),
			"the global function %s must return a number, and it returns %s", v.globals[k].Name, v.typeWords(r0))
	}
	if v.strict && r0.isPtr() {
		return -1, v.errf(0, "R0 leaks addr as return value", "unprivileged programs may not return a pointer (%s)", v.typeWords(r0))
	}
	if rg := v.ret; rg != nil && f.subprog == 0 {
		return -1, v.checkReturnRange(r0, rg)
	}
	return -1, nil
}

// checkReturnRange checks the program's return value against the range
// its type and attach type allow, as the kernel's check_return_code.
func (v *verifier) checkReturnRange(r0 *reg, rg *kernel.Range) *vErr {
	what := kernel.TypeName(v.p.Type) + " programs"
	if len(v.pt.Attach) > 0 {
		what = fmt.Sprintf("%s programs of attach type %s", v.pt.Name, attachWords(v.pt, v.p.AttachType))
	}
	if r0.typ != regScalar {
		return v.errf(0, fmt.Sprintf("At program exit the register R0 is not a known value (%s)", v.kernelType(r0)),
			"%s must return a number in [%d, %d], and this one returns %s", what, rg.Min, rg.Max, v.typeWords(r0))
	}
	v.markPrecise(0)
	if r0.s.smin < rg.Min || r0.s.smax > rg.Max {
		return v.errf(0, fmt.Sprintf("At program exit the register R0 has%s should have been in [%d, %d]", invalidScalarWords(r0.s), rg.Min, rg.Max),
			"%s must return a number in [%d, %d], and this one may return %s", what, rg.Min, rg.Max, v.valueWords(r0))
	}
	return nil
}

// invalidScalarWords is how the kernel's verbose_invalid_scalar shows a
// value out of range: its signed bounds, or "unknown scalar value".
func invalidScalarWords(s scalar) string {
	out := ""
	if s.smin > math.MinInt64 {
		out += fmt.Sprintf(" smin=%d", s.smin)
	}
	if s.smax < math.MaxInt64 {
		out += fmt.Sprintf(" smax=%d", s.smax)
	}
	if out == "" {
		out = " unknown scalar value"
	}
	return out
}

// attachWords names the attach type a of program type pt.
func attachWords(pt *kernel.ProgramType, a ebpf.AttachType) string {
	if a == 0 && !pt.NeedsAttach {
		a = pt.ZeroAttach
	}
	for _, at := range pt.Attach {
		if at.Type == a {
			return at.Name
		}
	}
	return a.String()
}

// regNotInitAt is an uninitialised register.
func notInit(origin int) reg { return reg{typ: regNotInit, aux: -1, origin: int32(origin)} }

var _ = notInit
