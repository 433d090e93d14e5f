//go:build linux && (amd64 || arm64)

package jit

import "github.com/waggle-ebpf/waggle/internal/jit/abi"

// Supported reports whether waggle can compile programs for this machine:
// Linux on amd64 or arm64.
const Supported = true

// Unsupported says why Supported is false; "" here.
var Unsupported = ""

// enter runs compiled code at code with ctx (see enter_amd64.s and
// enter_arm64.s).
//
//go:noescape
func enter(code uintptr, ctx *abi.Context)
