//go:build linux

package jit

import "github.com/waggle-ebpf/waggle/internal/jit/arm64"

// compileNative is this machine's backend.
var compileNative = arm64.Compile
