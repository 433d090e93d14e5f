//go:build unix

package maps

import "golang.org/x/sys/unix"

// rlimitRoom is the address space and data that RLIMIT_AS and RLIMIT_DATA
// leave a process that uses vmSize and vmData bytes (0: unlimited or
// unknown).
func rlimitRoom(vmSize, vmData uint64) (as, data uint64) {
	room := func(res int, used uint64) uint64 {
		var rl unix.Rlimit
		if unix.Getrlimit(res, &rl) != nil || rl.Cur == unix.RLIM_INFINITY {
			return 0
		}
		if used >= rl.Cur {
			return 1 // nothing left
		}
		return rl.Cur - used
	}
	return room(unix.RLIMIT_AS, vmSize), room(unix.RLIMIT_DATA, vmData)
}
