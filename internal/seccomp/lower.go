package seccomp

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/isa"
)

// NotLowerableError says why a policy cannot be lowered to a classic
// filter: the instruction and what it does that classic BPF cannot.
type NotLowerableError struct {
	Index       int // the instruction's index
	Instruction isa.Instruction
	Reason      string
}

func (e *NotLowerableError) Error() string {
	return fmt.Sprintf("instruction %d (%s): %s", e.Index, e.Instruction, e.Reason)
}

// Lower translates a verified Seccomp program into a classic seccomp
// filter that returns the same action for every struct seccomp_data. It
// takes programs that read their context (r1) with constant offsets and
// compute with 32-bit arithmetic, 64-bit bitwise operations and shifts,
// moves, constants and forward jumps of every comparison; a program that
// calls anything, uses the stack, loops, or does 64-bit arithmetic with
// carries gets a *NotLowerableError naming the instruction.
//
// Each eBPF register lives in two scratch words of the classic machine
// (its low and high 32 bits): at most 8 registers, as classic BPF has 16
// words. The program must have been verified: Lower relies on every
// register being written before it is read and on the context being read
// only at offsets inside struct seccomp_data.
func Lower(insns isa.Instructions) (Filter, error) {
	l := &lowering{insns: insns, slot: map[isa.Register]uint32{}}
	if err := l.ctxFlow(); err != nil {
		return nil, err
	}
	l.labels = make([]int, len(insns)+1)
	for i := range l.labels {
		l.labels[i] = l.newLabel()
	}
	for i, ins := range insns {
		l.mark(l.labels[i])
		if err := l.lower(i, ins); err != nil {
			return nil, err
		}
	}
	l.mark(l.labels[len(insns)])
	l.optimize()
	f, err := l.resolve()
	if err != nil {
		return nil, err
	}
	return allowPrefix(f), nil
}

// lowering is the state of one Lower.
type lowering struct {
	insns  isa.Instructions
	mayCtx []uint16 // by instruction, the registers that may hold the context pointer
	// slots are the instructions' slots, indexOf their indexes by slot.
	slots   []int
	indexOf map[int]int
	slot    map[isa.Register]uint32
	out     []pending
	labels  []int // by instruction index: the label of its first classic instruction
	at      []int // by label: the classic index it marks, or -1
}

// pending is a classic instruction whose jump targets are labels.
type pending struct {
	in     Instruction
	jt, jf int // labels of a conditional jump
	ja     int // label of an unconditional jump; -1 for none
	cond   bool
	// redundant: a load of what A holds already (optimize drops it).
	redundant bool
}

func (l *lowering) newLabel() int {
	l.at = append(l.at, -1)
	return len(l.at) - 1
}

func (l *lowering) mark(label int) { l.at[label] = len(l.out) }

func (l *lowering) emit(code uint16, k uint32) {
	l.out = append(l.out, pending{in: Instruction{Code: code, K: k}, ja: -1})
}

// branch emits a conditional jump to the labels t and f.
func (l *lowering) branch(op uint16, src uint16, k uint32, t, f int) {
	l.out = append(l.out, pending{in: Instruction{Code: clsJMP | op | src, K: k}, jt: t, jf: f, ja: -1, cond: true})
}

// jump emits an unconditional jump to label.
func (l *lowering) jump(label int) {
	l.out = append(l.out, pending{in: Instruction{Code: clsJMP | jmpJA}, ja: label})
}

// resolve turns labels into offsets.
func (l *lowering) resolve() (Filter, error) {
	if len(l.out) > MaxInstructions {
		return nil, fmt.Errorf("the classic filter would have %d instructions, more than the kernel's %d", len(l.out), MaxInstructions)
	}
	f := make(Filter, len(l.out))
	for pc, p := range l.out {
		in := p.in
		switch {
		case p.cond:
			for _, c := range []struct {
				label int
				off   *uint8
			}{{p.jt, &in.Jt}, {p.jf, &in.Jf}} {
				d := l.at[c.label] - pc - 1
				if d < 0 || d > 255 {
					return nil, fmt.Errorf("internal error: a conditional jump of %d instructions", d)
				}
				*c.off = uint8(d)
			}
		case p.ja >= 0:
			d := l.at[p.ja] - pc - 1
			if d < 0 {
				return nil, fmt.Errorf("internal error: a backward jump")
			}
			in.K = uint32(d)
		}
		f[pc] = in
	}
	return f, nil
}

