package amd64

import (
	"encoding/binary"
	"fmt"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/isa"
)

// Offsets of the Go registers saved in abi.Context.GoRegs, for the
// generated code (the other offsets are abi.Off*).
const (
	offGoSP  = abi.OffGoRegs // amd64's order: SP, BP, R14, R15
	offGoBP  = offGoSP + 8
	offGoR14 = offGoSP + 16
	offGoR15 = offGoSP + 24
)

// The registers of eBPF's r0 to r10, as the kernel's JIT maps them: r1 to
// r5 in the System V argument registers where they fit, r6 to r9 in
// callee-saved registers, r10 in rbp. Valid programs name no register above
// r10: the other entries only spare the compiler bounds checks.
var bpfRegs = [16]reg{rax, rdi, rsi, rdx, rcx, r8, rbx, r13, r14, r15, rbp}

const (
	ctxReg = r12 // the abi.Context
	tmp    = r11 // scratch; the exit argument of stubs
	aux    = r10 // scratch: saved rax in divisions and atomics
	// budget is, in verified code, abi.Context.Budget while the code
	// runs: no other code uses it between an entry or resume and the
	// next exit, which stores it back.
	budget = r9
	aux2   = r9 // scratch of checked code, which counts its budget in memory
)

// Helper IDs the compiler knows.
const (
	helperMapLookupElem     = 1
	helperGetSmpProcessorID = 8
	helperTailCall          = 12
	helperLoop              = 181
)

type compiler struct {
	asm
	in         abi.Input
	out        abi.Output
	exit       int // the exit stub
	epilogue   int // where the entry's function ends
	helperStub int
	emulStub   int
	ctxAccess  []bool // by instruction index
	fixups     []fixup
	long       []bool // by fixup: the jump must be long
	missed     []int  // fixups whose short form did not reach
	slot       int    // the slot being compiled, -1 in the stubs
	// lddw constants loaded into each register since the last jump
	// target, for inlining lookups of known maps: known[r] is valid when
	// knownValid[r].
	known      [11]uint64
	knownValid [11]bool
	targets    []bool  // slots that jumps or calls land on
	targetOf   []int32 // by slot: where its jump, call or function pointer goes
	// plan is what abi.NewPlan found; ctxAccess, targets, targetOf,
	// index, funcLen and mayGotos are its fields under shorter names.
	plan abi.Plan
	// Verified code's budget: the index of each slot's instruction, the
	// length of the function starting at each slot, and the exits of
	// charges that ran out, emitted after the program.
	index    []int32
	funcLen  []int32
	outOfLen []budgetExit
	// mayGotos: the program has may_goto (an inlined bpf_loop gives each
	// callback a count of its own).
	mayGotos bool
}

// budgetExit is the out-of-line exit of a charge of verified code's
// budget that ran out: at jump (a jcc or jmp rel32 to patch) from the
// instruction at slot; Go refills the budget, then the code goes on at
// the slot target, or at the code offset back if target is -1.
type budgetExit struct {
	jump, slot, target, back int
}

type fixup struct {
	pos   int // the rel32, or the rel8 if short
	slot  int // the target slot
	kind  fixKind
	short bool
}

type fixKind uint8

const (
	fixJmp fixKind = iota
	fixJcc
	fixCall
)

// shortForward is how many slots ahead a jump may go in its short form
// before the compiler knows where its target lands: a guess, checked when
// the jump is patched.
const shortForward = 6

// Compile compiles a program. Jumps to instructions take their short
// form when the target is near: backward ones when it is in reach, forward
// ones when it is at most shortForward slots away. Should a forward guess
// not reach, the program is compiled again with that jump long.
func Compile(in abi.Input) (*abi.Output, error) {
	var long []bool
	for {
		c, err := compile(in, long)
		if err != nil {
			return nil, err
		}
		if len(c.missed) == 0 {
			return &c.out, nil
		}
		if long == nil {
			long = make([]bool, len(c.fixups))
		}
		for _, k := range c.missed {
			long[k] = true
		}
	}
}

