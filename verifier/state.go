package verifier

import (
	"slices"

	"github.com/waggle-ebpf/waggle/isa"
)

// regType is the kind of value a register holds.
type regType uint8

const (
	regNotInit    regType = iota // never written: may not be read
	regScalar                    // a number
	regCtx                       // the program's context
	regStack                     // a pointer into a stack frame
	regMapPtr                    // a map (lddw of a map, CONST_PTR_TO_MAP)
	regMapValue                  // a pointer into a map value
	regMapKey                    // a pointer to a map key (for_each_map_elem callbacks)
	regPacket                    // a pointer into the packet
	regPacketMeta                // a pointer into the packet's metadata
	regPacketEnd                 // the end of the packet
	regMem                       // a pointer to memory of a known size (ring buffer record, ...)
	regFunc                      // a function of the program (lddw of a function)
	regSock                      // a pointer to a socket (__sk_buff.sk, bpf_sk_lookup_*)
)

// Register flags.
const (
	flagMaybeNull uint8 = 1 << iota // the pointer may be NULL: test it first
	flagRdonly                      // the memory is read-only
	flagRingbuf                     // a ring buffer record (acquired)
	// A scalar linked (id) to others plus a constant (off), by a 64-bit
	// or 32-bit addition.
	flagAddConst
	flagAddConst32
	// flagFullSock marks a socket pointer to a full socket
	// (PTR_TO_SOCKET, from bpf_sk_lookup_*), whose fields beyond the
	// common ones may be read.
	flagFullSock
)

// reg is the abstract value of a register or of a spilled register.
type reg struct {
	typ   regType
	flags uint8
	frame uint8 // the frame a stack pointer points into
	// precise marks a scalar whose exact bounds matter for the safety of
	// what follows; states that differ only in imprecise scalars are
	// equivalent.
	precise bool
	// off is the fixed offset of a pointer; s holds its variable offset
	// (0 for a pointer without one), or the value of a scalar.
	off int32
	// id links registers: copies of a pointer that may be NULL (a NULL
	// test applies to all), packet pointers with the same variable offset
	// (a bounds check applies to all), copies of a scalar (a comparison
	// refines all), the lock a map value holds.
	id uint32
	// ref is the reference a pointer holds (ring buffer record), which
	// must be released.
	ref uint32
	// aux is the map (index into verifier.maps) of map pointers, values
	// and keys, the subprogram of function pointers.
	aux int32
	// size is the number of bytes known to be in the packet after the
	// pointer (packet pointers, "range"), or the size of memory (regMem).
	size int32
	s    scalar
	// origin is the instruction that made the value, for explanations;
	// -1 when unknown.
	origin int32
}

// Special packet ranges (reg.size of packet pointers), as the kernel's.
const (
	rangeBeyondEnd = -1 // the pointer is known to be past data_end
	rangeAtEnd     = -2 // the pointer is known to be data_end
)

func (r *reg) isPtr() bool { return r.typ != regNotInit && r.typ != regScalar }

func (r *reg) isPacketPtr() bool { return r.typ == regPacket || r.typ == regPacketMeta }

func (r *reg) maybeNull() bool { return r.flags&flagMaybeNull != 0 }

// isConst reports whether a scalar is a known constant.
func (r *reg) isConst() bool { return r.typ == regScalar && r.s.isConst() }

func (r *reg) constVal() uint64 { return r.s.t.v }

// isNull reports whether the register is the constant 0.
func (r *reg) isNull() bool { return r.isConst() && r.s.t.v == 0 }

// hasVarOff reports whether a pointer has a variable offset.
func (r *reg) hasVarOff() bool { return !r.s.isConst() || r.s.t.v != 0 }

func scalarReg(s scalar, origin int) reg {
	return reg{typ: regScalar, s: s, origin: int32(origin), aux: -1}
}

func unknownReg(origin int) reg { return scalarReg(unknownScalar(), origin) }

func constReg(v uint64, origin int) reg { return scalarReg(constScalar(v), origin) }

// ptrReg is a pointer of type t with no offset.
func ptrReg(t regType, origin int) reg {
	return reg{typ: t, s: constScalar(0), origin: int32(origin), aux: -1}
}

// Stack slot byte kinds.
const (
	stInvalid uint8 = iota // never written
	stMisc                 // some data
	stZero                 // known zero
	stSpill                // part of a spilled register
)

const (
	stackSize = 512
	maxFrames = 8
	regSize   = 8
)

// stackSlot is 8 bytes of a stack frame: the kind of each byte (index 0
// the lowest address) and the register spilled there.
type stackSlot struct {
	kind  [regSize]uint8
	spill reg
}

// spilled reports whether the slot holds a register spilled at its start
// (its lowest byte is part of the spill), and its size.
func (s *stackSlot) spilled() (size int, ok bool) {
	if s.kind[0] != stSpill {
		return 0, false
	}
	n := 1
	for n < regSize && s.kind[n] == stSpill {
		n++
	}
	return n, true
}

