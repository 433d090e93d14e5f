//go:build !amd64

package jit

import (
	"errors"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// Supported reports whether waggle can compile programs for this machine.
const Supported = false

func compileNative(abi.Input) (*abi.Output, error) {
	return nil, errors.New("waggle has no compiler for this machine")
}

func enter(code uintptr, ctx *abi.Context) {
	panic("jit: no compiler for this machine")
}