func compile(in abi.Input, long []bool) (*compiler, error) {
	p := abi.NewPlan(in)
	c := &compiler{in: in, long: long, slot: -1,
		ctxAccess: p.ContextAccess, targets: p.Targets, targetOf: p.TargetOf,
		index: p.Index, funcLen: p.FunctionLengths, mayGotos: p.MayGoto, plan: p}
	nslots := in.Instructions.SlotCount()
	c.b = in.Buffer[:0]
	if cap(c.b) < 512+nslots*24 {
		c.b = make([]byte, 0, 512+nslots*24)
	}
	c.out.Slots = make([]int32, nslots)
	c.stubs()
	blockLen := p.Blocks
	slot := 0
	for i, ins := range in.Instructions {
		if c.targets[slot] {
			c.forget()
		}
		c.out.Slots[slot] = int32(c.pos())
		c.slot = slot
		if in.Checked && blockLen[i] > 0 {
			c.countBudget(slot, blockLen[i])
		}
		if err := c.instruction(i, slot, ins); err != nil {
			return nil, fmt.Errorf("instruction %d (%s): %w", i, ins, err)
		}
		if ins.IsLdDW() {
			c.out.Slots[slot+1] = -1
		}
		slot += ins.Slots()
	}
	c.budgetExits()
	for k, f := range c.fixups {
		target := int(c.out.Slots[f.slot])
		if f.short {
			rel := target - (f.pos + 1)
			if rel < -128 || rel > 127 {
				c.missed = append(c.missed, k)
				continue
			}
			c.b[f.pos] = byte(int8(rel))
			continue
		}
		c.patch(f.pos, target)
	}
	c.out.Code = c.b
	return c, nil
}

// jumpToSlot emits a jump to the code of slot: an unconditional jump
// (fixJmp), a conditional one with cc (fixJcc) or a call (fixCall).
func (c *compiler) jumpToSlot(kind fixKind, cc byte, slot int) {
	k := len(c.fixups)
	short := false
	switch {
	case kind == fixCall || c.slot < 0 || k < len(c.long) && c.long[k]:
	case slot <= c.slot:
		short = c.out.Slots[slot]-int32(c.pos()+2) >= -128
	default:
		short = slot-c.slot <= shortForward
	}
	if short {
		if kind == fixJmp {
			c.emit(0xeb, 0)
		} else {
			c.emit(0x70|cc, 0)
		}
		c.fixups = append(c.fixups, fixup{pos: c.pos() - 1, slot: slot, kind: kind, short: true})
		return
	}
	var pos int
	switch kind {
	case fixJmp:
		pos = c.jmp()
	case fixJcc:
		pos = c.jcc(cc)
	default:
		pos = c.call()
	}
	c.fixups = append(c.fixups, fixup{pos: pos, slot: slot, kind: kind})
}

// forget drops what the compiler knows of register contents.
func (c *compiler) forget() { c.knownValid = [11]bool{} }

func regOff(i int) int32 { return abi.OffRegs + int32(8*i) }

// stubs emits the code shared by the program's instructions: the entry,
// the exit to Go and the helper and emulation exits with their resumes.
func (c *compiler) stubs() {
	// Entry: Repeat times, r1-r5 from Args, r10 = StackTop, call Target;
	// return r0.
	c.out.Entry = c.pos()
	for i := 1; i <= 5; i++ {
		c.load(8, bpfRegs[i], ctxReg, abi.OffArgs+int32(8*(i-1)))
	}
	c.load(8, rbp, ctxReg, abi.OffStackTop)
	for _, r := range []reg{rax, rbx, r13, r14, r15} {
		c.movImm(r, 0) // as the interpreter starts
	}
	c.load(8, tmp, ctxReg, abi.OffTailCallsAtEntry)
	c.store(8, ctxReg, abi.OffTailCalls, tmp)
	c.mayGotoEntry()
	if !c.in.Checked {
		c.load(8, budget, ctxReg, abi.OffBudgetAtEntry) // Go sets checked code's
	}
	// Jump, not call: an exit in the frame at StackTop comes back to the
	// epilogue with a jump, so that no call is pending while the program
	// runs and its exits to Go return where the processor predicts.
	c.rex(false, 0, ctxReg, false, false)
	c.emit(0xff)
	c.mem(4, ctxReg, abi.OffTarget) // jmp [r12+Target]
	c.epilogue = c.pos()
	c.aluMI(extSub, ctxReg, abi.OffRepeat, 1)
	c.patch(c.jcc(ccNE), c.out.Entry)
	c.store(8, ctxReg, abi.OffRet, rax)
	c.saveBudget()
	c.storeImm(8, ctxReg, abi.OffExitCode, abi.ExitDone)
	// Exit: back on Go's stack, with Go's registers, return from the
	// trampoline.
	c.exit = c.pos()
	c.load(8, rsp, ctxReg, offGoSP)
	c.load(8, rbp, ctxReg, offGoBP)
	c.load(8, r14, ctxReg, offGoR14)
	c.load(8, r15, ctxReg, offGoR15)
	c.ret()

	// Helper exit: tmp = the exit argument, aux = where to resume. Call
	// sites jump here rather than call, so that the return to Go stays
	// the one the processor predicts.
	c.helperStub = c.pos()
	for i := 1; i <= 10; i++ {
		c.store(8, ctxReg, regOff(i), bpfRegs[i])
	}
	c.saveBudget()
	c.store(8, ctxReg, abi.OffResume, aux)
	c.load(8, aux, ctxReg, abi.OffCallArgs)
	for i := 1; i <= 5; i++ {
		c.store(8, aux, int32(8*(i-1)), bpfRegs[i])
	}
	c.store(8, ctxReg, abi.OffExitArg, tmp)
	c.storeImm(8, ctxReg, abi.OffExitCode, abi.ExitHelper)
	c.store(8, ctxReg, abi.OffNativeSP, rsp)
	c.jumpTo(c.exit)

	// r1 to r10 as they were (r1 to r5 too, as in the interpreter; the
	// verifier lets no program read them), r0 the helper's result.
	c.out.HelperResume = c.pos()
	for i := 1; i <= 10; i++ {
		c.load(8, bpfRegs[i], ctxReg, regOff(i))
	}
	c.load(8, rax, ctxReg, abi.OffRet)
	c.loadBudget()
	c.rex(false, 0, ctxReg, false, false)
	c.emit(0xff)
	c.mem(4, ctxReg, abi.OffResume) // jmp [r12+Resume]

	// Tail call: the frame of the helper exit continues in this program,
	// with r1 and r6 to r10 as they were and r0, r2-r5 zero.
	c.out.TailEntry = c.pos()
	for _, i := range []int{1, 6, 7, 8, 9, 10} {
		c.load(8, bpfRegs[i], ctxReg, regOff(i))
	}
	c.loadBudget()
	for _, r := range []reg{rax, rsi, rdx, rcx, r8} {
		c.movImm(r, 0)
	}
	c.jumpToSlot(fixJmp, 0, 0)

	// Emulation exit: every register to Regs, tmp the exit argument and
	// aux the exit code.
	c.emulStub = c.pos()
	for i, r := range bpfRegs[:11] {
		c.store(8, ctxReg, regOff(i), r)
	}
	c.saveBudget()
	c.store(8, ctxReg, abi.OffExitArg, tmp)
	c.store(8, ctxReg, abi.OffExitCode, aux)
	c.store(8, ctxReg, abi.OffNativeSP, rsp)
	c.jumpTo(c.exit)

	c.out.EmulateResume = c.pos()
	for i, r := range bpfRegs[:11] {
		c.load(8, r, ctxReg, regOff(i))
	}
	c.loadBudget()
	c.ret()
}

