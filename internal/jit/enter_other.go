//go:build !linux || !(amd64 || arm64)

package jit

import (
	"errors"
	"runtime"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// Supported reports whether waggle can compile programs for this machine:
// Linux on amd64 or arm64.
const Supported = false

// Unsupported says why Supported is false. Outside Linux the backends
// build, but their runtime (executable memory, entering code on a stack
// of its own, the exits to Go) is not enabled, since no test has run it
// there. On macOS/arm64 executable memory would also need MAP_JIT and
// libSystem's pthread_jit_write_protect_np around every write of code,
// with the goroutine locked to its thread: reachable without cgo only
// through a hand-made libSystem trampoline (as golang.org/x/sys/unix
// makes its calls), which no test here can run, so programs are
// interpreted there.
var Unsupported = func() string {
	switch {
	case runtime.GOOS == "darwin" && runtime.GOARCH == "arm64":
		return "waggle's JIT runs on Linux (amd64, arm64) only: on macOS/arm64 executable memory needs MAP_JIT and pthread_jit_write_protect_np, a libSystem function that Go reaches only through cgo or a hand-made trampoline no test here has run, so programs are interpreted"
	case runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64":
		return "waggle's JIT runs on Linux (amd64, arm64) only: on " + runtime.GOOS + " its runtime is not enabled, since no test has run it there"
	}
	return "waggle's JIT has no backend for " + runtime.GOARCH + " (amd64 and arm64 only)"
}()

func compileNative(abi.Input) (*abi.Output, error) {
	return nil, errors.New(Unsupported)
}

func enter(code uintptr, ctx *abi.Context) {
	panic("jit: no compiler for this machine")
}