func (l *lowering) refuse(i int, format string, args ...any) error {
	return &NotLowerableError{Index: i, Instruction: l.insns[i], Reason: fmt.Sprintf(format, args...)}
}

// ctxFlow finds, for every instruction, the registers that may hold the
// context pointer on some path to it (r1 at the entry, and its copies),
// and refuses backward jumps.
func (l *lowering) ctxFlow() error {
	n := len(l.insns)
	l.mayCtx = make([]uint16, n+1)
	reached := make([]bool, n+1)
	l.mayCtx[0], reached[0] = 1<<isa.R1, true
	slot := 0
	l.slots = make([]int, n)
	slots := l.slots
	for i, ins := range l.insns {
		slots[i] = slot
		slot += ins.Slots()
	}
	l.indexOf = map[int]int{}
	for i, s := range slots {
		l.indexOf[s] = i
	}
	indexOf := l.indexOf
	for i, ins := range l.insns {
		if !reached[i] {
			continue
		}
		s := l.mayCtx[i]
		cl := ins.Class()
		if cl == isa.ClassALU || cl == isa.ClassALU64 || cl == isa.ClassLDX || ins.IsLdDW() {
			s &^= 1 << ins.Dst
			if cl == isa.ClassALU64 && ins.Op() == isa.ALUMov && ins.Source() == isa.SourceX && ins.Offset == 0 && l.mayCtx[i]&(1<<ins.Src) != 0 {
				s |= 1 << ins.Dst
			}
		}
		next := func(t int) {
			l.mayCtx[t] |= s
			reached[t] = true
		}
		if cl == isa.ClassJMP || cl == isa.ClassJMP32 {
			switch {
			case ins.Op() == isa.JumpExit:
				continue
			case ins.Op() == isa.JumpCall:
				continue // refused when lowered
			}
			target, ok := ins.JumpTarget(slots[i])
			t, found := indexOf[target]
			if !ok || !found {
				return l.refuse(i, "a jump whose target is not an instruction")
			}
			if t <= i {
				return l.refuse(i, "a backward jump (a loop): classic BPF only jumps forward")
			}
			next(t)
			if ins.Op() == isa.JumpA {
				continue
			}
		}
		next(i + 1)
	}
	return nil
}

// pair returns the scratch words (low, high) of register r.
func (l *lowering) pair(i int, r isa.Register) (lo, hi uint32, err error) {
	if r == isa.R10 {
		return 0, 0, l.refuse(i, "it uses the stack (r10): classic BPF has none")
	}
	if l.mayCtx[i]&(1<<r) != 0 {
		return 0, 0, l.refuse(i, "it computes with the context pointer (r%d)", r)
	}
	s, ok := l.slot[r]
	if !ok {
		if len(l.slot) == scratchWords/2 {
			return 0, 0, l.refuse(i, "it uses more than %d registers, each two of classic BPF's %d scratch words", scratchWords/2, scratchWords)
		}
		s = uint32(2 * len(l.slot))
		l.slot[r] = s
	}
	return s, s + 1, nil
}

// loadA emits A = scratch word w; storeA, the word = A.
func (l *lowering) loadA(w uint32)  { l.emit(clsLD|sizeW|modeMEM, w) }
func (l *lowering) loadX(w uint32)  { l.emit(clsLDX|sizeW|modeMEM, w) }
func (l *lowering) storeA(w uint32) { l.emit(clsST, w) }
func (l *lowering) setA(k uint32)   { l.emit(clsLD|sizeW|modeIMM, k) }

// setPair stores the constant v in a register's words.
func (l *lowering) setPair(lo, hi uint32, v uint64) {
	l.setA(uint32(v))
	l.storeA(lo)
	l.setA(uint32(v >> 32))
	l.storeA(hi)
}

