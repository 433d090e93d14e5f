package kernel

import "strings"

// LicenseGPLCompatible reports whether the kernel treats a program license
// as GPL-compatible (include/linux/license.h).
func LicenseGPLCompatible(license string) bool {
	switch strings.TrimRight(license, "\x00") {
	case "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL":
		return true
	}
	return false
}
