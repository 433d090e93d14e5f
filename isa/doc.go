// Package isa describes the eBPF instruction set of RFC 9669 (cpu v4): the
// encoding of an instruction, its opcode fields, decoding from raw bytecode and
// from cilium/ebpf's asm.Instructions, encoding back to bytecode, and
// disassembly in two syntaxes.
//
// An Instruction is one logical instruction. The 64-bit immediate load (lddw)
// occupies two 8-byte slots in bytecode but is one Instruction here, with its
// whole constant in Imm; jump and call offsets keep counting slots, as in the
// bytecode.
package isa
