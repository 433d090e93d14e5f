package arm64

import (
	"fmt"

	"golang.org/x/sys/cpu"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/isa"
)

// Offsets of the Go registers saved in abi.Context.GoRegs, for the
// generated code (the other offsets are abi.Off*).
const (
	offGoSP = abi.OffGoRegs // arm64's order: RSP, R29, R28 (g), R30
	offGoFP = offGoSP + 8
	offGoG  = offGoSP + 16
	offGoLR = offGoSP + 24
)

// The registers of eBPF's r0 to r10, as the kernel's arm64 JIT maps them:
// r1 to r5 in the argument registers x0 to x4, r0 in x7, r6 to r9 in the
// callee-saved x19 to x22, r10 in x25. Valid programs name no register
// above r10: the other entries only spare the compiler bounds checks.
//
// Go's registers are left alone: x28 holds g all the time (without cgo,
// Go's signal handler takes g from it), x18 is the platform's, x29 is
// Go's frame pointer, and sp is switched to a stack of the program's own.
var bpfRegs = [16]reg{x7, x0, x1, x2, x3, x4, x19, x20, x21, x22, x25}

const (
	ctxReg = x27 // the abi.Context
	// budget is, in verified code, abi.Context.Budget while the code
	// runs: no other code uses it between an entry or resume and the next
	// exit, which stores it back.
	budget = x24
	tmp    = x9  // scratch; the exit argument of stubs
	aux    = x10 // scratch; where an exit resumes
	aux2   = x11 // scratch; the exit code of the emulation stub
	t3     = x12 // scratch of divisions, atomics and inlined helpers
	t4     = x13
	t5     = x14
	t6     = x15
	memTmp = x16 // offsets of loads and stores that fit no immediate
	immTmp = x17 // immediates of ALU operations and stores
)

// Helper IDs the compiler knows.
const (
	helperMapLookupElem     = 1
	helperGetSmpProcessorID = 8
	helperTailCall          = 12
	helperLoop              = 181
)

// LSE says whether atomics are compiled to the Large System Extensions'
// single instructions (ldadd, ldclr, ldset, ldeor, swp, cas), which the
// processor has when it reports FEAT_LSE, or to load-exclusive and
// store-exclusive loops otherwise. Tests set it to try both.
var LSE = cpu.ARM64.HasATOMICS

type compiler struct {
	asm
	in         abi.Input
	out        abi.Output
	useLSE     bool
	exit       int // the exit stub
	epilogue   int // where the entry's function ends
	helperStub int
	emulStub   int
	ctxAccess  []bool // by instruction index
	fixups     []fixup
	long       []bool // by fixup: the conditional branch must be long
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
	// mayGotos: the program has may_goto.
	mayGotos bool
	// longCharges: charges branch to their exits over an unconditional
	// b, since a b.cond did not reach (chargesMissed) in a first try.
	longCharges, chargesMissed bool
}

// budgetExit is the out-of-line exit of a charge of verified code's
// budget that ran out: at jump (a branch to patch) from the instruction at
// slot; Go refills the budget, then the code goes on at the slot target,
// or at the code offset back if target is -1.
type budgetExit struct {
	jump, slot, target, back int
}

type fixup struct {
	pos  int // the branch
	slot int // the target slot
}

