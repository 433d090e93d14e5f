//go:build !linux && !darwin

package kernel

import (
	"os"
	"time"
)

// started is when the process loaded waggle: where this system's clocks
// begin, for want of a boot clock Go can read without cgo.
var started = time.Now()

// monotonicNs stands for Linux's CLOCK_MONOTONIC: Go's monotonic clock,
// counted from waggle's start in the process, not from boot.
func monotonicNs() uint64 { return uint64(time.Since(started)) }

// bootNs stands for Linux's CLOCK_BOOTTIME: as monotonicNs.
func bootNs() uint64 { return monotonicNs() }

// coarseNs stands for Linux's CLOCK_MONOTONIC_COARSE: as monotonicNs.
func coarseNs() uint64 { return monotonicNs() }

// threadID is the process's id: Go does not tell a goroutine's thread
// here.
func threadID() uint32 { return uint32(os.Getpid()) }

// userIDs are the process's uid and gid where the system has them, else
// the kernel's overflowuid and overflowgid (65534), as for a task whose
// ids do not map.
func userIDs() (uid, gid uint32) {
	u, g := os.Getuid(), os.Getgid()
	if u < 0 || g < 0 {
		return 65534, 65534
	}
	return uint32(u), uint32(g)
}

// processComm is the process's name (its executable's, as the kernel's
// comm is).
func processComm() string { return executableName() }

// hostNetnsCookie: network namespaces are Linux's; 0 as for a kernel
// without SO_NETNS_COOKIE.
func hostNetnsCookie() uint64 { return 0 }

// cgroupInode: cgroups are Linux's; cgroupPath finds none here.
func cgroupInode(string) uint64 { return 0 }
