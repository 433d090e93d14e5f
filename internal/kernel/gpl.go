package kernel

import (
	"strings"

	"github.com/cilium/ebpf/asm"
)

// gplOnly are the helpers of waggle's set that the kernel lets only
// programs with a GPL-compatible license call (their gpl_only flag).
var gplOnly = map[asm.BuiltinFunc]bool{
	asm.FnProbeRead:          true,
	asm.FnProbeReadStr:       true,
	asm.FnProbeReadUser:      true,
	asm.FnProbeReadKernel:    true,
	asm.FnProbeReadUserStr:   true,
	asm.FnProbeReadKernelStr: true,
	asm.FnTracePrintk:        true,
	asm.FnPerfEventOutput:    true,
}

// HelperGPLOnly reports whether the kernel lets only GPL-compatible programs
// call helper id.
func HelperGPLOnly(id int32) bool { return gplOnly[asm.BuiltinFunc(id)] }

// LicenseGPLCompatible reports whether the kernel treats a program license
// as GPL-compatible (include/linux/license.h).
func LicenseGPLCompatible(license string) bool {
	switch strings.TrimRight(license, "\x00") {
	case "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL":
		return true
	}
	return false
}
