//go:build !amd64

package jit

import "github.com/waggle-ebpf/waggle/internal/jit/amd64"

// Supported reports whether waggle can compile programs for this machine.
const Supported = false

func enter(code uintptr, ctx *amd64.Context) {
	panic("jit: no compiler for this machine")
}