func (l *lowering) lower(i int, ins isa.Instruction) error {
	switch ins.Class() {
	case isa.ClassLDX:
		return l.lowerLoad(i, ins)
	case isa.ClassALU:
		return l.lowerALU32(i, ins)
	case isa.ClassALU64:
		return l.lowerALU64(i, ins)
	case isa.ClassJMP, isa.ClassJMP32:
		return l.lowerJump(i, ins)
	case isa.ClassLD:
		if ins.IsLdDW() && uint8(ins.Src) == isa.PseudoNone {
			lo, hi, err := l.pair(i, ins.Dst)
			if err != nil {
				return err
			}
			l.setPair(lo, hi, uint64(ins.Imm))
			return nil
		}
		return l.refuse(i, "it loads a map, a function or a packet: classic seccomp filters have none")
	}
	if ins.Dst == isa.R10 {
		return l.refuse(i, "it uses the stack (r10): classic BPF has none")
	}
	return l.refuse(i, "it writes memory: classic seccomp filters only read seccomp_data")
}

// lowerLoad lowers a load from the context.
func (l *lowering) lowerLoad(i int, ins isa.Instruction) error {
	if l.mayCtx[i]&(1<<ins.Src) == 0 {
		return l.refuse(i, "it reads memory other than its seccomp_data")
	}
	if ins.Mode() != isa.ModeMEM {
		return l.refuse(i, "a sign-extending load")
	}
	off := uint32(int32(ins.Offset))
	size := uint32(ins.Size().Bytes())
	if off >= DataSize || off%size != 0 {
		return l.refuse(i, "a load at offset %d of seccomp_data", int16(ins.Offset))
	}
	// The destination may be the context register itself.
	saved := l.mayCtx[i]
	l.mayCtx[i] &^= 1 << ins.Dst
	lo, hi, err := l.pair(i, ins.Dst)
	l.mayCtx[i] = saved
	if err != nil {
		return err
	}
	word := off &^ 3
	l.emit(clsLD|sizeW|modeABS, word)
	if size < 4 {
		if shift := 8 * (off & 3); shift != 0 {
			l.emit(clsALU|aluRSH|srcK, shift)
		}
		l.emit(clsALU|aluAND|srcK, uint32(1)<<(8*size)-1)
	}
	l.storeA(lo)
	if size == 8 {
		l.emit(clsLD|sizeW|modeABS, word+4)
	} else {
		l.setA(0)
	}
	l.storeA(hi)
	return nil
}

// classicALU maps eBPF ALU operations to classic ones that compute the
// same 32-bit result.
var classicALU = map[uint8]uint16{
	isa.ALUAdd: aluADD, isa.ALUSub: aluSUB, isa.ALUMul: aluMUL, isa.ALUOr: aluOR,
	isa.ALUAnd: aluAND, isa.ALUXor: aluXOR, isa.ALULsh: aluLSH, isa.ALURsh: aluRSH,
	isa.ALUDiv: aluDIV, isa.ALUMod: aluMOD,
}

// lowerALU32 lowers a 32-bit operation: the low word computed as classic
// BPF does, the high word zero.
func (l *lowering) lowerALU32(i int, ins isa.Instruction) error {
	op := ins.Op()
	if ins.Offset != 0 {
		return l.refuse(i, "signed division or a sign-extending move")
	}
	if op == isa.ALUEnd {
		return l.refuse(i, "a byte swap")
	}
	lo, hi, err := l.pair(i, ins.Dst)
	if err != nil {
		return err
	}
	switch op {
	case isa.ALUMov:
		if ins.Source() == isa.SourceK {
			l.setA(uint32(ins.Imm))
		} else {
			slo, _, err := l.pair(i, ins.Src)
			if err != nil {
				return err
			}
			l.loadA(slo)
		}
	case isa.ALUNeg:
		l.loadA(lo)
		l.emit(clsALU|aluNEG, 0)
	default:
		cop, ok := classicALU[op]
		if !ok {
			return l.refuse(i, "an operation classic BPF does not have (arithmetic shift)")
		}
		l.loadA(lo)
		if ins.Source() == isa.SourceK {
			k := uint32(ins.Imm)
			if (op == isa.ALUDiv || op == isa.ALUMod) && k == 0 {
				return l.refuse(i, "a division by zero")
			}
			l.emit(clsALU|cop|srcK, k)
		} else {
			if op == isa.ALUDiv || op == isa.ALUMod || op == isa.ALULsh || op == isa.ALURsh {
				return l.refuse(i, "a division or shift by a register, whose edge cases classic BPF treats otherwise")
			}
			slo, _, err := l.pair(i, ins.Src)
			if err != nil {
				return err
			}
			l.loadX(slo)
			l.emit(clsALU|cop|srcX, 0)
		}
	}
	l.storeA(lo)
	l.setA(0)
	l.storeA(hi)
	return nil
}