// Compile compiles a program. Conditional branches to instructions take
// b.cond, which reaches a megabyte either way; should one not reach, the
// program is compiled again with that branch inverted over an
// unconditional b.
func Compile(in abi.Input) (*abi.Output, error) {
	var long []bool
	longCharges := false
	for {
		c, err := compile(in, long, longCharges)
		if err != nil {
			return nil, err
		}
		if c.chargesMissed {
			longCharges = true
			continue
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

func compile(in abi.Input, long []bool, longCharges bool) (*compiler, error) {
	p := abi.NewPlan(in)
	c := &compiler{in: in, long: long, longCharges: longCharges, useLSE: LSE, slot: -1,
		ctxAccess: p.ContextAccess, targets: p.Targets, targetOf: p.TargetOf,
		index: p.Index, funcLen: p.FunctionLengths, mayGotos: p.MayGoto, plan: p}
	nslots := in.Instructions.SlotCount()
	c.b = in.Buffer[:0]
	if cap(c.b) < 1024+nslots*32 {
		c.b = make([]byte, 0, 1024+nslots*32)
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
		if !inReach19(f.pos, target) && isCond(c.b[f.pos:]) {
			c.missed = append(c.missed, k)
			continue
		}
		c.patch(f.pos, target)
	}
	c.out.Code = c.b
	return c, nil
}

// isCond reports whether the instruction at the start of b is a b.cond.
func isCond(b []byte) bool { return b[3] == 0x54 }

// Kinds of jumpToSlot.
const (
	fixB    = -1 // b
	fixCall = -2 // bl
)

// jumpToSlot emits a branch to the code of slot: b (cond fixB), bl
// (fixCall) or b.cond.
func (c *compiler) jumpToSlot(cond int, slot int) {
	k := len(c.fixups)
	var pos int
	switch {
	case cond == fixB:
		pos = c.branch()
	case cond == fixCall:
		pos = c.bl()
	case k < len(c.long) && c.long[k]:
		skip := c.bcond(uint32(cond) ^ 1)
		pos = c.branch()
		c.patch(skip, c.pos())
	default:
		pos = c.bcond(uint32(cond))
	}
	c.fixups = append(c.fixups, fixup{pos: pos, slot: slot})
}

// forget drops what the compiler knows of register contents.
func (c *compiler) forget() { c.knownValid = [11]bool{} }

func regOff(i int) int32 { return abi.OffRegs + int32(8*i) }

// ldCtx and stCtx load and store 8 bytes of the Context.
func (c *compiler) ldCtx(r reg, off int32) { c.load(8, r, ctxReg, off, memTmp) }
func (c *compiler) stCtx(off int32, r reg) { c.store(8, ctxReg, off, r, memTmp) }

// stubs emits the code shared by the program's instructions: the entry,
// the exit to Go and the helper and emulation exits with their resumes.
//
// Every exit pushes x30 (the return address of the bpf-to-bpf call in
// progress) on the program's stack before it stores sp in NativeSP, and
// every resume pops it: the exit returns to Go with Go's x30.
func (c *compiler) stubs() {
	// Entry: Repeat times, r1-r5 from Args, r10 = StackTop, jump to
	// Target; return r0.
	c.out.Entry = c.pos()
	for i := 1; i <= 5; i++ {
		c.ldCtx(bpfRegs[i], abi.OffArgs+int32(8*(i-1)))
	}
	c.ldCtx(bpfRegs[10], abi.OffStackTop)
	for _, r := range []reg{x7, x19, x20, x21, x22} {
		c.movImm(r, 0) // as the interpreter starts
	}
	c.ldCtx(tmp, abi.OffTailCallsAtEntry)
	c.stCtx(abi.OffTailCalls, tmp)
	c.mayGotoEntry()
	if !c.in.Checked {
		c.ldCtx(budget, abi.OffBudgetAtEntry) // Go sets checked code's
	}
	// A branch, not a call: an exit in the frame at StackTop comes back
	// to the epilogue with a branch.
	c.ldCtx(tmp, abi.OffTarget)
	c.br(tmp)
	c.epilogue = c.pos()
	c.ldCtx(tmp, abi.OffRepeat)
	c.subsImm(true, tmp, tmp, 1)
	c.stCtx(abi.OffRepeat, tmp)
	c.patch(c.bcond(condNE), c.out.Entry)
	c.stCtx(abi.OffRet, x7)
	c.saveBudget()
	c.movImm(tmp, abi.ExitDone)
	c.stCtx(abi.OffExitCode, tmp)
	// Exit: back on Go's stack, with Go's registers, return from the
	// trampoline.
	c.exit = c.pos()
	c.ldCtx(tmp, offGoSP)
	c.movSP(sp, tmp)
	c.ldCtx(x29, offGoFP)
	c.ldCtx(x28, offGoG)
	c.ldCtx(x30, offGoLR)
	c.ret()

	// Helper exit: tmp = the exit argument, aux = where to resume.
	c.helperStub = c.pos()
	for i := 1; i <= 10; i++ {
		c.stCtx(regOff(i), bpfRegs[i])
	}
	c.saveBudget()
	c.stCtx(abi.OffResume, aux)
	c.ldCtx(aux, abi.OffCallArgs)
	for i := 1; i <= 5; i++ {
		c.store(8, aux, int32(8*(i-1)), bpfRegs[i], memTmp)
	}
	c.stCtx(abi.OffExitArg, tmp)
	c.movImm(tmp, abi.ExitHelper)
	c.stCtx(abi.OffExitCode, tmp)
	c.leaveToGo()

	// r1 to r10 as they were, r0 the helper's result.
	c.out.HelperResume = c.pos()
	c.popPair(x30, xzr)
	for i := 1; i <= 10; i++ {
		c.ldCtx(bpfRegs[i], regOff(i))
	}
	c.ldCtx(x7, abi.OffRet)
	c.loadBudget()
	c.ldCtx(tmp, abi.OffResume)
	c.br(tmp)

	// Tail call: the frame of the helper exit continues in this program,
	// with r1 and r6 to r10 as they were and r0, r2-r5 zero.
	c.out.TailEntry = c.pos()
	c.popPair(x30, xzr)
	for _, i := range []int{1, 6, 7, 8, 9, 10} {
		c.ldCtx(bpfRegs[i], regOff(i))
	}
	c.loadBudget()
	for _, i := range []int{0, 2, 3, 4, 5} {
		c.movImm(bpfRegs[i], 0)
	}
	c.jumpToSlot(fixB, 0)

	// Emulation exit: every register to Regs, tmp the exit argument, aux
	// where to resume and aux2 the exit code.
	c.emulStub = c.pos()
	for i, r := range bpfRegs[:11] {
		c.stCtx(regOff(i), r)
	}
	c.saveBudget()
	c.stCtx(abi.OffResume, aux)
	c.stCtx(abi.OffExitArg, tmp)
	c.stCtx(abi.OffExitCode, aux2)
	c.leaveToGo()

	c.out.EmulateResume = c.pos()
	c.popPair(x30, xzr)
	for i, r := range bpfRegs[:11] {
		c.ldCtx(r, regOff(i))
	}
	c.loadBudget()
	c.ldCtx(tmp, abi.OffResume)
	c.br(tmp)
}

// saveBudget stores verified code's budget register into the Context.
func (c *compiler) saveBudget() {
	if !c.in.Checked {
		c.stCtx(abi.OffBudget, budget)
	}
}

// loadBudget reloads verified code's budget register from the Context.
func (c *compiler) loadBudget() {
	if !c.in.Checked {
		c.ldCtx(budget, abi.OffBudget)
	}
}

// branchCondTo emits a conditional branch to an offset already emitted:
// b.cond where it reaches, else b.!cond over a b.
func (c *compiler) branchCondTo(cond uint32, target int) {
	if inReach19(c.pos(), target) {
		c.patch(c.bcond(cond), target)
		return
	}
	skip := c.bcond(cond ^ 1)
	c.jumpTo(target)
	c.patch(skip, c.pos())
}

// jumpTo emits a branch to an offset already emitted.
func (c *compiler) jumpTo(target int) { c.patch(c.branch(), target) }

// emulate has Go carry out the instruction at slot.
func (c *compiler) emulate(slot int) {
	c.exitWith(abi.ExitEmulate, slot)
	c.forget()
}

// exitWith exits through the emulation stub with an exit code, to resume
// right after.
func (c *compiler) exitWith(code uint64, slot int) {
	c.movImm(tmp, uint64(c.in.ID)<<32|uint64(slot))
	c.movImm(aux2, code)
	resume := c.adr(aux)
	c.jumpTo(c.emulStub)
	c.patch(resume, c.pos())
}

// subsConst emits subs r, r, #n for any n < 2^32 (through immTmp when it
// does not fit 12 bits).
func (c *compiler) subsConst(r reg, n uint64) {
	if n < 4096 {
		c.subsImm(true, r, r, uint32(n))
		return
	}
	c.movImm(immTmp, n)
	c.rrr(opSUBS, true, r, r, immTmp)
}

// countBudget takes n instructions from the budget, exiting to Go when it
// runs out.
func (c *compiler) countBudget(slot, n int) {
	c.ldCtx(tmp, abi.OffBudget)
	c.subsConst(tmp, uint64(n))
	c.stCtx(abi.OffBudget, tmp)
	ok := c.bcond(condHS)
	c.exitWith(abi.ExitBudget, slot)
	c.patch(ok, c.pos())
}

// addConst sets dst = base + off (off an eBPF offset).
func (c *compiler) addConst(dst, base reg, off int32) {
	switch {
	case off >= 0 && off < 4096:
		c.addImm(true, dst, base, uint32(off))
	case off < 0 && off > -4096:
		c.subImm(true, dst, base, uint32(-off))
	default:
		c.movImm(immTmp, uint64(int64(off)))
		c.rrr(opADD, true, dst, base, immTmp)
	}
}

// checked compiles a load or store of size bytes at [base+off] in checked
// code: access runs with the address in tmp if it is inside a window; Go
// carries the instruction out otherwise.
func (c *compiler) checked(slot int, base reg, off int32, size int, write bool, access func()) {
	c.addConst(tmp, base, off)
	lenOff := abi.OffWindowLoadLen
	if write {
		lenOff = abi.OffWindowStoreLen
	}
	var ok []int
	for w := int32(0); w < 2; w++ {
		win := abi.OffWindows + w*abi.WindowSize
		c.ldCtx(aux, win+abi.OffWindowLo)
		c.rrr(opSUB, true, aux, tmp, aux) // aux = addr - lo
		c.ldCtx(aux2, win+lenOff)
		c.cmp(true, aux, aux2) // off < len?
		next := c.bcond(condHS)
		c.rrr(opSUB, true, aux2, aux2, aux) // len - off >= size?
		c.subsImm(true, xzr, aux2, uint32(size))
		ok = append(ok, c.bcond(condHS))
		c.patch(next, c.pos())
	}
	c.emulate(slot)
	done := c.branch()
	for _, p := range ok {
		c.patch(p, c.pos())
	}
	access()
	c.patch(done, c.pos())
}

// stackWindow points window 0 at the frames up to r10's.
func (c *compiler) stackWindow() {
	c.subImm(true, tmp, bpfRegs[10], abi.StackSize)
	c.stCtx(abi.OffWindows+abi.OffWindowLo, tmp)
	c.ldCtx(aux, abi.OffFrameTop)
	c.rrr(opSUB, true, aux, aux, tmp)
	c.stCtx(abi.OffWindows+abi.OffWindowLoadLen, aux)
	c.stCtx(abi.OffWindows+abi.OffWindowStoreLen, aux)
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
				c.loadInsn(ins, size, dst, tmp, 0)
			})
			return nil
		}
		c.loadInsn(ins, size, dst, src, int32(ins.Offset))
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
				c.storeInsn(ins, size, tmp, 0, src)
			})
			return nil
		}
		c.storeInsn(ins, size, dst, int32(ins.Offset), src)
		return nil
	}
	return fmt.Errorf("opcode %#02x is not supported by the arm64 compiler", ins.Opcode)
}

