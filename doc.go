// Package waggle runs eBPF programs in user space, in pure Go.
//
// A program is a sequence of eBPF instructions (package isa), from raw
// bytecode, from cilium/ebpf's asm.Instructions, or assembled from text
// (package assembler). NewProgram checks and prepares it; Program.Run runs
// it on memory that waggle owns, checking every load and store against the
// regions the program may touch, so that no program can crash the host, read
// or write outside its memory, or run forever.
//
// The API is modelled on cilium/ebpf's (ProgramSpec, NewProgram, RunOptions),
// so that code testing eBPF programs against the kernel can test them with
// waggle without root.
package waggle
