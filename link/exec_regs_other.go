//go:build linux && !amd64

package link

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// The supervised path knows x86-64's registers only (newSupervisor
// refuses other architectures); these are never called there.

func callOf(*unix.PtraceRegs) (nr int, ip uint64, args [6]uint64) { return -1, 0, [6]uint64{} }

func skipCall(*unix.PtraceRegs, syscall.Errno) {}

func resultOf(*unix.PtraceRegs) int64 { return 0 }