// saveBudget stores verified code's budget register into the Context.
func (c *compiler) saveBudget() {
	if !c.in.Checked {
		c.store(8, ctxReg, abi.OffBudget, budget)
	}
}

// loadBudget reloads verified code's budget register from the Context.
func (c *compiler) loadBudget() {
	if !c.in.Checked {
		c.load(8, budget, ctxReg, abi.OffBudget)
	}
}

// jumpTo emits a jump to an offset already emitted.
func (c *compiler) jumpTo(target int) { c.patch(c.jmp(), target) }

// callTo emits a call to an offset already emitted.
func (c *compiler) callTo(target int) { c.patch(c.call(), target) }

// emulate has Go carry out the instruction at slot.
func (c *compiler) emulate(slot int) {
	c.exitWith(abi.ExitEmulate, slot)
	c.forget()
}

// exitWith exits through the emulation stub with an exit code.
func (c *compiler) exitWith(code uint64, slot int) {
	c.movImm64(tmp, uint64(c.in.ID)<<32|uint64(slot))
	c.movImm(aux, code)
	c.callTo(c.emulStub)
}

// countBudget takes n instructions from the budget, exiting to Go when it
// runs out.
func (c *compiler) countBudget(slot, n int) {
	c.aluMI(extSub, ctxReg, abi.OffBudget, int32(n))
	ok := c.jcc(ccAE)
	c.exitWith(abi.ExitBudget, slot)
	c.patch(ok, c.pos())
}

// checked compiles a load or store of size bytes at [base+off] in checked
// code: access runs with the address in tmp if it is inside a window; Go
// carries the instruction out otherwise.
func (c *compiler) checked(slot int, base reg, off int32, size int, write bool, access func()) {
	c.lea(tmp, base, off)
	lenOff := abi.OffWindowLoadLen
	if write {
		lenOff = abi.OffWindowStoreLen
	}
	var ok []int
	for w := int32(0); w < 2; w++ {
		win := abi.OffWindows + w*abi.WindowSize
		c.movRR(true, aux, tmp)
		c.aluRM(0x2b, aux, ctxReg, win+abi.OffWindowLo) // aux = addr - lo
		c.aluRM(0x3b, aux, ctxReg, win+lenOff)          // off < len?
		next := c.jcc(ccAE)
		c.load(8, aux2, ctxReg, win+lenOff)
		c.aluRR(0x29, true, aux2, aux) // len - off >= size?
		c.aluRI(extCmp, true, aux2, int32(size))
		ok = append(ok, c.jcc(ccAE))
		c.patch(next, c.pos())
	}
	c.emulate(slot)
	done := c.jmp()
	for _, p := range ok {
		c.patch(p, c.pos())
	}
	access()
	c.patch(done, c.pos())
}

