// Package assembler assembles eBPF programs written in the syntax of the
// bpf_conformance project's assembler, the syntax of the conformance test
// vectors ("-- asm" sections) that waggle runs, into isa.Instructions.
//
// Why: the conformance vectors are the main test suite of the runtime, and
// writing further tests, examples and fuzz seeds in the same readable syntax is
// far easier than writing bytecode. The assembler is also the reader of
// isa.SyntaxConformance, so that a program disassembled by package isa
// assembles back to the same bytecode.
//
// One instruction or label a line; "#" starts a comment. Operands are
// separated by commas or spaces:
//
//	mov32 %r0, 1            # 32-bit ALU; the 64-bit forms have no suffix
//	ldxw %r0, [%r1+4]       # loads, stores: [%rN], [%rN+off], [%rN-off]
//	stxdw [%r10-8], %r1
//	stw [%r10-4], 0x10
//	lock fetch add [%r10-8], %r1    # add, or, and, xor, xchg, cmpxchg; 32 suffix
//	ldacqdw %r0, [%r1+0]           # load-acquire: b, h, w, dw (BPF_LOAD_ACQ)
//	streldw [%r1+0], %r2           # store-release: b, h, w, dw (BPF_STORE_REL)
//	jeq %r1, 0x5, +3        # jump targets: +N, -N (slots) or a label
//	ja done
//	ja32 +70000             # 32-bit offset in the immediate
//	may_goto done           # jumps once the frame's 8M may_goto count is spent
//	call 5                  # helper 5 (also "call helper 5")
//	call local func1        # subprogram: label or +N/-N
//	call %r2                # callx
//	movsx864 %r0, %r1       # movsx<from><32|64>
//	be16 %r1                # be, le (ALU), bswap (ALU64)
//	lddw %r0, 0x1122334455667788
//	done:
//	exit
//
// Immediates are signed decimal or hexadecimal; a 32-bit immediate written in
// hexadecimal may go up to 0xffffffff and wraps to a negative int32, as in the
// reference assembler. A label is a name followed by a colon, on its own line
// or before an instruction; the name "exit" also refers, unless a label of
// that name is defined, to the first exit instruction of the program.
//
// Beyond the reference assembler's mnemonics, Assemble reads the extensions
// that isa.Instruction.Format prints in isa.SyntaxConformance, so that every
// valid instruction has a form that assembles back to it:
//
//	call runtime 7          # kfunc call (source 2); "call kfunc 7" too
//	callx %r2               # same as call %r2
//	lddw %r1, map_fd 3      # lddw source kinds: map_fd, map_value, btf_id,
//	lddw %r1, map_value 3, 16   # func, map_idx, map_idx_value
//	lddw %r1, func +3       # or a label
//	ldabsw 12               # legacy packet loads: ldabs{b,h,w},
//	ldindh %r1, 12          # ldind{b,h,w}
//	add64 %r1, 2            # ALU mnemonics take an optional 64 suffix
//	.raw 0x0000000500120107 # any instruction as its one or two slots
//	.invalid 0x00000000000000f7   # the same, for an invalid instruction
//
// Assemble does not validate the program (isa.Instructions.Validate does), so
// that tests can build invalid programs; it rejects only text that does not
// describe an encoding: unknown mnemonics, wrong operands, registers above
// r10, immediates and offsets that do not fit their fields, and undefined or
// duplicate labels. Errors are *Error values naming the line.
package assembler
