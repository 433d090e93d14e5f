package kernel

import "github.com/cilium/ebpf"

// RawMemory is a program type of waggle's own, outside the kernel's range of
// program types: a program that runs on a block of memory, for embedding
// eBPF as a plain function. r1 is the address of a writable copy of
// Input.Data (0 if it is empty) and r2 its length; Output.Data is that
// memory after the run. It may call the generic helpers (maps, time,
// printing, strings, loops, probe_read*) and bpf_csum_diff.
const RawMemory ebpf.ProgramType = 0x7761_0001

// rawMemoryType is RawMemory: no context structure; the verifier treats
// r1 as a packet whose length is r2.
var rawMemoryType = ProgramType{
	Name:         "raw",
	Types:        []ebpf.ProgramType{RawMemory},
	Context:      CtxDesc{Name: "raw memory", Memory: true, Writable: true},
	WritesPacket: true,
	RawPacket:    true,
	helpers:      tRaw,
	context:      rawDataKind{},
}