// stackWindow points window 0 at the frames up to rbp's.
func (c *compiler) stackWindow() {
	c.lea(tmp, rbp, -abi.StackSize)
	c.store(8, ctxReg, abi.OffWindows+abi.OffWindowLo, tmp)
	c.load(8, aux, ctxReg, abi.OffFrameTop)
	c.aluRR(0x29, true, aux, tmp)
	c.store(8, ctxReg, abi.OffWindows+abi.OffWindowLoadLen, aux)
	c.store(8, ctxReg, abi.OffWindows+abi.OffWindowStoreLen, aux)
}

func (c *compiler) instruction(i, slot int, ins isa.Instruction) error {
	dst, src := bpfRegs[ins.Dst&15], bpfRegs[ins.Src&15]
	switch ins.Class() {
	case isa.ClassALU, isa.ClassALU64, isa.ClassLD, isa.ClassLDX:
		if int(ins.Dst) < len(c.knownValid) {
			c.knownValid[ins.Dst] = false
		}
	}
	switch ins.Class() {
	case isa.ClassALU, isa.ClassALU64:
		return c.alu(ins, dst, src)
	case isa.ClassJMP, isa.ClassJMP32:
		return c.jump(slot, ins, dst, src)
	case isa.ClassLD:
		switch ins.Mode() {
		case isa.ModeIMM:
			v, err := c.plan.Immediate(slot, ins)
			if err != nil {
				return err
			}
			c.movImm(dst, v)
			c.known[ins.Dst], c.knownValid[ins.Dst] = v, true
			return nil
		case isa.ModeABS, isa.ModeIND:
			// Legacy packet loads read the packet of the run, which Go
			// knows; they are rare, and Go carries them out.
			c.emulate(slot)
			return nil
		}
	case isa.ClassLDX:
		size := ins.Size().Bytes()
		if c.ctxAccess[i] {
			return c.contextAccess(slot, ins, size, false)
		}
		if c.in.Checked {
			c.checked(slot, src, int32(ins.Offset), size, false, func() {
				if ins.Mode() == isa.ModeMEMSX {
					c.loadSX(size, dst, tmp, 0)
				} else {
					c.load(size, dst, tmp, 0)
				}
			})
			return nil
		}
		if ins.Mode() == isa.ModeMEMSX {
			c.loadSX(size, dst, src, int32(ins.Offset))
		} else {
			c.load(size, dst, src, int32(ins.Offset))
		}
		return nil
	case isa.ClassST, isa.ClassSTX:
		if ins.Mode() == isa.ModeATOMIC {
			c.forget()
			if c.in.Checked {
				c.emulate(slot)
				return nil
			}
			return c.atomic(ins, dst, src)
		}
		size := ins.Size().Bytes()
		if c.ctxAccess[i] {
			return c.contextAccess(slot, ins, size, true)
		}
		if c.in.Checked {
			c.checked(slot, dst, int32(ins.Offset), size, true, func() {
				if ins.Class() == isa.ClassST {
					c.storeImm(size, tmp, 0, int32(ins.Imm))
				} else {
					c.store(size, tmp, 0, src)
				}
			})
			return nil
		}
		if ins.Class() == isa.ClassST {
			c.storeImm(size, dst, int32(ins.Offset), int32(ins.Imm))
		} else {
			c.store(size, dst, int32(ins.Offset), src)
		}
		return nil
	}
	return fmt.Errorf("opcode %#02x is not supported by the x86-64 compiler", ins.Opcode)
}

func (c *compiler) contextAccess(slot int, ins isa.Instruction, size int, write bool) error {
	if c.in.Context == nil {
		c.emulate(slot)
		return nil
	}
	ca := c.in.Context(ins.Offset, size, write)
	switch ca.Kind {
	case abi.ContextMemory:
		dst, src := bpfRegs[ins.Dst&15], bpfRegs[ins.Src&15]
		switch {
		case !write && ins.Mode() == isa.ModeMEMSX:
			c.loadSX(size, dst, src, int32(ins.Offset))
		case !write:
			c.load(size, dst, src, int32(ins.Offset))
		case ins.Class() == isa.ClassST:
			c.storeImm(size, dst, int32(ins.Offset), int32(ins.Imm))
		default:
			c.store(size, dst, int32(ins.Offset), src)
		}
	case abi.ContextMirror:
		if write || ins.Mode() == isa.ModeMEMSX {
			c.emulate(slot)
			return nil
		}
		c.load(ca.Size, bpfRegs[ins.Dst&15], bpfRegs[ins.Src&15], ca.Off)
	default:
		c.emulate(slot)
	}
	return nil
}