// loadInsn compiles the load of an LDX instruction from [base+off].
func (c *compiler) loadInsn(ins isa.Instruction, size int, dst, base reg, off int32) {
	if ins.Mode() == isa.ModeMEMSX && size < 8 {
		c.loadSX(size, dst, base, off, memTmp)
		return
	}
	c.load(size, dst, base, off, memTmp)
}

// storeInsn compiles the store of an ST or STX instruction to [base+off].
func (c *compiler) storeInsn(ins isa.Instruction, size int, base reg, off int32, src reg) {
	if ins.Class() == isa.ClassST {
		v := uint64(int64(int32(ins.Imm)))
		if v == 0 {
			src = xzr
		} else {
			c.movImm(immTmp, v)
			src = immTmp
		}
	}
	c.store(size, base, off, src, memTmp)
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
		if write {
			c.storeInsn(ins, size, dst, int32(ins.Offset), src)
		} else {
			c.loadInsn(ins, size, dst, src, int32(ins.Offset))
		}
	case abi.ContextMirror:
		if write || ins.Mode() == isa.ModeMEMSX {
			c.emulate(slot)
			return nil
		}
		c.load(ca.Size, bpfRegs[ins.Dst&15], bpfRegs[ins.Src&15], ca.Off, memTmp)
	default:
		c.emulate(slot)
	}
	return nil
}

