package kernel

import "github.com/cilium/ebpf"

// rawTracepointType: raw tracepoints, whose context is an array of u64
// arguments.
var rawTracepointType = ProgramType{
	Name:       "raw_tp",
	Types:      []ebpf.ProgramType{ebpf.RawTracepoint},
	Sections:   []string{"raw_tracepoint/", "raw_tp/"},
	Context:    CtxDesc{Name: "raw tracepoint arguments (u64[12])", Size: 8 * maxRawTPArgs, Memory: true},
	CTypes:     []string{"bpf_raw_tracepoint_args"},
	NoSpinLock: &Refusal{Who: "tracing programs", Kernel: "tracing progs cannot use bpf_spin_lock yet"},
	helpers:    tRawTP,
	context:    argsKind{},
}