func (c *compiler) alu(ins isa.Instruction, dst, src reg) error {
	w := ins.Class() == isa.ClassALU64
	x := ins.Source() == isa.SourceX
	imm := int32(ins.Imm)
	switch op := ins.Op(); op {
	case isa.ALUAdd, isa.ALUSub, isa.ALUOr, isa.ALUAnd, isa.ALUXor:
		rr, ext := aluOps(op)
		if x {
			c.aluRR(rr, w, dst, src)
		} else {
			c.aluRI(ext, w, dst, imm)
		}
	case isa.ALUMul:
		if x {
			c.imulRR(w, dst, src)
		} else {
			c.imulRRI(w, dst, dst, imm)
		}
	case isa.ALUDiv, isa.ALUMod:
		c.divide(ins, w, x, dst, src)
	case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
		ext := byte(extSar)
		switch op {
		case isa.ALULsh:
			ext = extShl
		case isa.ALURsh:
			ext = extShr
		}
		if !x {
			n := uint8(imm) & 31
			if w {
				n = uint8(imm) & 63
			}
			if n == 0 {
				if !w {
					c.movRR(false, dst, dst)
				}
				return nil
			}
			c.shiftRI(ext, w, dst, n)
			return nil
		}
		c.shiftByReg(ext, w, dst, src)
	case isa.ALUNeg:
		c.unary(extNeg, w, dst)
	case isa.ALUMov:
		switch {
		case ins.Offset != 0 && x:
			c.movsx(int(ins.Offset)/8, w, dst, src)
		case ins.Offset != 0:
			return fmt.Errorf("movsx with an immediate")
		case x:
			c.movRR(w, dst, src)
		case w:
			c.movImm(dst, uint64(int64(imm)))
		default:
			c.movImm(dst, uint64(uint32(imm)))
		}
	case isa.ALUEnd:
		// ALU64 END is bswap; ALU END converts to little endian (K),
		// nothing to do on x86 but truncating, or to big endian (X).
		swap := w || x
		switch ins.Imm {
		case 16:
			if swap {
				c.ror16by8(dst)
			}
			c.movzx16(dst, dst)
		case 32:
			if swap {
				c.bswap(false, dst)
			} else {
				c.movRR(false, dst, dst)
			}
		case 64:
			if swap {
				c.bswap(true, dst)
			}
		}
	default:
		return fmt.Errorf("ALU operation %#02x is not supported by the x86-64 compiler", op)
	}
	return nil
}

// shiftByReg shifts dst by src, which x86 needs in cl (r4's rcx).
func (c *compiler) shiftByReg(ext byte, w bool, dst, src reg) {
	switch {
	case src == rcx:
		c.shiftRCL(ext, w, dst)
	case dst == rcx:
		c.movRR(true, tmp, rcx)
		c.movRR(true, rcx, src)
		c.shiftRCL(ext, w, tmp)
		c.movRR(true, rcx, tmp)
	default:
		c.movRR(true, tmp, rcx)
		c.movRR(true, rcx, src)
		c.shiftRCL(ext, w, dst)
		c.movRR(true, rcx, tmp)
	}
	if !w {
		// A 32-bit shift by 0 leaves the register as it was; eBPF
		// zero-extends the result.
		c.movRR(false, dst, dst)
	}
}

// divide compiles div, mod, sdiv and smod with eBPF's rules: division by
// zero gives 0, modulo by zero leaves dst (truncated to 32 bits in ALU),
// and the signed overflow of MIN / -1 wraps instead of trapping.
func (c *compiler) divide(ins isa.Instruction, w, x bool, dst, src reg) {
	mod := ins.Op() == isa.ALUMod
	signed := ins.Offset == 1
	imm := int32(ins.Imm)
	if !x {
		switch {
		case imm == 0:
			switch {
			case !mod:
				c.movImm(dst, 0)
			case !w:
				c.movRR(false, dst, dst)
			}
			return
		case signed && imm == -1:
			if mod {
				c.movImm(dst, 0)
			} else {
				c.unary(extNeg, w, dst)
			}
			return
		}
	}
	// The divisor in tmp.
	if x {
		c.movRR(true, tmp, src)
	} else if w {
		c.movImm(tmp, uint64(int64(imm)))
	} else {
		c.movImm(tmp, uint64(uint32(imm)))
	}
	var zero, minus1 int = -1, -1
	if x {
		c.aluRR(0x85, w, tmp, tmp)
		zero = c.jcc(ccE)
		if signed {
			c.aluRI(extCmp, w, tmp, -1)
			minus1 = c.jcc(ccE)
		}
	}
	c.movRR(true, aux, rax)
	c.push(rdx) // r9 may hold the budget: rdx waits on the stack
	c.movRR(true, rax, dst)
	switch {
	case signed && w:
		c.emit(0x48, 0x99) // cqo
	case signed:
		c.emit(0x99) // cdq
	default:
		c.movImm(rdx, 0)
	}
	if signed {
		c.unary(extIdiv, w, tmp)
	} else {
		c.unary(extDiv, w, tmp)
	}
	if mod {
		c.movRR(w, tmp, rdx)
	} else {
		c.movRR(w, tmp, rax)
	}
	c.movRR(true, rax, aux)
	c.pop(rdx)
	c.movRR(true, dst, tmp)
	if !x {
		return
	}
	done := c.jmp()
	c.patch(zero, c.pos())
	switch {
	case !mod:
		c.movImm(dst, 0)
	case !w:
		c.movRR(false, dst, dst)
	}
	if minus1 >= 0 {
		d2 := c.jmp()
		c.patch(minus1, c.pos())
		if mod {
			c.movImm(dst, 0)
		} else {
			c.unary(extNeg, w, dst)
		}
		c.patch(d2, c.pos())
	}
	c.patch(done, c.pos())
}

