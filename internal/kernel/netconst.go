package kernel

// Linux's numbers for the address families, protocols and socket types
// that programs see in contexts and helper arguments: part of eBPF's
// semantics, the same on every host (AF_INET6 is 30 on macOS, 10 here).
const (
	afInet         = 2
	afInet6        = 10
	ipprotoTCP     = 6
	ipprotoUDP     = 17
	ipprotoSCTP    = 132
	ipprotoUDPLite = 136
	sockStream     = 1
)
