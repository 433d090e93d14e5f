package kernel

import "github.com/cilium/ebpf"

// tracepointType: tracepoints, whose context is the tracepoint's record
// (read-only memory of the caller's; its first 8 bytes, the common
// fields, may not be read).
var tracepointType = ProgramType{
	Name:       "tracepoint",
	Types:      []ebpf.ProgramType{ebpf.TracePoint},
	Sections:   []string{"tracepoint/", "tp/"},
	Context:    CtxDesc{Name: "tracepoint record", Size: maxTraceSize, Memory: true, MinOff: 8},
	NoSpinLock: &Refusal{Who: "tracing programs", Kernel: "tracing progs cannot use bpf_spin_lock yet"},
	helpers:    tTracepoint,
	context:    memoryKind{name: "tracepoint"},
}
