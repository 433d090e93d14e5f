package kernel

import (
	"bytes"
	"os"

	"golang.org/x/sys/unix"
)

// clock reads a clock in nanoseconds.
func clock(id int32) uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return uint64(ts.Sec)*1e9 + uint64(ts.Nsec)
}

// monotonicNs is CLOCK_MONOTONIC: time since boot, without suspend.
func monotonicNs() uint64 { return clock(unix.CLOCK_MONOTONIC) }

// bootNs is CLOCK_BOOTTIME: time since boot, with suspend.
func bootNs() uint64 { return clock(unix.CLOCK_BOOTTIME) }

// coarseNs is CLOCK_MONOTONIC_COARSE: CLOCK_MONOTONIC at the last tick.
func coarseNs() uint64 { return clock(unix.CLOCK_MONOTONIC_COARSE) }

// threadID is the calling thread's id.
func threadID() uint32 { return uint32(unix.Gettid()) }

// userIDs are the process's uid and gid.
func userIDs() (uid, gid uint32) { return uint32(unix.Getuid()), uint32(unix.Getgid()) }

// processComm is the process's name as the kernel keeps it (comm).
func processComm() string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		return executableName()
	}
	return string(bytes.TrimRight(b, "\n"))
}

// hostNetnsCookie is the cookie of waggle's network namespace
// (SO_NETNS_COOKIE), 0 when the kernel does not give it.
func hostNetnsCookie() uint64 {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	v, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
	if err != nil {
		return 0
	}
	return v
}

// cgroupInode is the ID of the cgroup v2 directory at path (its inode
// number), 0 when it cannot be read.
func cgroupInode(path string) uint64 {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return 0
	}
	return st.Ino
}
