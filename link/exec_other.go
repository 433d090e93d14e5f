//go:build !linux

package link

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/waggle-ebpf/waggle"
)

// errExecNeedsLinux is AttachExec's and AttachProcess's error on this
// system: no ExecLink is ever made here.
var errExecNeedsLinux = fmt.Errorf("waggle: system call hooks need Linux (seccomp, ptrace), this is %s: %w", runtime.GOOS, errors.ErrUnsupported)

func attachExec(*waggle.Program, ExecOptions) (*ExecLink, error) {
	return nil, fmt.Errorf("attach exec: %w", errExecNeedsLinux)
}

func attachProcess(ProcessOptions) (*ExecLink, error) {
	return nil, fmt.Errorf("attach process: %w", errExecNeedsLinux)
}