// lowerALU64 lowers the 64-bit operations classic BPF can do word by
// word: moves, bitwise operations and shifts by a constant.
func (l *lowering) lowerALU64(i int, ins isa.Instruction) error {
	op := ins.Op()
	if ins.Offset != 0 {
		return l.refuse(i, "signed division or a sign-extending move")
	}
	lo, hi, err := l.pair(i, ins.Dst)
	if err != nil {
		return err
	}
	k := uint64(ins.Imm) // sign-extended
	switch {
	case op == isa.ALUMov && ins.Source() == isa.SourceK:
		l.setPair(lo, hi, k)
		return nil
	case op == isa.ALUMov:
		slo, shi, err := l.pair(i, ins.Src)
		if err != nil {
			return err
		}
		l.loadA(slo)
		l.storeA(lo)
		l.loadA(shi)
		l.storeA(hi)
		return nil
	case op == isa.ALUAnd || op == isa.ALUOr || op == isa.ALUXor:
		cop := classicALU[op]
		if ins.Source() == isa.SourceK {
			for _, w := range []struct{ word, k uint32 }{{lo, uint32(k)}, {hi, uint32(k >> 32)}} {
				l.loadA(w.word)
				l.emit(clsALU|cop|srcK, w.k)
				l.storeA(w.word)
			}
			return nil
		}
		slo, shi, err := l.pair(i, ins.Src)
		if err != nil {
			return err
		}
		for _, w := range [][2]uint32{{lo, slo}, {hi, shi}} {
			l.loadX(w[1])
			l.loadA(w[0])
			l.emit(clsALU|cop|srcX, 0)
			l.storeA(w[0])
		}
		return nil
	case (op == isa.ALULsh || op == isa.ALURsh) && ins.Source() == isa.SourceK:
		l.shift64(lo, hi, op == isa.ALULsh, uint32(ins.Imm)&63)
		return nil
	}
	return l.refuse(i, "64-bit arithmetic (carries between the words) that classic BPF's 32-bit registers cannot do")
}

// shift64 shifts a register's 64 bits by n (0-63), left or right
// (logical).
func (l *lowering) shift64(lo, hi uint32, left bool, n uint32) {
	from, to := lo, hi // the word whose bits cross into the other: left, low into high
	if !left {
		from, to = hi, lo
	}
	op := uint16(aluRSH)
	back := uint16(aluLSH)
	if left {
		op, back = aluLSH, aluRSH
	}
	switch {
	case n == 0:
	case n >= 32:
		l.loadA(from)
		if n > 32 {
			l.emit(clsALU|op|srcK, n-32)
		}
		l.storeA(to)
		l.setA(0)
		l.storeA(from)
	default:
		// to = to op n | from back (32-n); from = from op n.
		l.loadA(from)
		l.emit(clsALU|back|srcK, 32-n)
		l.emit(clsMISC|miscTAX, 0)
		l.loadA(to)
		l.emit(clsALU|op|srcK, n)
		l.emit(clsALU|aluOR|srcX, 0)
		l.storeA(to)
		l.loadA(from)
		l.emit(clsALU|op|srcK, n)
		l.storeA(from)
	}
}

