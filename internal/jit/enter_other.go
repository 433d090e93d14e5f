//go:build !amd64 || !linux

package jit

import (
	"errors"
	"runtime"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// Supported reports whether waggle can compile programs for this machine:
// Linux on amd64.
const Supported = false

// Unsupported says why Supported is false: on arm64 the JIT has no
// backend yet; on amd64 outside Linux the backend builds, but its runtime
// (executable memory, entering code on a stack of its own, the exits to
// Go) is not enabled, since no test has run it there.
var Unsupported = func() string {
	if runtime.GOARCH == "amd64" {
		return "waggle's JIT runs on Linux/amd64 only: on " + runtime.GOOS + " its runtime is not enabled, since no test has run it there"
	}
	return "waggle's JIT has no backend for " + runtime.GOARCH + " yet (amd64 only)"
}()

func compileNative(abi.Input) (*abi.Output, error) {
	return nil, errors.New(Unsupported)
}

func enter(code uintptr, ctx *abi.Context) {
	panic("jit: no compiler for this machine")
}
