//go:build linux

package jit

import (
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/internal/jit/arm64"
)

// Supported reports whether waggle can compile programs for this machine:
// Linux on amd64 or arm64.
const Supported = true

// Unsupported says why Supported is false; "" here.
var Unsupported = ""

// compileNative is this machine's backend.
var compileNative = arm64.Compile

// enter runs compiled code at code with ctx (see enter_arm64.s).
//
//go:noescape
func enter(code uintptr, ctx *abi.Context)