func (c *compiler) atomic(ins isa.Instruction, dst, src reg) error {
	w := ins.Size() == isa.SizeDW
	off := int32(ins.Offset)
	switch int32(ins.Imm) {
	case isa.AtomicLoadAcquire, isa.AtomicStoreRelease:
		return c.acquireRelease(ins, dst, src)
	case isa.AtomicAdd:
		c.atomicRM(true, w, dst, off, src, 0x01)
	case isa.AtomicOr:
		c.atomicRM(true, w, dst, off, src, 0x09)
	case isa.AtomicAnd:
		c.atomicRM(true, w, dst, off, src, 0x21)
	case isa.AtomicXor:
		c.atomicRM(true, w, dst, off, src, 0x31)
	case isa.AtomicAdd | isa.AtomicFetch:
		c.atomicRM(true, w, dst, off, src, 0x0f, 0xc1)
	case isa.AtomicXchg:
		c.atomicRM(false, w, dst, off, src, 0x87)
	case isa.AtomicCmpXchg:
		c.atomicRM(true, w, dst, off, src, 0x0f, 0xb1)
		if !w {
			c.movRR(false, rax, rax) // r0 gets the old value, zero-extended
		}
	case isa.AtomicOr | isa.AtomicFetch, isa.AtomicAnd | isa.AtomicFetch, isa.AtomicXor | isa.AtomicFetch:
		op, _ := aluOps(map[int32]uint8{isa.AtomicOr: isa.ALUOr, isa.AtomicAnd: isa.ALUAnd, isa.AtomicXor: isa.ALUXor}[int32(ins.Imm)&^isa.AtomicFetch])
		// A compare-and-swap loop in rax, which holds r0: keep r0 in aux
		// and read it from there if it is the address or the operand.
		base, val := dst, src
		if base == rax {
			base = aux
		}
		if val == rax {
			val = aux
		}
		c.movRR(true, aux, rax)
		loop := c.pos()
		c.load(map[bool]int{true: 8, false: 4}[w], rax, base, off)
		c.movRR(true, tmp, rax)
		c.aluRR(op, w, tmp, val)
		c.atomicRM(true, w, base, off, tmp, 0x0f, 0xb1)
		c.patch(c.jcc(ccNE), loop)
		if src != rax {
			c.movRR(true, src, rax)
			c.movRR(true, rax, aux)
		}
	default:
		return fmt.Errorf("atomic operation %#x is not supported by the x86-64 compiler", ins.Imm)
	}
	return nil
}

// jumpCC is the condition code of each conditional jump, by operation >> 4
// (0 for the others).
var jumpCC = [16]byte{
	isa.JumpEq >> 4: ccE, isa.JumpNE >> 4: ccNE, isa.JumpSet >> 4: ccNE,
	isa.JumpGT >> 4: ccA, isa.JumpGE >> 4: ccAE, isa.JumpLT >> 4: ccB, isa.JumpLE >> 4: ccBE,
	isa.JumpSGT >> 4: ccG, isa.JumpSGE >> 4: ccGE, isa.JumpSLT >> 4: ccL, isa.JumpSLE >> 4: ccLE,
}

// aluOps returns the "op r/m, r" opcode and the 0x81 group extension of
// add, sub, or, and and xor.
func aluOps(op uint8) (rr, ext byte) {
	switch op {
	case isa.ALUAdd:
		return 0x01, extAdd
	case isa.ALUSub:
		return 0x29, extSub
	case isa.ALUOr:
		return 0x09, extOr
	case isa.ALUAnd:
		return 0x21, extAnd
	}
	return 0x31, extXor
}

