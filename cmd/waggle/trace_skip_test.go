package main

import (
	"runtime"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// skipUnlessTrace skips a test of waggle trace where it cannot run:
// off Linux on x86-64, under emulation, or where ptrace is refused.
func skipUnlessTrace(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("waggle trace needs Linux on x86-64; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	kerneltest.SkipIfEmulated(t, "waggle trace sets int3 breakpoints through ptrace, which an emulator does not forward")
	if err := ptraceAllowed(); err != nil {
		t.Skipf("ptrace is not permitted here (PTRACE_SEIZE of a child: %v)", err)
	}
}