// operand returns the second operand of an ALU instruction: src, or the
// immediate in immTmp (sign-extended to 64 bits; 32-bit operations read
// its low half).
func (c *compiler) operand(ins isa.Instruction, src reg) reg {
	if ins.Source() == isa.SourceX {
		return src
	}
	imm := int64(int32(ins.Imm))
	if imm == 0 {
		return xzr
	}
	c.movImm(immTmp, uint64(imm))
	return immTmp
}

func (c *compiler) alu(ins isa.Instruction, dst, src reg) error {
	w := ins.Class() == isa.ClassALU64
	x := ins.Source() == isa.SourceX
	imm := int32(ins.Imm)
	switch op := ins.Op(); op {
	case isa.ALUAdd, isa.ALUSub:
		if !x && imm > -4096 && imm < 4096 {
			if (op == isa.ALUAdd) == (imm >= 0) {
				c.addImm(w, dst, dst, uint32(abs(imm)))
			} else {
				c.subImm(w, dst, dst, uint32(abs(imm)))
			}
			return nil
		}
		rop := uint32(opADD)
		if op == isa.ALUSub {
			rop = opSUB
		}
		c.rrr(rop, w, dst, dst, c.operand(ins, src))
	case isa.ALUOr, isa.ALUAnd, isa.ALUXor:
		rop := uint32(opEOR)
		switch op {
		case isa.ALUOr:
			rop = opORR
		case isa.ALUAnd:
			rop = opAND
		}
		c.rrr(rop, w, dst, dst, c.operand(ins, src))
	case isa.ALUMul:
		c.madd(w, false, dst, dst, c.operand(ins, src), xzr)
	case isa.ALUDiv, isa.ALUMod:
		// AArch64's division already has eBPF's rules: division by zero
		// gives 0 (so modulo by zero leaves dst, truncated to 32 bits in
		// ALU), and the signed overflow of MIN / -1 wraps to MIN (so
		// MIN % -1 is 0).
		div := uint32(opUDIV)
		if ins.Offset == 1 {
			div = opSDIV
		}
		d := c.operand(ins, src)
		if op == isa.ALUDiv {
			c.rrr(div, w, dst, dst, d)
			return nil
		}
		c.rrr(div, w, t3, dst, d)
		c.madd(w, true, dst, t3, d, dst) // dst - q*d
	case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
		kind, rop := shiftASR, uint32(opASRV)
		switch op {
		case isa.ALULsh:
			kind, rop = shiftLSL, opLSLV
		case isa.ALURsh:
			kind, rop = shiftLSR, opLSRV
		}
		if !x {
			n := uint32(imm) & 31
			if w {
				n = uint32(imm) & 63
			}
			if n == 0 {
				if !w {
					c.movRR(false, dst, dst)
				}
				return nil
			}
			c.shiftImm(kind, w, dst, dst, n)
			return nil
		}
		c.rrr(rop, w, dst, dst, src)
	case isa.ALUNeg:
		c.rrr(opSUB, w, dst, xzr, dst)
	case isa.ALUMov:
		switch {
		case ins.Offset != 0 && x:
			size := int(ins.Offset) / 8
			if size == 4 && !w {
				c.movRR(false, dst, src)
			} else {
				c.extend(true, w, size, dst, src)
			}
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
		// nothing to do here but truncating, or to big endian (X).
		swap := w || x
		switch ins.Imm {
		case 16:
			if swap {
				c.rev(2, dst, dst)
			}
			c.extend(false, false, 2, dst, dst)
		case 32:
			if swap {
				c.rev(4, dst, dst)
			} else {
				c.movRR(false, dst, dst)
			}
		case 64:
			if swap {
				c.rev(8, dst, dst)
			}
		}
	default:
		return fmt.Errorf("ALU operation %#02x is not supported by the arm64 compiler", op)
	}
	return nil
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

func (c *compiler) atomic(ins isa.Instruction, dst, src reg) error {
	w := ins.Size() == isa.SizeDW
	op := int32(ins.Imm)
	switch op {
	case isa.AtomicLoadAcquire, isa.AtomicStoreRelease:
		return c.acquireRelease(ins, dst, src)
	}
	// The address in memTmp: LSE and exclusive accesses take no offset.
	c.addConst(memTmp, dst, int32(ins.Offset))
	addr := memTmp
	fetch := op&isa.AtomicFetch != 0
	if c.useLSE {
		switch op {
		case isa.AtomicCmpXchg:
			c.casal(w, x7, src, addr)
			return nil
		case isa.AtomicXchg:
			c.lse(lseSWP, w, true, src, src, addr)
			return nil
		}
		var code uint32
		operand := src
		switch op &^ isa.AtomicFetch {
		case isa.AtomicAdd:
			code = lseADD
		case isa.AtomicOr:
			code = lseSET
		case isa.AtomicXor:
			code = lseEOR
		case isa.AtomicAnd:
			code = lseCLR // clears the bits set in its operand: ~src
			c.rrr(opORN, w, t3, xzr, src)
			operand = t3
		default:
			return fmt.Errorf("atomic operation %#x is not supported by the arm64 compiler", ins.Imm)
		}
		if fetch {
			c.lse(code, w, true, operand, src, addr)
		} else {
			// As the kernel's JIT: no result, no ordering (st<op>).
			c.lse(code, w, false, operand, xzr, addr)
		}
		return nil
	}
	// Load-exclusive and store-exclusive loops; fetching operations are
	// fully ordered by the release store and a final barrier.
	switch op {
	case isa.AtomicCmpXchg:
		loop := c.pos()
		c.ldxr(w, false, t3, addr)
		c.cmp(w, t3, x7)
		out := c.bcond(condNE)
		c.stxr(w, true, t5, src, addr)
		c.patch(c.cbz(false, true, t5), loop)
		c.dmbISH()
		c.patch(out, c.pos())
		c.movRR(w, x7, t3)
		return nil
	case isa.AtomicXchg:
		loop := c.pos()
		c.ldxr(w, false, t3, addr)
		c.stxr(w, true, t5, src, addr)
		c.patch(c.cbz(false, true, t5), loop)
		c.dmbISH()
		c.movRR(w, src, t3)
		return nil
	}
	var rop uint32
	switch op &^ isa.AtomicFetch {
	case isa.AtomicAdd:
		rop = opADD
	case isa.AtomicOr:
		rop = opORR
	case isa.AtomicXor:
		rop = opEOR
	case isa.AtomicAnd:
		rop = opAND
	default:
		return fmt.Errorf("atomic operation %#x is not supported by the arm64 compiler", ins.Imm)
	}
	loop := c.pos()
	c.ldxr(w, false, t3, addr)
	c.rrr(rop, w, t4, t3, src)
	c.stxr(w, fetch, t5, t4, addr)
	c.patch(c.cbz(false, true, t5), loop)
	if fetch {
		c.dmbISH()
		c.movRR(w, src, t3)
	}
	return nil
}

// acquireRelease compiles a load-acquire (BPF_LOAD_ACQ: dst = the size
// bytes at [src+off], zero-extended) with ldar, and a store-release
// (BPF_STORE_REL: the low size bytes of src to [dst+off]) with stlr. The
// verifier has proved the access aligned.
func (c *compiler) acquireRelease(ins isa.Instruction, dst, src reg) error {
	size := ins.Size().Bytes()
	if int32(ins.Imm) == isa.AtomicLoadAcquire {
		c.addConst(memTmp, src, int32(ins.Offset))
		c.ldar(size, dst, memTmp)
		return nil
	}
	c.addConst(memTmp, dst, int32(ins.Offset))
	c.stlr(size, src, memTmp)
	return nil
}

// jumpCond is the condition of each conditional jump, by operation >> 4
// (-1 for the others).
var jumpCond = [16]int{
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
}

func init() {
	for op, cond := range map[uint8]int{
		isa.JumpEq: condEQ, isa.JumpNE: condNE, isa.JumpSet: condNE,
		isa.JumpGT: condHI, isa.JumpGE: condHS, isa.JumpLT: condLO, isa.JumpLE: condLS,
		isa.JumpSGT: condGT, isa.JumpSGE: condGE, isa.JumpSLT: condLT, isa.JumpSLE: condLE,
	} {
		jumpCond[op>>4] = cond
	}
}

func (c *compiler) jump(slot int, ins isa.Instruction, dst, src reg) error {
	op := ins.Op()
	switch op {
	case isa.JumpExit:
		// The entry's frame ends at the epilogue; others return.
		c.ldCtx(tmp, abi.OffStackTop)
		c.cmp(true, bpfRegs[10], tmp)
		c.branchCondTo(condEQ, c.epilogue)
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
		c.jumpToSlot(fixB, target)
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
	cond := jumpCond[op>>4]
	if cond < 0 {
		return fmt.Errorf("jump operation %#02x is not supported by the arm64 compiler", op)
	}
	imm := int32(ins.Imm)
	switch {
	case op == isa.JumpSet:
		c.tst(w, dst, c.operand(ins, src))
	case x:
		c.cmp(w, dst, src)
	case imm >= 0 && imm < 4096:
		c.subsImm(w, xzr, dst, uint32(imm))
	case imm < 0 && imm > -4096:
		c.addsImm(w, xzr, dst, uint32(-imm)) // cmn: the same flags
	default:
		c.cmp(w, dst, c.operand(ins, src))
	}
	if back {
		// if !cond goto next; budget -= cost; if no borrow goto target;
		// else exit; next:
		skip := c.bcond(uint32(cond) ^ 1)
		c.chargedJump(slot, target, cost)
		c.patch(skip, c.pos())
		return nil
	}
	c.jumpToSlot(cond, target)
	return nil
}

// chargedJump jumps to target, a backward jump of verified code, charging
// the budget with cost instructions; if the budget runs out, the code
// exits to Go before it jumps.
func (c *compiler) chargedJump(slot, target, cost int) {
	c.subsConst(budget, uint64(cost))
	c.jumpToSlot(condHS, target)
	c.outOfLen = append(c.outOfLen, budgetExit{jump: c.branch(), slot: slot, target: target})
}

// charge charges verified code's budget with cost instructions at slot,
// exiting to Go if it runs out.
func (c *compiler) charge(slot, cost int) {
	c.subsConst(budget, uint64(cost))
	var j int
	if c.longCharges {
		over := c.bcond(condHS)
		j = c.branch()
		c.patch(over, c.pos())
	} else {
		j = c.bcond(condLO)
	}
	c.outOfLen = append(c.outOfLen, budgetExit{jump: j, slot: slot, target: -1, back: c.pos()})
}

// budgetExits emits, after the program, the exits of the charges whose
// budget ran out: Go refills the budget (or ends the run) and the code
// goes on where the charge would have. A charge whose b.lo does not reach
// its exit sends the program back to be compiled with long charges.
func (c *compiler) budgetExits() {
	for _, e := range c.outOfLen {
		if isCond(c.b[e.jump:]) && !inReach19(e.jump, c.pos()) {
			c.chargesMissed = true
		} else {
			c.patch(e.jump, c.pos())
		}
		c.slot = e.slot
		c.exitWith(abi.ExitBudget, e.slot)
		if e.target >= 0 {
			c.jumpToSlot(fixB, e.target)
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
		c.stCtx(abi.OffRet, bpfRegs[ins.Dst&15])
		c.helperExit(slot)
	case ins.IsLocalCall():
		target := int(c.targetOf[slot])
		if c.in.Checked {
			c.ldCtx(tmp, abi.OffMinCallR10)
			c.cmp(true, bpfRegs[10], tmp)
			ok := c.bcond(condHI)
			c.exitWith(abi.ExitCallDepth, slot)
			c.patch(ok, c.pos())
		} else if !c.in.Unbounded {
			// The callee runs at most its length plus what its own
			// backward jumps and calls charge.
			c.charge(slot, int(c.funcLen[target]))
		}
		c.localCall(target)
	case ins.IsHelperCall():
		id := int32(ins.Imm)
		if done, err := c.inlineHelper(slot, id); done || err != nil {
			return err
		}
		if err := c.in.Helper(id); err != nil {
			return err
		}
		c.recordCallMap(slot)
		c.helperExit(slot)
	default:
		return fmt.Errorf("kernel function calls (kfuncs) are not supported")
	}
	return nil
}

// leaveToGo ends the stub of an exit to Go: it keeps the link register
// on the stack (the resume stubs pop it), records the native stack
// pointer and jumps to the common exit.
func (c *compiler) leaveToGo() {
	c.pushPair(x30, xzr)
	c.movSP(tmp, sp)
	c.stCtx(abi.OffNativeSP, tmp)
	c.jumpTo(c.exit)
}

// localCall calls the function at target: r6 to r9 and x30 wait on the
// program's stack, r10 moves down a frame.
func (c *compiler) localCall(target int) {
	c.pushPair(x19, x20)
	c.pushPair(x21, x22)
	c.pushPair(x30, xzr)
	c.subImm(true, bpfRegs[10], bpfRegs[10], abi.StackSize)
	if c.in.Checked {
		c.stackWindow()
	}
	c.jumpToSlot(fixCall, target)
	c.addImm(true, bpfRegs[10], bpfRegs[10], abi.StackSize)
	if c.in.Checked {
		c.stackWindow()
	}
	c.popPair(x30, xzr)
	c.popPair(x21, x22)
	c.popPair(x19, x20)
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

// helperExit branches to the helper stub with the exit argument of slot
// and the address of the code that follows as the place to resume.
func (c *compiler) helperExit(slot int) {
	c.movImm(tmp, uint64(c.in.ID)<<32|uint64(slot))
	resume := c.adr(aux)
	c.jumpTo(c.helperStub)
	c.patch(resume, c.pos())
}

// mayGotoEntry gives the run that the entry stub starts a full may_goto
// count.
func (c *compiler) mayGotoEntry() {
	c.movImm(tmp, isa.MayGotoLimit)
	c.stCtx(abi.OffMayGoto, tmp)
}

// mayGoto compiles may_goto as the kernel rewrites it: jump to target when
// the count is spent, else count down and fall through.
func (c *compiler) mayGoto(target int) {
	c.ldCtx(tmp, abi.OffMayGoto)
	c.subsImm(true, xzr, tmp, 0)
	c.jumpToSlot(condEQ, target)
	c.subImm(true, tmp, tmp, 1)
	c.stCtx(abi.OffMayGoto, tmp)
}
