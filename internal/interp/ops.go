package interp

// opcode is the interpreter's own dense operation code: every variant that
// the bytecode selects with its class, source, size, mode, offset or
// immediate gets its own value, so that the run loop dispatches once through
// one jump table.
type opcode uint8

const (
	opInvalid opcode = iota // the second slot of an lddw; never executed

	// 64-bit ALU, immediate and register forms.
	opAdd64K
	opAdd64X
	opSub64K
	opSub64X
	opMul64K
	opMul64X
	opDiv64K
	opDiv64X
	opSDiv64K
	opSDiv64X
	opOr64K
	opOr64X
	opAnd64K
	opAnd64X
	opLsh64K
	opLsh64X
	opRsh64K
	opRsh64X
	opNeg64
	opMod64K
	opMod64X
	opSMod64K
	opSMod64X
	opXor64K
	opXor64X
	opMov64K
	opMov64X
	opMovSX8to64
	opMovSX16to64
	opMovSX32to64
	opArsh64K
	opArsh64X

	// 32-bit ALU: results are zero-extended to 64 bits.
	opAdd32K
	opAdd32X
	opSub32K
	opSub32X
	opMul32K
	opMul32X
	opDiv32K
	opDiv32X
	opSDiv32K
	opSDiv32X
	opOr32K
	opOr32X
	opAnd32K
	opAnd32X
	opLsh32K
	opLsh32X
	opRsh32K
	opRsh32X
	opNeg32
	opMod32K
	opMod32X
	opSMod32K
	opSMod32X
	opXor32K
	opXor32X
	opMov32K
	opMov32X
	opMovSX8to32
	opMovSX16to32
	opArsh32K
	opArsh32X

	// Byte order: on a little-endian host le is a truncation and be a swap.
	opZext16
	opZext32
	opNop
	opSwap16
	opSwap32
	opSwap64

	// 64-bit immediate load.
	opLdDW

	// Loads, stores and atomics.
	opLdxB
	opLdxH
	opLdxW
	opLdxDW
	opLdxSB
	opLdxSH
	opLdxSW
	opStB
	opStH
	opStW
	opStDW
	opStxB
	opStxH
	opStxW
	opStxDW
	opAtomicAdd32
	opAtomicOr32
	opAtomicAnd32
	opAtomicXor32
	opAtomicFetchAdd32
	opAtomicFetchOr32
	opAtomicFetchAnd32
	opAtomicFetchXor32
	opAtomicXchg32
	opAtomicCmpXchg32
	opAtomicAdd64
	opAtomicOr64
	opAtomicAnd64
	opAtomicXor64
	opAtomicFetchAdd64
	opAtomicFetchOr64
	opAtomicFetchAnd64
	opAtomicFetchXor64
	opAtomicXchg64
	opAtomicCmpXchg64
	opLoadAcqB
	opLoadAcqH
	opLoadAcqW
	opLoadAcqDW
	opStoreRelB
	opStoreRelH
	opStoreRelW
	opStoreRelDW

	// Legacy packet loads.
	opLdAbsB
	opLdAbsH
	opLdAbsW
	opLdIndB
	opLdIndH
	opLdIndW

	// Jumps: target holds the absolute slot.
	opJA
	opMayGoto // jumps when the run's may_goto count is spent, else counts down
	opJEq64K
	opJEq64X
	opJGT64K
	opJGT64X
	opJGE64K
	opJGE64X
	opJSet64K
	opJSet64X
	opJNE64K
	opJNE64X
	opJSGT64K
	opJSGT64X
	opJSGE64K
	opJSGE64X
	opJLT64K
	opJLT64X
	opJLE64K
	opJLE64X
	opJSLT64K
	opJSLT64X
	opJSLE64K
	opJSLE64X
	opJEq32K
	opJEq32X
	opJGT32K
	opJGT32X
	opJGE32K
	opJGE32X
	opJSet32K
	opJSet32X
	opJNE32K
	opJNE32X
	opJSGT32K
	opJSGT32X
	opJSGE32K
	opJSGE32X
	opJLT32K
	opJLT32X
	opJLE32K
	opJLE32X
	opJSLT32K
	opJSLT32X
	opJSLE32K
	opJSLE32X

	// Calls and exit.
	opCall      // helper by resolved index
	opCallLocal // subprogram at target
	opCallX     // helper whose ID is in dst
	opExit
)
