package kernel

import (
	"io"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

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
	// AttachType is the program's expected attach type, which decides
	// the context fields of cgroup_skb, cgroup_sock and cgroup_sock_addr
	// runs (ProgramType.ForAttach); NewRun refuses one the program type
	// does not take.
	AttachType ebpf.AttachType
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
	tSeccomp
	tCgSKB    // cgroup_skb
	tCgSock   // cgroup_sock
	tSockAddr // cgroup_sock_addr
	tSockOps  // sock_ops

	tAll = tXDP | tTC | tSock | tKprobe | tTracepoint | tRawTP | tSyscall | tPerf | tRaw | tSeccomp | tCgroupSocks
	// tCgroupSocks are the cgroup socket types: cgroup_skb, cgroup_sock,
	// cgroup_sock_addr and sock_ops.
	tCgroupSocks = tCgSKB | tCgSock | tSockAddr | tSockOps
	tTracing     = tKprobe | tTracepoint | tRawTP | tSyscall | tPerf
)

// typeName names a program type for messages.
// TypeName names a program type for messages: cilium/ebpf's name of a
// kernel type ("XDP", "SchedCLS"), "waggle NAME" for a type of waggle's own.
func TypeName(t ebpf.ProgramType) string {
	if t >= RawMemory {
		if pt, ok := ProgramTypeOf(t); ok {
			if t == RawMemory {
				return "waggle raw memory"
			}
			return "waggle " + pt.Name
		}
	}
	return t.String()
}

// typeSetNames name the classes of typeSet for docs/HELPERS.md, in order.
var typeSetNames = []struct {
	set  typeSet
	name string
}{
	{tXDP, "xdp"}, {tTC, "tc"}, {tSock, "sock"}, {tKprobe, "kprobe"}, {tTracepoint, "tp"},
	{tRawTP, "raw_tp"}, {tSyscall, "syscall"}, {tPerf, "perf"}, {tRaw, "raw"}, {tSeccomp, "seccomp"},
	{tCgSKB, "cgroup_skb"}, {tCgSock, "cgroup_sock"}, {tSockAddr, "cgroup_sock_addr"}, {tSockOps, "sock_ops"},
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