// lowerJump lowers exits, jumps and comparisons.
func (l *lowering) lowerJump(i int, ins isa.Instruction) error {
	op := ins.Op()
	switch op {
	case isa.JumpExit:
		lo, _, err := l.pair(i, isa.R0)
		if err != nil {
			return err
		}
		l.loadA(lo)
		l.emit(clsRET|retA, 0)
		return nil
	case isa.JumpCall:
		return l.refuse(i, "a call: a classic filter cannot call helpers or functions")
	case isa.JumpA:
		l.jump(l.labelOf(i, ins))
		return nil
	case isa.JumpCond:
		return l.refuse(i, "may_goto (a loop)")
	}
	wide := ins.Class() == isa.ClassJMP
	dlo, dhi, err := l.pair(i, ins.Dst)
	if err != nil {
		return err
	}
	// The operand: a constant, or a register's words.
	k := uint64(ins.Imm)
	var slo, shi uint32
	byReg := ins.Source() == isa.SourceX
	if byReg {
		if slo, shi, err = l.pair(i, ins.Src); err != nil {
			return err
		}
	}
	signed := op == isa.JumpSGT || op == isa.JumpSGE || op == isa.JumpSLT || op == isa.JumpSLE
	// taken: the label of the jump's target, through an ja; next: the
	// fall-through.
	taken, next := l.newLabel(), l.newLabel()
	t, f := taken, next
	var test uint16
	switch op {
	case isa.JumpEq:
		test = jmpJEQ
	case isa.JumpNE:
		test, t, f = jmpJEQ, next, taken
	case isa.JumpGT, isa.JumpSGT:
		test = jmpJGT
	case isa.JumpLE, isa.JumpSLE:
		test, t, f = jmpJGT, next, taken
	case isa.JumpGE, isa.JumpSGE:
		test = jmpJGE
	case isa.JumpLT, isa.JumpSLT:
		test, t, f = jmpJGE, next, taken
	case isa.JumpSet:
		test = jmpJSET
	default:
		return l.refuse(i, "a comparison classic BPF does not have")
	}
	// compare emits A = the word of dst (flipped for a signed compare:
	// classic BPF compares unsigned, and flipping the sign bit of both
	// sides orders them as signed), X = the operand's (flipped too), and
	// the test to the labels t and f.
	compare := func(test uint16, dword, sword, kword uint32, flip bool, t, f int) {
		flipK := uint32(0)
		if flip {
			flipK = 0x8000_0000
		}
		if byReg {
			l.loadA(sword)
			if flip {
				l.emit(clsALU|aluXOR|srcK, flipK)
			}
			l.emit(clsMISC|miscTAX, 0)
		}
		l.loadA(dword)
		if flip {
			l.emit(clsALU|aluXOR|srcK, flipK)
		}
		if byReg {
			l.branch(test, srcX, 0, t, f)
		} else {
			l.branch(test, srcK, kword^flipK, t, f)
		}
	}
	if !wide {
		compare(test, dlo, slo, uint32(k), signed, t, f)
	} else {
		// 64 bits: the high words decide unless they are equal; then
		// the low words do, unsigned.
		low := l.newLabel()
		switch test {
		case jmpJEQ:
			compare(jmpJEQ, dhi, shi, uint32(k>>32), false, low, f)
		case jmpJSET:
			compare(jmpJSET, dhi, shi, uint32(k>>32), false, t, low)
		default: // JGT, JGE: a greater high word makes it true, a smaller false
			equal := l.newLabel()
			compare(jmpJGT, dhi, shi, uint32(k>>32), signed, t, equal)
			l.mark(equal)
			compare(jmpJEQ, dhi, shi, uint32(k>>32), signed, low, f)
		}
		l.mark(low)
		compare(test, dlo, slo, uint32(k), false, t, f)
	}
	l.mark(taken)
	l.jump(l.labelOf(i, ins))
	l.mark(next)
	return nil
}

// labelOf is the label of a jump's target instruction.
func (l *lowering) labelOf(i int, ins isa.Instruction) int {
	target, _ := ins.JumpTarget(l.slots[i])
	if j, ok := l.indexOf[target]; ok {
		return l.labels[j]
	}
	return l.labels[len(l.insns)]
}

// The machine state an instruction reads or writes, as bits: A, X and the
// scratch words.
const (
	useA    = 1 << 16
	useX    = 1 << 17
	allMem  = 1<<scratchWords - 1
	noUses  = 0
	wordBit = 1
)

// effects says what a classic instruction reads and writes, and whether it
// may be removed when what it writes is never read (it does nothing else).
func effects(in Instruction) (uses, defs uint32, pure bool) {
	switch in.Code & 0x07 {
	case clsLD:
		if in.Code&^0x07 == sizeW|modeMEM {
			return wordBit << in.K, useA, true
		}
		return noUses, useA, true
	case clsLDX:
		if in.Code&^0x07 == sizeW|modeMEM {
			return wordBit << in.K, useX, true
		}
		return noUses, useX, true
	case clsST:
		return useA, wordBit << in.K, true
	case clsALU:
		if in.Code&srcX != 0 {
			return useA | useX, useA, true
		}
		return useA, useA, true
	case clsMISC:
		if in.Code&0xf8 == miscTXA {
			return useX, useA, true
		}
		return useA, useX, true
	case clsJMP:
		if in.Code&0xf0 == jmpJA {
			return noUses, 0, false
		}
		if in.Code&srcX != 0 {
			return useA | useX, 0, false
		}
		return useA, 0, false
	case clsRET:
		if in.Code&retA != 0 {
			return useA, 0, false
		}
		return noUses, 0, false
	}
	return useA | useX | allMem, 0, false
}

