package isa

// Class is the low three bits of an opcode: the instruction class.
type Class uint8

// The eight instruction classes.
const (
	ClassLD    Class = 0x00 // non-standard loads: lddw, legacy packet loads
	ClassLDX   Class = 0x01 // load into a register
	ClassST    Class = 0x02 // store an immediate
	ClassSTX   Class = 0x03 // store a register, atomics
	ClassALU   Class = 0x04 // 32-bit arithmetic
	ClassJMP   Class = 0x05 // 64-bit jumps, calls, exit
	ClassJMP32 Class = 0x06 // 32-bit jumps
	ClassALU64 Class = 0x07 // 64-bit arithmetic
)

// Source selects the second operand of ALU and jump instructions.
const (
	SourceK uint8 = 0x00 // the immediate
	SourceX uint8 = 0x08 // the source register
)

// ALU operations (bits 4-7 of an ALU or ALU64 opcode).
const (
	ALUAdd  uint8 = 0x00
	ALUSub  uint8 = 0x10
	ALUMul  uint8 = 0x20
	ALUDiv  uint8 = 0x30 // sdiv when Offset is 1
	ALUOr   uint8 = 0x40
	ALUAnd  uint8 = 0x50
	ALULsh  uint8 = 0x60
	ALURsh  uint8 = 0x70
	ALUNeg  uint8 = 0x80
	ALUMod  uint8 = 0x90 // smod when Offset is 1
	ALUXor  uint8 = 0xa0
	ALUMov  uint8 = 0xb0 // movsx when Offset is 8, 16 or 32
	ALUArsh uint8 = 0xc0
	ALUEnd  uint8 = 0xd0 // byte swaps: le/be in ALU, bswap in ALU64
)

// Jump operations (bits 4-7 of a JMP or JMP32 opcode).
const (
	JumpA    uint8 = 0x00 // ja; in JMP32, gotol with a 32-bit offset in Imm
	JumpEq   uint8 = 0x10
	JumpGT   uint8 = 0x20
	JumpGE   uint8 = 0x30
	JumpSet  uint8 = 0x40
	JumpNE   uint8 = 0x50
	JumpSGT  uint8 = 0x60
	JumpSGE  uint8 = 0x70
	JumpCall uint8 = 0x80
	JumpExit uint8 = 0x90
	JumpLT   uint8 = 0xa0
	JumpLE   uint8 = 0xb0
	JumpSLT  uint8 = 0xc0
	JumpSLE  uint8 = 0xd0
	// JumpCond (BPF_JCOND) is a conditional jump whose condition the
	// runtime decides; its only kind is may_goto (source register
	// MayGoto), in the JMP class with an immediate source (opcode 0xe5).
	JumpCond uint8 = 0xe0
)

// MayGoto is the source register value of a JumpCond instruction that is
// may_goto (BPF_MAY_GOTO, Linux 6.9): a jump taken only when the program has
// run the may_goto instructions of its frame MayGotoLimit times.
const MayGoto uint8 = 0

// MayGotoLimit is the number of times may_goto falls through in one frame
// before it jumps (the kernel's BPF_MAX_LOOPS, 8 * 1024 * 1024).
const MayGotoLimit = 8 * 1024 * 1024

// Size is the access width of load and store instructions (bits 3-4).
type Size uint8

// Access widths.
const (
	SizeW  Size = 0x00 // 4 bytes
	SizeH  Size = 0x08 // 2 bytes
	SizeB  Size = 0x10 // 1 byte
	SizeDW Size = 0x18 // 8 bytes
)

// Bytes is the number of bytes the size accesses.
func (s Size) Bytes() int {
	switch s {
	case SizeB:
		return 1
	case SizeH:
		return 2
	case SizeW:
		return 4
	default:
		return 8
	}
}

// Mode is the addressing mode of load and store instructions (bits 5-7).
type Mode uint8

// Addressing modes.
const (
	ModeIMM    Mode = 0x00 // lddw
	ModeABS    Mode = 0x20 // legacy packet load at an absolute offset
	ModeIND    Mode = 0x40 // legacy packet load at a register offset
	ModeMEM    Mode = 0x60 // regular load and store
	ModeMEMSX  Mode = 0x80 // sign-extending load
	ModeATOMIC Mode = 0xc0 // atomic read-modify-write
)

// Atomic operations, held in the immediate of an atomic instruction.
const (
	AtomicAdd     int32 = 0x00
	AtomicOr      int32 = 0x40
	AtomicAnd     int32 = 0x50
	AtomicXor     int32 = 0xa0
	AtomicFetch   int32 = 0x01 // flag: return the old value in the source register
	AtomicXchg    int32 = 0xe0 | AtomicFetch
	AtomicCmpXchg int32 = 0xf0 | AtomicFetch
	// AtomicLoadAcquire loads Dst from memory at Src+Offset with acquire
	// ordering (BPF_LOAD_ACQ, Linux 6.14), zero-extending 1, 2 and 4 bytes.
	AtomicLoadAcquire int32 = 0x100
	// AtomicStoreRelease stores Src to memory at Dst+Offset with release
	// ordering (BPF_STORE_REL, Linux 6.14).
	AtomicStoreRelease int32 = 0x110
)

// Source register values of a call instruction.
const (
	CallHelper uint8 = 0 // Imm is a helper ID
	CallLocal  uint8 = 1 // Imm is a slot offset to a subprogram (BPF_PSEUDO_CALL)
	CallKfunc  uint8 = 2 // Imm is a kernel function's BTF ID (BPF_PSEUDO_KFUNC_CALL)
)

// Source register values of lddw: what the 64-bit immediate means. The loader
// resolves every kind but PseudoNone before a program runs.
const (
	PseudoNone        uint8 = 0 // a plain constant
	PseudoMapFD       uint8 = 1 // Imm is a map file descriptor
	PseudoMapValue    uint8 = 2 // low 32 bits a map fd, high 32 bits an offset into its value
	PseudoBTFID       uint8 = 3 // a kernel variable's BTF ID
	PseudoFunc        uint8 = 4 // Imm is a slot offset to a subprogram: its address
	PseudoMapIdx      uint8 = 5 // Imm is an index into the program's map array
	PseudoMapIdxValue uint8 = 6 // like PseudoMapValue, with a map index
)

// Frequently used full opcodes.
const (
	OpLdDW  uint8 = uint8(ClassLD) | uint8(ModeIMM) | uint8(SizeDW) // 0x18
	OpCall  uint8 = uint8(ClassJMP) | JumpCall                      // 0x85
	OpCallX uint8 = uint8(ClassJMP) | JumpCall | SourceX            // 0x8d
	OpExit  uint8 = uint8(ClassJMP) | JumpExit                      // 0x95
	OpJA    uint8 = uint8(ClassJMP) | JumpA                         // 0x05
	OpJA32  uint8 = uint8(ClassJMP32) | JumpA                       // 0x06
	OpMov64 uint8 = uint8(ClassALU64) | ALUMov | SourceK            // 0xb7
	OpJCond uint8 = uint8(ClassJMP) | JumpCond                      // 0xe5, may_goto
)
