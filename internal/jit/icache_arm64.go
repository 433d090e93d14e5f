package jit

import "unsafe"

// syncInstructionCache makes the instruction fetches of every core see
// the code just written to mem, as AArch64 requires: its instruction
// cache is not coherent with data stores (see icache_arm64.s).
func syncInstructionCache(mem []byte) {
	if len(mem) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	flushCode(start, start+uintptr(len(mem)))
}

// flushCode cleans the data cache to the point of unification and
// invalidates the instruction cache over [start, end), line by line with
// the line sizes of CTR_EL0, then synchronizes the instruction stream.
//
//go:noescape
func flushCode(start, end uintptr)
