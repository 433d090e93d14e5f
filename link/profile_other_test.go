//go:build !linux

package link_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/link"
)

// TestAttachProfileNeedsLinux checks that, off Linux, profiles say that
// perf events need Linux.
func TestAttachProfileNeedsLinux(t *testing.T) {
	l, err := link.AttachProfile(nil, link.ProfileOptions{Path: "true"})
	if l != nil || err == nil || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "needs Linux") {
		t.Fatalf("AttachProfile = %v, %v; want an error saying perf events need Linux", l, err)
	}
	if err := link.ProfilingAvailable(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("ProfilingAvailable = %v, want errors.ErrUnsupported", err)
	}
}