// optimize removes what lowering wrote and nothing reads — the high words
// of 32-bit values, stores of words that are loaded again at once, values
// computed for a branch not taken — until nothing more goes: a lowered
// register costs loads and stores in scratch memory on every system call.
// Classic jumps only go forward, so one backward pass finds what is live.
func (l *lowering) optimize() {
	for round := 0; ; round++ {
		if round > 10000 {
			panic(fmt.Sprintf("optimize loops: %d instructions", len(l.out)))
		}
		changed := l.thread()
		n := len(l.out)
		// labelled[i]: a jump lands on instruction i.
		labelled := make([]bool, n+1)
		for _, p := range l.out {
			switch {
			case p.cond:
				labelled[l.at[p.jt]], labelled[l.at[p.jf]] = true, true
			case p.ja >= 0:
				labelled[l.at[p.ja]] = true
			}
		}
		live := make([]uint32, n+1)
		remove := make([]bool, n)
		removed := 0
		// Instructions no path reaches go first.
		reached := make([]bool, n+1)
		reached[0] = true
		for i, p := range l.out {
			if !reached[i] {
				remove[i] = true
				removed++
				continue
			}
			switch {
			case p.cond:
				reached[l.at[p.jt]], reached[l.at[p.jf]] = true, true
			case p.ja >= 0:
				reached[l.at[p.ja]] = true
			case p.in.Code&0x07 != clsRET:
				reached[i+1] = true
			}
		}
		for i := n - 1; i >= 0; i-- {
			if remove[i] {
				live[i] = live[i+1]
				continue
			}
			p := l.out[i]
			var out uint32
			switch {
			case p.cond:
				out = live[l.at[p.jt]] | live[l.at[p.jf]]
			case p.ja >= 0:
				out = live[l.at[p.ja]]
			case p.in.Code&0x07 == clsRET:
			default:
				out = live[i+1]
			}
			uses, defs, pure := effects(p.in)
			// A store followed at once by a load of the same word, which
			// no jump reaches: A already holds the word.
			reload := i > 0 && !labelled[i] && p.in.Code == clsLD|sizeW|modeMEM &&
				l.out[i-1].in.Code == clsST && l.out[i-1].in.K == p.in.K && !remove[i-1]
			if pure && (defs&out == 0 || reload || p.redundant) {
				remove[i] = true
				removed++
				live[i] = out
				continue
			}
			live[i] = uses | out&^defs
		}
		if removed == 0 {
			if changed {
				continue
			}
			return
		}
		// Compact, moving each label to the next instruction that stays.
		newIndex := make([]int, n+1)
		kept := l.out[:0]
		for i := range n {
			newIndex[i] = len(kept)
			if !remove[i] {
				kept = append(kept, l.out[i])
			}
		}
		newIndex[n] = len(kept)
		l.out = kept
		for k, at := range l.at {
			if at >= 0 {
				l.at[k] = newIndex[at]
			}
		}
	}
}

