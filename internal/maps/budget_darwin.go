package maps

import "golang.org/x/sys/unix"

// machineMemory is the machine's memory (sysctl hw.memsize), or 0.
func machineMemory() uint64 {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0
	}
	return n
}