// frame is the state of one function invocation.
type frame struct {
	regs [11]reg
	// stack[i] covers the bytes [-8(i+1), -8i) below the frame pointer.
	stack []stackSlot
	// callsite is the instruction index of the call that made the frame,
	// -1 for the program's entry.
	callsite int
	subprog  int
	// callback is set when the frame runs a callback of a helper (its
	// callsite is the helper call); cbHelper is that helper.
	callback bool
	cbHelper int32
	// serial identifies the invocation: frames of a checkpoint and of a
	// later state with the same serial are the same frame.
	serial uint32
	// written marks (bit spi) the slots the path wrote whole (8 bytes)
	// since its last checkpoint: a later read of them does not read the
	// checkpoint's value (the kernel's REG_LIVE_WRITTEN).
	written uint64
	// read marks, in a checkpoint, the slots that some path from it read
	// before writing them whole (the kernel's REG_LIVE_READ): the others
	// are dead there and do not keep states apart.
	read uint64
}

// slot returns the stack slot spi, growing the stack.
func (f *frame) slot(spi int) *stackSlot {
	for len(f.stack) <= spi {
		f.stack = append(f.stack, stackSlot{})
	}
	return &f.stack[spi]
}

// refState is an acquired reference.
type refState struct {
	id   uint32
	insn int    // where it was acquired
	kind string // "ring buffer record"
}

// lockState is the bpf_spin_lock a path holds.
type lockState struct {
	held bool
	aux  int32  // the map
	id   uint32 // the id of the map value pointer
	off  int32
	insn int
}

// pathNode is one branch decision, in a list shared by the states that
// descend from it.
type pathNode struct {
	text string
	// When text is "", the decision of the conditional jump ins at insn,
	// how it went, formatted only when an explanation needs it.
	ins  isa.Instruction
	insn int32
	how  string
	// why, when set, gives the reason of a decision known in advance,
	// formatted only when an explanation needs it.
	why  func() string
	prev *pathNode
	n    int
}

func (p *pathNode) String() string {
	if p.text != "" {
		return p.text
	}
	s := "insn " + itoa(int(p.insn)) + ": if " + condText(p.ins) + ": " + p.how
	if p.why != nil {
		s += p.why()
	}
	return s
}

// state is the abstract state of the machine on one path.
type state struct {
	frames []*frame
	refs   []refState
	lock   lockState
	path   *pathNode
	// parent is the last checkpoint this state went through; branches
	// counts the paths that still descend from a checkpoint (for the
	// checkpoints only).
	parent   *state
	branches int
	insn     int // the instruction a checkpoint is at
	last     int // the last instruction a checkpoint's path ran before it
	// first is the instruction where the state started since its parent
	// checkpoint; hist lists the jumps taken since (for precision
	// tracking).
	first int
	hist  []histEntry
	// cbDepth counts the callbacks entered on the path: states of
	// different iterations of a callback are not an infinite loop.
	cbDepth int
	// mayGotoDepth counts the may_goto instructions the path fell
	// through: states of different iterations of a may_goto loop are
	// compared by range, not taken for an infinite loop.
	mayGotoDepth int
	// loops are the loop heads (checkpoints still being explored) that
	// paths from this checkpoint were pruned against.
	loops []*state
	// forgotten marks a checkpoint no longer compared (evicted from its
	// instruction's list): its frames go back to the pool once its paths
	// are all explored (pathDone).
	forgotten bool
}

// openLoops returns the loops of a checkpoint still being explored.
func (s *state) openLoops() []*state {
	var out []*state
	for _, a := range s.loops {
		if a.branches > 0 {
			out = append(out, a)
		}
	}
	return out
}

// histEntry is a jump in a state's history: from prev to idx.
type histEntry struct {
	idx, prev int32
	// stack access: frame+1 and slot of a fill or spill at idx, or 0.
	frame uint8
	spi   uint8
	// linked lists the registers and stack slots linked to a conditional
	// jump's operands, for precision backtracking; nil for none.
	linked *linkSet
}

// linkSet is a set of registers and stack slots per frame (as btState's).
type linkSet struct {
	regs  [maxFrames]uint16
	stack [maxFrames]uint64
}

func (s *state) cur() *frame { return s.frames[len(s.frames)-1] }

// addPath records a branch decision.
func (s *state) addPath(text string) {
	n := 1
	if s.path != nil {
		n = s.path.n + 1
	}
	s.path = &pathNode{text: text, prev: s.path, n: n}
}

// addJump records the decision of a conditional jump (how: "taken",
// "not taken", "always taken", "never taken").
func (s *state) addJump(insn int, ins isa.Instruction, how string) {
	n := 1
	if s.path != nil {
		n = s.path.n + 1
	}
	s.path = &pathNode{ins: ins, insn: int32(insn), how: how, prev: s.path, n: n}
}

// addKnownJump records the decision of a conditional jump whose direction
// was known, with the reason.
func (s *state) addKnownJump(insn int, ins isa.Instruction, how string, why func() string) {
	s.addJump(insn, ins, how)
	s.path.why = why
}

// pathList returns the last max decisions, first to last.
func (s *state) pathList(max int) []string {
	var out []string
	p := s.path
	for p != nil && len(out) < max {
		out = append(out, p.String())
		p = p.prev
	}
	if p != nil {
		out = append(out, "... "+itoa(p.n)+" earlier decisions")
	}
	slices.Reverse(out)
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// forEachReg calls f for every register and spilled register of every
// frame.
func (s *state) forEachReg(f func(r *reg)) {
	for _, fr := range s.frames {
		for i := range fr.regs {
			f(&fr.regs[i])
		}
		for i := range fr.stack {
			if fr.stack[i].kind[0] == stSpill || fr.stack[i].spill.typ != regNotInit {
				f(&fr.stack[i].spill)
			}
		}
	}
}
