//go:build !linux || !amd64

package link

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/waggle-ebpf/waggle"
)

// uprobeTracer: uprobes need Linux on x86-64 (ptrace, int3).
type uprobeTracer struct{}

func (*uprobeTracer) exitCode() int               { return -1 }
func (*uprobeTracer) stats() UprobeStats          { return UprobeStats{Handling: time.Duration(0)} }
func (*uprobeTracer) programs() []*waggle.Program { return nil }

// AttachUprobe needs Linux on x86-64: elsewhere it fails with an error
// wrapping errors.ErrUnsupported.
func AttachUprobe(UprobeOptions) (*UprobeLink, error) {
	return nil, fmt.Errorf("attach uprobe: waggle's uprobes need Linux on x86-64 (ptrace and int3 breakpoints), this is %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}
