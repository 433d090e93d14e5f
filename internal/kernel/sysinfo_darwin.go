package kernel

import "golang.org/x/sys/unix"

// clock reads a clock in nanoseconds.
func clock(id int32) uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return uint64(ts.Sec)*1e9 + uint64(ts.Nsec)
}

// monotonicNs is Linux's CLOCK_MONOTONIC (time since boot, without sleep)
// as macOS has it: CLOCK_UPTIME_RAW.
func monotonicNs() uint64 { return clock(unix.CLOCK_UPTIME_RAW) }

// bootNs is Linux's CLOCK_BOOTTIME (time since boot, with sleep) as macOS
// has it: its CLOCK_MONOTONIC.
func bootNs() uint64 { return clock(unix.CLOCK_MONOTONIC) }

// coarseNs is Linux's CLOCK_MONOTONIC_COARSE as macOS has it:
// CLOCK_UPTIME_RAW_APPROX.
func coarseNs() uint64 { return clock(unix.CLOCK_UPTIME_RAW_APPROX) }

// threadID is the process's id: macOS gives a thread's id only through
// libc (pthread_threadid_np), which waggle does not call.
func threadID() uint32 { return uint32(unix.Getpid()) }

// userIDs are the process's uid and gid.
func userIDs() (uid, gid uint32) { return uint32(unix.Getuid()), uint32(unix.Getgid()) }

// processComm is the process's name (its executable's, as the kernel's
// comm is).
func processComm() string { return executableName() }

// hostNetnsCookie: network namespaces are Linux's; 0 as for a kernel
// without SO_NETNS_COOKIE.
func hostNetnsCookie() uint64 { return 0 }

// cgroupInode: cgroups are Linux's; cgroupPath finds none here.
func cgroupInode(string) uint64 { return 0 }
