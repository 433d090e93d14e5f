package kernel

import "github.com/cilium/ebpf"

// kprobeType: kprobes and uprobes, whose context is a struct pt_regs
// (read-only memory of the caller's).
var kprobeType = ProgramType{
	Name:       "kprobe",
	Types:      []ebpf.ProgramType{ebpf.Kprobe},
	Sections:   []string{"kprobe/", "kretprobe/", "uprobe/", "uretprobe/", "kprobe.multi/", "kretprobe.multi/"},
	Context:    CtxDesc{Name: "struct pt_regs", Size: ptRegsSize, Memory: true},
	CTypes:     []string{"pt_regs", "user_pt_regs"},
	NoSpinLock: &Refusal{Who: "tracing programs", Kernel: "tracing progs cannot use bpf_spin_lock yet"},
	helpers:    tKprobe,
	context:    memoryKind{name: "kprobe"},
}