func (c *compiler) jump(slot int, ins isa.Instruction, dst, src reg) error {
	op := ins.Op()
	switch op {
	case isa.JumpExit:
		// The entry's frame ends at the epilogue; others return.
		c.aluRM(0x3b, rbp, ctxReg, abi.OffStackTop)
		c.patch(c.jcc(ccE), c.epilogue)
		c.ret()
		c.forget()
		return nil
	case isa.JumpCall:
		err := c.callInstruction(slot, ins)
		c.forget()
		return err
	}
	target := int(c.targetOf[slot])
	// Verified code charges the budget at backward jumps taken (see
	// abi.FunctionLengths): the instructions from the target to the jump.
	back := !c.in.Checked && !c.in.Unbounded && target <= slot
	cost := 0
	if back {
		cost = int(c.index[slot]-c.index[target]) + 1
	}
	if op == isa.JumpA {
		if back {
			c.chargedJump(slot, target, cost)
			return nil
		}
		c.jumpToSlot(fixJmp, 0, target)
		return nil
	}
	if ins.IsMayGoto() {
		if back {
			c.charge(slot, cost)
		}
		c.mayGoto(target)
		return nil
	}
	w := ins.Class() == isa.ClassJMP
	x := ins.Source() == isa.SourceX
	cc := jumpCC[op>>4]
	if cc == 0 {
		return fmt.Errorf("jump operation %#02x is not supported by the x86-64 compiler", op)
	}
	switch {
	case op == isa.JumpSet && x:
		c.aluRR(0x85, w, dst, src)
	case op == isa.JumpSet:
		c.testRI(w, dst, int32(ins.Imm))
	case x:
		c.aluRR(0x39, w, dst, src)
	case ins.Imm == 0 && (op == isa.JumpEq || op == isa.JumpNE):
		c.aluRR(0x85, w, dst, dst) // test dst, dst
	default:
		c.aluRI(extCmp, w, dst, int32(ins.Imm))
	}
	if back {
		// if !cc goto next; budget -= cost; if no borrow goto target;
		// else exit; next:
		c.emit(0x70|(cc^1), 0)
		skip := c.pos()
		c.chargedJump(slot, target, cost)
		c.b[skip-1] = byte(c.pos() - skip)
		return nil
	}
	c.jumpToSlot(fixJcc, cc, target)
	return nil
}

// chargedJump jumps to target, a backward jump of verified code, charging
// the budget with cost instructions; if the budget runs out, the code
// exits to Go before it jumps. The loop pays a subtraction from a
// register and a conditional jump in place of the jump: no memory, no
// dependency on the loop's own registers.
func (c *compiler) chargedJump(slot, target, cost int) {
	c.aluRI(extSub, true, budget, int32(cost))
	c.jumpToSlot(fixJcc, ccAE, target)
	c.outOfLen = append(c.outOfLen, budgetExit{jump: c.jmp(), slot: slot, target: target})
}

// charge charges verified code's budget with cost instructions at slot,
// exiting to Go if it runs out.
func (c *compiler) charge(slot, cost int) {
	c.aluRI(extSub, true, budget, int32(cost))
	j := c.jcc(ccB)
	c.outOfLen = append(c.outOfLen, budgetExit{jump: j, slot: slot, target: -1, back: c.pos()})
}

// budgetExits emits, after the program, the exits of the charges whose
// budget ran out: Go refills the budget (or ends the run) and the code
// goes on where the charge would have.
func (c *compiler) budgetExits() {
	for _, e := range c.outOfLen {
		c.patch(e.jump, c.pos())
		c.slot = e.slot
		c.exitWith(abi.ExitBudget, e.slot)
		if e.target >= 0 {
			c.jumpToSlot(fixJmp, 0, e.target)
		} else {
			c.jumpTo(e.back)
		}
	}
	c.slot = -1
}

