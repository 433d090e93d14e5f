package kernel

import "github.com/cilium/ebpf"

// perfEventType: perf_event programs, whose context is a struct
// bpf_perf_event_data (read-only memory of the caller's).
var perfEventType = ProgramType{
	Name:                 "perf_event",
	Types:                []ebpf.ProgramType{ebpf.PerfEvent},
	Sections:             []string{"perf_event"},
	Context:              CtxDesc{Name: "struct bpf_perf_event_data", Size: perfEventDataSize, Memory: true, PerfSample: true},
	CTypes:               []string{"bpf_perf_event_data"},
	NoSpinLock:           &Refusal{Who: "tracing programs", Kernel: "tracing progs cannot use bpf_spin_lock yet"},
	PreallocatedHashOnly: true,
	helpers:              tPerf,
	context:              memoryKind{name: "perf_event"},
}
