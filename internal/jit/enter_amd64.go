package jit

import "github.com/waggle-ebpf/waggle/internal/jit/amd64"

// Supported reports whether waggle can compile programs for this machine.
const Supported = true

// enter runs compiled code at code with ctx (see enter_amd64.s).
//
//go:noescape
func enter(code uintptr, ctx *amd64.Context)
