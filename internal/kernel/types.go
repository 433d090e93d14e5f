package kernel

import (
	"io"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

// RawMemory is a program type of waggle's own, outside the kernel's range of
// program types: a program that runs on a block of memory, for embedding
// eBPF as a plain function. r1 is the address of a writable copy of
// Input.Data (0 if it is empty) and r2 its length; Output.Data is that
// memory after the run. It may call the generic helpers (maps, time,
// printing, strings, loops, probe_read*) and bpf_csum_diff.
const RawMemory ebpf.ProgramType = 0x7761_0001

// Options configure what the helpers of a program see of the world outside
// the program.
type Options struct {
	// Trace receives the lines that bpf_trace_printk writes, one Write per
	// line; nil discards them (the helper still returns the length).
	Trace io.Writer
	// PerfOutput receives the records of bpf_perf_event_output. When it is
	// nil the helper returns -ENOENT, as the kernel does for a perf event
	// array slot with no perf event open on it.
	PerfOutput func(PerfRecord) error
	// HZ is the tick rate bpf_jiffies64 counts in; 0 means 250 (the
	// CONFIG_HZ of most distribution kernels).
	HZ uint64
	// Comm is the task name bpf_get_current_comm returns; "" means the
	// name of the waggle process, from /proc/self/comm.
	Comm string
}

// PerfRecord is one record of bpf_perf_event_output.
type PerfRecord struct {
	Map   maps.Map // the perf event array
	Index uint32   // the slot: the CPU slot for BPF_F_CURRENT_CPU
	Data  []byte   // the sample, then the packet bytes the flags asked for
}

// Program type classes, as a bit set.
type typeSet uint16

const (
	tXDP typeSet = 1 << iota
	tTC
	tSock
	tKprobe
	tTracepoint
	tRawTP
	tSyscall
	tPerf
	tRaw

	tAll     = tXDP | tTC | tSock | tKprobe | tTracepoint | tRawTP | tSyscall | tPerf | tRaw
	tTracing = tKprobe | tTracepoint | tRawTP | tSyscall | tPerf
)

// typeBit returns the class of a program type.
func typeBit(t ebpf.ProgramType) (typeSet, bool) {
	switch t {
	case ebpf.XDP:
		return tXDP, true
	case ebpf.SchedCLS, ebpf.SchedACT:
		return tTC, true
	case ebpf.SocketFilter:
		return tSock, true
	case ebpf.Kprobe:
		return tKprobe, true
	case ebpf.TracePoint:
		return tTracepoint, true
	case ebpf.RawTracepoint:
		return tRawTP, true
	case ebpf.Syscall:
		return tSyscall, true
	case ebpf.PerfEvent:
		return tPerf, true
	case RawMemory:
		return tRaw, true
	}
	return 0, false
}

// typeName names a program type for messages.
func typeName(t ebpf.ProgramType) string {
	if t == RawMemory {
		return "waggle raw memory"
	}
	return t.String()
}

// typeSetNames name the classes of typeSet for docs/HELPERS.md, in order.
var typeSetNames = []struct {
	set  typeSet
	name string
}{
	{tXDP, "xdp"}, {tTC, "tc"}, {tSock, "sock"}, {tKprobe, "kprobe"}, {tTracepoint, "tp"},
	{tRawTP, "raw_tp"}, {tSyscall, "syscall"}, {tPerf, "perf"}, {tRaw, "raw"},
}

// String lists the classes of s: "all", "tracing" for every tracing
// type, else each class by name.
func (s typeSet) String() string {
	if s == tAll {
		return "all"
	}
	var names []string
	if s&tTracing == tTracing {
		names = append(names, "tracing")
		s &^= tTracing
	}
	for _, n := range typeSetNames {
		if s&n.set != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}
