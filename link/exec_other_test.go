//go:build !linux

package link_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/link"
)

// TestAttachExecNeedsLinux checks that, off Linux, AttachExec says that
// system call policies need Linux.
func TestAttachExecNeedsLinux(t *testing.T) {
	l, err := link.AttachExec(nil, link.ExecOptions{Path: "true"})
	if l != nil || err == nil || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "need Linux") {
		t.Fatalf("AttachExec = %v, %v; want an error saying system call policies need Linux", l, err)
	}
}