func (c *compiler) callInstruction(slot int, ins isa.Instruction) error {
	switch {
	case ins.Source() == isa.SourceX:
		// callx names its helper at run time, in dst: Go finds it in Ret.
		c.store(8, ctxReg, abi.OffRet, bpfRegs[ins.Dst&15])
		c.helperExit(slot)
	case ins.IsLocalCall():
		target := int(c.targetOf[slot])
		if c.in.Checked {
			c.aluRM(0x3b, rbp, ctxReg, abi.OffMinCallR10)
			ok := c.jcc(ccA)
			c.exitWith(abi.ExitCallDepth, slot)
			c.patch(ok, c.pos())
		} else if !c.in.Unbounded {
			// The callee runs at most its length plus what its own
			// backward jumps and calls charge.
			c.charge(slot, int(c.funcLen[target]))
		}
		for _, r := range []reg{rbx, r13, r14, r15} {
			c.push(r)
		}
		c.aluRI(extSub, true, rbp, abi.StackSize)
		if c.in.Checked {
			c.stackWindow()
		}
		c.jumpToSlot(fixCall, 0, target)
		c.aluRI(extAdd, true, rbp, abi.StackSize)
		if c.in.Checked {
			c.stackWindow()
		}
		for _, r := range []reg{r15, r14, r13, rbx} {
			c.pop(r)
		}
	case ins.IsHelperCall():
		id := int32(ins.Imm)
		inline := c.in.Inline != nil && c.in.Inline(id)
		switch {
		case inline && id == helperMapLookupElem && c.inlineArrayLookup():
			return nil
		case inline && id == helperMapLookupElem && c.knownValid[1] && !c.in.Checked && c.in.Hash != nil:
			if h, ok := c.in.Hash(c.known[1]); ok && (h.KeySize == 4 || h.KeySize == 8) {
				c.recordCallMap(slot)
				c.inlineHashLookup(slot, c.known[1], h)
				return nil
			}
		case inline && id == helperGetSmpProcessorID:
			c.load(4, rax, ctxReg, abi.OffCPU)
			return nil
		case inline && id == helperLoop && c.knownValid[2] && !c.in.Checked && c.known[2]&abi.FuncMask == abi.FuncTag:
			if t := int(c.known[2] &^ abi.FuncMask); t < len(c.funcLen) && c.funcLen[t] > 0 {
				if err := c.in.Helper(id); err != nil {
					return err
				}
				c.inlineLoop(slot, t)
				return nil
			}
		case inline && id == helperTailCall && c.knownValid[2] && !c.in.Checked && c.in.ProgArray != nil:
			if pa, ok := c.in.ProgArray(c.known[2]); ok {
				if err := c.in.Helper(id); err != nil {
					return err
				}
				c.inlineTailCall(slot, pa)
				return nil
			}
		}
		if err := c.in.Helper(int32(ins.Imm)); err != nil {
			return err
		}
		c.recordCallMap(slot)
		c.helperExit(slot)
	default:
		return fmt.Errorf("kernel function calls (kfuncs) are not supported")
	}
	return nil
}

// recordCallMap records the map handle r1 holds at the helper call at
// slot, if the compiler knows it (abi.Output.CallMaps).
func (c *compiler) recordCallMap(slot int) {
	if !c.knownValid[1] {
		return
	}
	if c.out.CallMaps == nil {
		c.out.CallMaps = map[int]uint64{}
	}
	c.out.CallMaps[slot] = c.known[1]
}

// helperExit jumps to the helper stub with the exit argument of slot and
// the address of the code that follows as the place to resume.
func (c *compiler) helperExit(slot int) {
	c.movImm64(tmp, uint64(c.in.ID)<<32|uint64(slot))
	c.leaRIP(aux)
	lea := c.pos() - 4
	c.jumpTo(c.helperStub)
	binary.LittleEndian.PutUint32(c.b[lea:], uint32(c.pos()-(lea+4)))
}

// inlineArrayLookup compiles bpf_map_lookup_elem of an array map that r1
// is known to hold, as the kernel's JIT does: the element's address, or
// NULL for an index out of range. r1 to r5 are clobbered, as after any
// helper call.
func (c *compiler) inlineArrayLookup() bool {
	m, slot, ok := c.in.InlinedArray(c.known[1], c.knownValid[1])
	if !ok {
		return false
	}
	if slot > 1<<31-1 && slot&(slot-1) != 0 {
		return false
	}
	// eax = *(u32 *)r2; if eax >= max_entries: r0 = 0, else r0 = values +
	// eax*slot (+ cpu*stride for a per-CPU array, if cpu < cpus).
	c.load(4, rax, rsi, 0)
	if m.MaxEntries <= 1<<31-1 {
		c.aluRI(extCmp, false, rax, int32(m.MaxEntries))
	} else {
		c.movImm(tmp, uint64(m.MaxEntries))
		c.aluRR(0x39, true, rax, tmp) // cmp rax, tmp
	}
	out := c.jcc(ccAE)
	c.multiply(rax, slot)
	var noCPU int = -1
	if m.CPUs > 0 {
		c.load(8, tmp, ctxReg, abi.OffCPU)
		c.aluRI(extCmp, true, tmp, int32(m.CPUs))
		noCPU = c.jcc(ccAE)
		c.multiply(tmp, uint64(m.Stride))
		c.aluRR(0x01, true, rax, tmp)
	}
	c.movImm(tmp, uint64(m.Values))
	c.aluRR(0x01, true, rax, tmp)
	done := c.jmp()
	c.patch(out, c.pos())
	if noCPU >= 0 {
		c.patch(noCPU, c.pos())
	}
	c.movImm(rax, 0)
	c.patch(done, c.pos())
	return true
}

// multiply multiplies r by n, a power of two or at most 2^31-1.
func (c *compiler) multiply(r reg, n uint64) {
	if n&(n-1) == 0 {
		shift := uint8(0)
		for ; n > 1; n >>= 1 {
			shift++
		}
		if shift > 0 {
			c.shiftRI(extShl, true, r, shift)
		}
		return
	}
	c.imulRRI(true, r, r, int32(n))
}
