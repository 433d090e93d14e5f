// Package waggle runs eBPF programs in user space, in pure Go.
//
// LoadCollectionSpec reads the objects that clang and cilium/ebpf's bpf2go
// produce; NewCollection creates their maps and loads their programs. A
// program is also a sequence of eBPF instructions (package isa), from raw
// bytecode, from cilium/ebpf's asm.Instructions, or assembled from text
// (package assembler), that NewProgram loads.
//
// Loading verifies every program (package verifier), as the kernel does,
// and on Linux/amd64 and Linux/arm64 compiles it to machine code (see Engine); Program.Run runs it
// with the kernel's contexts, helpers and maps. Programs loaded without
// verification run checked: every load and store is compared with the
// memory the program may touch, and a budget bounds the run, so that no
// program can crash the host, read or write outside its memory, or run
// forever.
//
// The API is modelled on cilium/ebpf's (CollectionSpec, NewCollection,
// ProgramSpec, NewProgram, RunOptions, Map), so that code testing eBPF
// programs against the kernel can test them with waggle without root.
// Code that cilium/ebpf's bpf2go generates switches by its go:generate
// line: `waggle gen` writes it with waggle's types, and
// CollectionSpec.LoadAndAssign fills its structs.
package waggle