// thread shortens control flow: a jump to an unconditional jump goes to
// its target, a jump to the filter's return (ld M[k]; ret a) becomes that
// return, and a return of A whose value the straight-line code before it
// set to a constant returns the constant (ret #K), so that each path ends
// where it decides, without the scratch words.
func (l *lowering) thread() (changed bool) {
	// final follows unconditional jumps from an instruction index.
	final := func(label int) int {
		for range len(l.out) {
			i := l.at[label]
			if i >= len(l.out) || l.out[i].ja < 0 {
				break
			}
			label = l.out[i].ja
		}
		return label
	}
	isReturn := func(j int) bool {
		return j+1 < len(l.out) && l.out[j].in.Code == clsLD|sizeW|modeMEM && l.out[j+1].in.Code == clsRET|retA
	}
	// insert puts instructions at index i, moving the labels behind it.
	insert := func(i int, ps ...pending) {
		l.out = append(l.out[:i], append(ps, l.out[i:]...)...)
		for k, at := range l.at {
			if at >= i {
				l.at[k] = at + len(ps)
			}
		}
	}
	for i := range l.out {
		p := &l.out[i]
		switch {
		case p.cond:
			for _, t := range []*int{&p.jt, &p.jf} {
				if f := final(*t); l.at[f]-i-1 <= 255 {
					*t = f
				}
			}
			// A branch to a return that other paths share gets a return
			// of its own right after the jump, where the value it returns
			// is known.
			for _, t := range []*int{&p.jt, &p.jf} {
				if j := l.at[*t]; j != i+1 && isReturn(j) && l.preds()[j] > 1 {
					load, ret := l.out[j], l.out[j+1]
					own := l.newLabel()
					insert(i+1, load, ret)
					l.at[own] = i + 1
					l.out[i].jt, l.out[i].jf = replaceLabel(l.out[i].jt, *t, own), replaceLabel(l.out[i].jf, *t, own)
					return true
				}
			}
		case p.ja >= 0:
			p.ja = final(p.ja)
			// A jump to "ld M[k]; ret a" is that return.
			if j := l.at[p.ja]; isReturn(j) {
				load, ret := l.out[j], l.out[j+1]
				l.out[i] = load
				insert(i+1, ret)
				return true // indexes moved: the next round goes on
			}
		}
	}
	// ret a where A is a constant on the one path that reaches it:
	// ret #K. Each instruction with one predecessor starts from the state
	// that predecessor left.
	type state struct {
		a       uint32
		aKnown  bool
		mem     [scratchWords]uint32
		memMask uint32
		aWord   int // the scratch word A equals, or -1
	}
	preds := l.preds()
	from := make([]int, len(l.out)+1) // the one predecessor, or -1
	for i := range from {
		from[i] = -1
	}
	for i, p := range l.out {
		for _, t := range l.successors(i, p) {
			from[t] = i
		}
	}
	out := make([]state, len(l.out))
	for i := range l.out {
		st := state{aWord: -1}
		if i > 0 && preds[i] == 1 && from[i] >= 0 {
			st = out[from[i]]
		}
		in := &l.out[i].in
		switch {
		case in.Code == clsLD|sizeW|modeIMM:
			st.a, st.aKnown, st.aWord = in.K, true, -1
		case in.Code == clsLD|sizeW|modeMEM:
			if st.aWord == int(in.K) {
				l.out[i].redundant = true
			}
			st.a, st.aKnown, st.aWord = st.mem[in.K], st.memMask&(1<<in.K) != 0, int(in.K)
		case in.Code == clsST:
			if st.aWord == int(in.K) {
				l.out[i].redundant = true // the word holds A already
			}
			st.aWord = int(in.K)
			if st.aKnown {
				st.mem[in.K] = st.a
				st.memMask |= 1 << in.K
			} else {
				st.memMask &^= 1 << in.K
			}
		case in.Code == clsRET|retA:
			if st.aKnown {
				*in = Instruction{Code: clsRET | retK, K: st.a}
				changed = true
			}
		case in.Code&0x07 == clsJMP, in.Code&0x07 == clsRET:
		default:
			if _, defs, _ := effects(*in); defs&useA != 0 {
				st.aKnown, st.aWord = false, -1
			}
		}
		out[i] = st
	}
	return changed
}

// replaceLabel is label, or to if it is from.
func replaceLabel(label, from, to int) int {
	if label == from {
		return to
	}
	return label
}

// successors are the instructions that may follow instruction i.
func (l *lowering) successors(i int, p pending) []int {
	switch {
	case p.cond:
		if l.at[p.jt] == l.at[p.jf] {
			return []int{l.at[p.jt]}
		}
		return []int{l.at[p.jt], l.at[p.jf]}
	case p.ja >= 0:
		return []int{l.at[p.ja]}
	case p.in.Code&0x07 == clsRET:
		return nil
	}
	return []int{i + 1}
}

// preds counts each instruction's predecessors.
func (l *lowering) preds() []int {
	n := make([]int, len(l.out)+1)
	for i, p := range l.out {
		for _, t := range l.successors(i, p) {
			n[t]++
		}
	}
	return n
}
