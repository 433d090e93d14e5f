package main

import (
	"os/exec"

	"golang.org/x/sys/unix"
)

// ptraceAllowed says whether this process may ptrace a child of its own.
func ptraceAllowed() error {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(cmd.Process.Pid), 0, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
