package amd64

import (
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/isa"
)

// mayGotoEntry gives the run that the entry stub starts a full may_goto
// count (the kernel's BPF_MAX_LOOPS, stored in a hidden stack slot by the
// program's prologue there).
func (c *compiler) mayGotoEntry() {
	c.storeImm(8, ctxReg, abi.OffMayGoto, isa.MayGotoLimit)
}

// mayGoto compiles may_goto as the kernel rewrites it: jump to target when
// the count is spent, else count down and fall through.
//
//	cmp qword [r12+MayGoto], 0
//	je target
//	sub qword [r12+MayGoto], 1
func (c *compiler) mayGoto(target int) {
	c.aluMI(extCmp, ctxReg, abi.OffMayGoto, 0)
	c.jumpToSlot(fixJcc, ccE, target)
	c.aluMI(extSub, ctxReg, abi.OffMayGoto, 1)
}
