//go:build linux && amd64

package link

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/isa"
)

// A hit whose programs read no registers needs only rip from the thread
// (to know which probe fired): PTRACE_PEEKUSER, about half the cost of
// PTRACE_GETREGS (BenchmarkPtraceRegs). needsRegs decides it, soundly
// and simply: whatever it cannot prove says yes.

// noArgHelpers are helpers that take no argument: a call to one leaves
// the context unread (and r1 clobbered).
var noArgHelpers = map[int64]bool{
	5:   true, // bpf_ktime_get_ns
	7:   true, // bpf_get_prandom_u32
	8:   true, // bpf_get_smp_processor_id
	14:  true, // bpf_get_current_pid_tgid
	15:  true, // bpf_get_current_uid_gid
	125: true, // bpf_ktime_get_boot_ns
}

// regsHelpers are helpers that read the task's registers (Task.Regs)
// or the context's without the program passing it.
var regsHelpers = map[int64]bool{
	27:  true, // bpf_get_stackid
	67:  true, // bpf_get_stack
	141: true, // bpf_get_task_stack
	175: true, // bpf_task_pt_regs
}

// needsRegs reports whether a uprobe program may read the thread's
// registers: its context (r1 at entry) or, through a helper, the task's.
// It says no only when the program calls none of regsHelpers and its
// first instructions, in a straight line from the entry, overwrite r1
// (or call a helper that takes no argument) before anything reads r1,
// and before any jump or call that is not such a helper: after that
// the context is in no register and nowhere in memory.
func needsRegs(insns isa.Instructions) bool {
	for _, ins := range insns {
		if ins.IsHelperCall() && regsHelpers[ins.Imm] {
			return true
		}
	}
	const r1 = isa.Register(1)
	for _, ins := range insns {
		switch ins.Class() {
		case isa.ClassALU, isa.ClassALU64:
			if ins.Source() == isa.SourceX && ins.Src == r1 {
				return true
			}
			if ins.Dst != r1 {
				continue
			}
			if ins.Op() == isa.ALUMov {
				return false // r1 overwritten, not read
			}
			return true
		case isa.ClassLD:
			if ins.IsLdDW() && ins.Dst == r1 {
				return false
			}
			if ins.IsLdDW() {
				continue
			}
			return true // legacy packet loads: not a uprobe's
		case isa.ClassLDX:
			if ins.Src == r1 {
				return true
			}
			if ins.Dst == r1 {
				return false
			}
		case isa.ClassST:
			if ins.Dst == r1 {
				return true
			}
		case isa.ClassSTX:
			if ins.Dst == r1 || ins.Src == r1 {
				return true
			}
		default: // jumps, calls, exit
			switch {
			case ins.Class() == isa.ClassJMP && ins.Op() == isa.JumpExit:
				return false
			case ins.IsHelperCall() && noArgHelpers[ins.Imm]:
				return false // r1 clobbered by the call
			}
			return true
		}
	}
	return true
}

// ripOnly reports whether a hit in sp may read rip alone: every
// breakpoint runs out of line (nothing to write back into the registers)
// and has no return probe (which needs rsp), and no entry program of
// theirs needs registers; there is no breakpoint at the entry point.
func ripOnly(sp *space) bool {
	if sp.bps[sp.entry] != nil {
		return false
	}
	for _, bp := range sp.bps {
		if bp.xol == nil || len(bp.ret) > 0 {
			return false
		}
		for _, p := range bp.entry {
			if !p.noRegs {
				return false
			}
		}
	}
	return len(sp.bps) > 0
}

// ripOffset is rip's offset in struct user_regs_struct.
var ripOffset = unsafe.Offsetof(unix.PtraceRegs{}.Rip)

// peekRIP reads a stopped thread's rip (PTRACE_PEEKUSER).
func peekRIP(tid int) (uint64, error) {
	var rip uint64
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKUSR, uintptr(tid), ripOffset, uintptr(unsafe.Pointer(&rip)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return rip, nil
}
