package maps

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// rlimitRoom is 0, 0: Windows has no RLIMIT_AS or RLIMIT_DATA.
func rlimitRoom(vmSize, vmData uint64) (as, data uint64) { return 0, 0 }

// globalMemoryStatusEx is kernel32's GlobalMemoryStatusEx, which
// golang.org/x/sys/windows does not wrap.
var globalMemoryStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")

// memoryStatusEx is Windows' MEMORYSTATUSEX.
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

// machineMemory is the machine's physical memory (GlobalMemoryStatusEx),
// or 0.
func machineMemory() uint64 {
	if globalMemoryStatusEx.Find() != nil {
		return 0
	}
	st := memoryStatusEx{Length: uint32(unsafe.Sizeof(memoryStatusEx{}))}
	if ok, _, _ := globalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&st))); ok == 0 {
		return 0
	}
	return st.TotalPhys
}
