package kernel

import (
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/helper"
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

// def is a helper waggle implements and the program types that may call it,
// as in the kernel's *_func_proto tables (checked against Linux 6.18 with
// cilium/ebpf's features.HaveProgramHelper).
type def struct {
	id    asm.BuiltinFunc
	types typeSet
	fn    helper.Func
}

var defs = []def{
	{asm.FnMapLookupElem, tAll, mapLookupElem},
	{asm.FnMapUpdateElem, tAll, mapUpdateElem},
	{asm.FnMapDeleteElem, tAll, mapDeleteElem},
	{asm.FnProbeRead, tTracing | tRaw, probeRead(spaceCompat)},
	{asm.FnKtimeGetNs, tAll, ktimeGetNs},
	{asm.FnTracePrintk, tAll, tracePrintk},
	{asm.FnGetPrandomU32, tAll, getPrandomU32},
	{asm.FnGetSmpProcessorId, tAll, getSmpProcessorID},
	{asm.FnTailCall, tAll, tailCall},
	{asm.FnGetCurrentPidTgid, tAll, getCurrentPidTgid},
	{asm.FnGetCurrentUidGid, tAll, getCurrentUIDGid},
	{asm.FnGetCurrentComm, tAll, getCurrentComm},
	{asm.FnRedirect, tXDP | tTC, redirect},
	{asm.FnPerfEventOutput, tAll, perfEventOutput},
	{asm.FnSkbLoadBytes, tTC | tSock, skbLoadBytes},
	{asm.FnCsumDiff, tXDP | tTC | tRaw, csumDiff},
	{asm.FnGetNumaNodeId, tAll, getNumaNodeID},
	{asm.FnXdpAdjustHead, tXDP, xdpAdjustHead},
	{asm.FnProbeReadStr, tTracing | tRaw, probeReadStr(spaceCompat)},
	{asm.FnRedirectMap, tXDP, redirectMap},
	{asm.FnXdpAdjustMeta, tXDP, xdpAdjustMeta},
	{asm.FnXdpAdjustTail, tXDP, xdpAdjustTail},
	{asm.FnMapPushElem, tAll, mapPushElem},
	{asm.FnMapPopElem, tAll, mapPopElem},
	{asm.FnMapPeekElem, tAll, mapPeekElem},
	{asm.FnSpinLock, tAll, spinLock},
	{asm.FnSpinUnlock, tAll, spinUnlock},
	{asm.FnProbeReadUser, tAll, probeRead(spaceUser)},
	{asm.FnProbeReadKernel, tAll, probeRead(spaceKernel)},
	{asm.FnProbeReadUserStr, tAll, probeReadStr(spaceUser)},
	{asm.FnProbeReadKernelStr, tAll, probeReadStr(spaceKernel)},
	{asm.FnJiffies64, tAll, jiffies64},
	{asm.FnKtimeGetBootNs, tAll, ktimeGetBootNs},
	{asm.FnRingbufOutput, tAll, ringbufOutput},
	{asm.FnRingbufReserve, tAll, ringbufReserve},
	{asm.FnRingbufSubmit, tAll, ringbufSubmit},
	{asm.FnRingbufDiscard, tAll, ringbufDiscard},
	{asm.FnRingbufQuery, tAll, ringbufQuery},
	{asm.FnCopyFromUser, tSyscall, copyFromUser},
	{asm.FnKtimeGetCoarseNs, tXDP | tTC | tSock | tRaw, ktimeGetCoarseNs},
	{asm.FnForEachMapElem, tAll, forEachMapElem},
	{asm.FnSnprintf, tAll, snprintf},
	{asm.FnLoop, tAll, loop},
	{asm.FnStrncmp, tAll, strncmp},
}

var defByID = func() map[int32]*def {
	m := make(map[int32]*def, len(defs))
	for i := range defs {
		m[int32(defs[i].id)] = &defs[i]
	}
	return m
}()

// HelpersFor returns the helpers a program of type t may call: the kernel's
// helpers for that type (the generic set and the type's own) that waggle
// implements, and none that the type may not call, so that the engine
// refuses such a call when it loads the program. The helpers find the run's
// state in helper.Call.State, which must be the *Run of the run (helpers
// that need none work without it).
//
// t is one of ebpf.XDP, ebpf.SchedCLS, ebpf.SchedACT, ebpf.SocketFilter,
// ebpf.Kprobe, ebpf.TracePoint, ebpf.RawTracepoint, ebpf.Syscall,
// ebpf.PerfEvent or RawMemory. The options are those the Runs of the
// program should use; HelpersFor itself only checks them.
func HelpersFor(t ebpf.ProgramType, opts Options) (*helper.Table, error) {
	bit, ok := typeBit(t)
	if !ok {
		return nil, fmt.Errorf("waggle cannot run programs of type %s", typeName(t))
	}
	var tab helper.Table
	for _, d := range defs {
		if d.types&bit == 0 {
			continue
		}
		if err := tab.Register(helper.Helper{ID: int32(d.id), Name: helper.Name(int32(d.id)), Func: d.fn}); err != nil {
			return nil, err
		}
	}
	return &tab, nil
}

// HelperAllowed reports whether waggle implements the helper id (known) and
// whether programs of type t may call it (allowed), so that a loader can
// tell "bpf_xdp_adjust_head (44) is not allowed in socket_filter programs"
// from "waggle does not implement helper 99". allowed is false for a type
// waggle cannot run.
func HelperAllowed(t ebpf.ProgramType, id int32) (known bool, allowed bool) {
	d, ok := defByID[id]
	if !ok {
		return false, false
	}
	bit, ok := typeBit(t)
	return true, ok && d.types&bit != 0
}
