//go:build !arm64

package jit

// syncInstructionCache has nothing to do where instruction fetches see
// data stores (x86-64), and nothing to do where there is no JIT.
func syncInstructionCache([]byte) {}
