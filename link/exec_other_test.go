//go:build !linux

package link_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/link"
)

// TestExecNeedsLinux checks that, off Linux, AttachExec and AttachProcess
// say that system call hooks need Linux, before they look at their
// arguments.
func TestExecNeedsLinux(t *testing.T) {
	want := "system call hooks need Linux (seccomp, ptrace), this is " + runtime.GOOS
	l, err := link.AttachExec(nil, link.ExecOptions{Path: "true"})
	if l != nil || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "attach exec: ") {
		t.Errorf("AttachExec = %v, %v; want an error saying %q", l, err, want)
	}
	l, err = link.AttachProcess(link.ProcessOptions{PID: 1})
	if l != nil || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "attach process: ") {
		t.Errorf("AttachProcess = %v, %v; want an error saying %q", l, err, want)
	}
}
