//go:build !linux

package link

import (
	"errors"
	"fmt"

	"github.com/waggle-ebpf/waggle"
)

type profileSys struct{}

// AttachProfile runs prog, a perf_event program, on timer samples of a
// command or a running process. Perf events are Linux's: elsewhere it
// fails with an error wrapping errors.ErrUnsupported.
func AttachProfile(prog *waggle.Program, opts ProfileOptions) (*ProfileLink, error) {
	return nil, fmt.Errorf("profile: sampling with perf events needs Linux: %w", errors.ErrUnsupported)
}

// ProfilingAvailable tells whether AttachProfile can sample: never off
// Linux (an error wrapping errors.ErrUnsupported).
func ProfilingAvailable() error {
	return fmt.Errorf("profile: sampling with perf events needs Linux: %w", errors.ErrUnsupported)
}
