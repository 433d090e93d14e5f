//go:build !darwin && !windows

package maps

// machineMemory is 0: on Linux /proc/meminfo tells the machine's memory,
// and other systems are not asked.
func machineMemory() uint64 { return 0 }
