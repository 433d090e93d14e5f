//go:build linux

package jit

import "github.com/waggle-ebpf/waggle/internal/jit/amd64"

// compileNative is this machine's backend.
var compileNative = amd64.Compile
