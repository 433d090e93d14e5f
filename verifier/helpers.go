package verifier

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// Argument kinds of helpers, as the kernel's bpf_arg_type.
const (
	// ArgAnything is any initialised value.
	ArgAnything ArgKind = iota + 1
	// ArgMap is a map (lddw of a map): CONST_PTR_TO_MAP.
	ArgMap
	// ArgMapKey points to the map's key_size bytes, initialised.
	ArgMapKey
	// ArgMapValue points to the map's value_size bytes, initialised.
	ArgMapValue
	// ArgUninitMapValue points to value_size bytes the helper writes.
	ArgUninitMapValue
	// ArgMem points to memory the helper reads, of the size in the next
	// argument (ArgSize or ArgSizeOrZero).
	ArgMem
	// ArgMemOrNull is ArgMem or NULL.
	ArgMemOrNull
	// ArgUninitMem points to memory the helper writes, of the size in
	// the next argument; it need not be initialised.
	ArgUninitMem
	// ArgWritableMemOrNull points to initialised memory the helper may
	// write, or is NULL.
	ArgWritableMemOrNull
	// ArgSize is the size of the previous argument's memory: a bounded
	// number above 0.
	ArgSize
	// ArgSizeOrZero is ArgSize that may be 0.
	ArgSizeOrZero
	// ArgAllocSize is a constant size of memory the helper returns.
	ArgAllocSize
	// ArgCtx is the program's context, unmodified.
	ArgCtx
	// ArgStackOrNull points to the stack, or is NULL (a callback's
	// context).
	ArgStackOrNull
	// ArgFunc is a function of the program (lddw of a function).
	ArgFunc
	// ArgConstString points to a NUL-terminated string in a read-only
	// map value.
	ArgConstString
	// ArgSpinLock points to the struct bpf_spin_lock of a map value.
	ArgSpinLock
	// ArgRingbufRecord is a ring buffer record to release.
	ArgRingbufRecord
)

// Result kinds of helpers.
const (
	// RetInteger is a number.
	RetInteger RetKind = iota + 1
	// RetVoid is nothing: r0 may not be read.
	RetVoid
	// RetMapValueOrNull points to a value of the map argument, or is NULL.
	RetMapValueOrNull
	// RetRingbufRecordOrNull is a ring buffer record of the size argument
	// (an acquired reference), or NULL.
	RetRingbufRecordOrNull
)

// proto is the verifier's prototype of a helper.
type proto struct {
	name string
	// args are the argument kinds, nil for an unknown prototype (every
	// one of r1-r5 must be initialised, anything else goes).
	args []ArgKind
	ret  RetKind
	// pkt is set for helpers that move the packet: every packet pointer
	// is invalid after the call.
	pkt bool
	// mapTypes are the map types the map argument may have (nil: the
	// kernel's general rules).
	mapTypes []ebpf.MapType
	// callback: the arguments of the callback (the kernel's
	// set_*_callback_state).
	callback int
	// mightSleep: only sleepable programs may call the helper (of
	// waggle's program types, syscall programs).
	mightSleep bool
}

// Callback shapes.
const (
	cbNone = iota
	cbLoop
	cbForEach
)

const (
	fnLoop           = int32(asm.FnLoop)
	fnForEachMapElem = int32(asm.FnForEachMapElem)
	fnTailCall       = int32(asm.FnTailCall)
	fnSpinLock       = int32(asm.FnSpinLock)
	fnSpinUnlock     = int32(asm.FnSpinUnlock)
	fnRingbufReserve = int32(asm.FnRingbufReserve)
	fnRingbufSubmit  = int32(asm.FnRingbufSubmit)
	fnRingbufDiscard = int32(asm.FnRingbufDiscard)
	fnGetCurrentComm = int32(asm.FnGetCurrentComm)
	fnSnprintf       = int32(asm.FnSnprintf)
	fnStrncmp        = int32(asm.FnStrncmp)
	fnGetSmpID       = int32(asm.FnGetSmpProcessorId)
	fnCopyFromUser   = int32(asm.FnCopyFromUser)
)

var queueTypes = []ebpf.MapType{ebpf.Queue, ebpf.Stack}

// kernelProtos are the prototypes of the helpers internal/kernel
// implements, from the kernel's bpf_func_proto definitions (Linux 6.18).
var kernelProtos = map[int32]*proto{
	int32(asm.FnMapLookupElem): {name: "bpf_map_lookup_elem", args: []ArgKind{ArgMap, ArgMapKey}, ret: RetMapValueOrNull},
	int32(asm.FnMapUpdateElem): {name: "bpf_map_update_elem", args: []ArgKind{ArgMap, ArgMapKey, ArgMapValue, ArgAnything}, ret: RetInteger},
	int32(asm.FnMapDeleteElem): {name: "bpf_map_delete_elem", args: []ArgKind{ArgMap, ArgMapKey}, ret: RetInteger},
	int32(asm.FnProbeRead):     {name: "bpf_probe_read", args: []ArgKind{ArgUninitMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger},
	int32(asm.FnKtimeGetNs):    {name: "bpf_ktime_get_ns", args: []ArgKind{}, ret: RetInteger},
	int32(asm.FnTracePrintk):   {name: "bpf_trace_printk", args: []ArgKind{ArgMem, ArgSize}, ret: RetInteger},
	int32(asm.FnGetPrandomU32): {name: "bpf_get_prandom_u32", args: []ArgKind{}, ret: RetInteger},
	fnGetSmpID:                 {name: "bpf_get_smp_processor_id", args: []ArgKind{}, ret: RetInteger},
	fnTailCall: {name: "bpf_tail_call", args: []ArgKind{ArgCtx, ArgMap, ArgAnything}, ret: RetVoid,
		mapTypes: []ebpf.MapType{ebpf.ProgramArray}},
	int32(asm.FnGetCurrentPidTgid): {name: "bpf_get_current_pid_tgid", args: []ArgKind{}, ret: RetInteger},
	int32(asm.FnGetCurrentUidGid):  {name: "bpf_get_current_uid_gid", args: []ArgKind{}, ret: RetInteger},
	fnGetCurrentComm:               {name: "bpf_get_current_comm", args: []ArgKind{ArgUninitMem, ArgSize}, ret: RetInteger},
	int32(asm.FnRedirect):          {name: "bpf_redirect", args: []ArgKind{ArgAnything, ArgAnything}, ret: RetInteger},
	int32(asm.FnPerfEventOutput): {name: "bpf_perf_event_output", args: []ArgKind{ArgCtx, ArgMap, ArgAnything, ArgMem, ArgSizeOrZero}, ret: RetInteger,
		mapTypes: []ebpf.MapType{ebpf.PerfEventArray}},
	int32(asm.FnSkbLoadBytes): {name: "bpf_skb_load_bytes", args: []ArgKind{ArgCtx, ArgAnything, ArgUninitMem, ArgSize}, ret: RetInteger},
	int32(asm.FnCsumDiff): {name: "bpf_csum_diff", args: []ArgKind{ArgMemOrNull, ArgSizeOrZero, ArgMemOrNull, ArgSizeOrZero, ArgAnything},
		ret: RetInteger},
	int32(asm.FnGetNumaNodeId): {name: "bpf_get_numa_node_id", args: []ArgKind{}, ret: RetInteger},
	int32(asm.FnXdpAdjustHead): {name: "bpf_xdp_adjust_head", args: []ArgKind{ArgCtx, ArgAnything}, ret: RetInteger, pkt: true},
	int32(asm.FnProbeReadStr):  {name: "bpf_probe_read_str", args: []ArgKind{ArgUninitMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger},
	int32(asm.FnRedirectMap): {name: "bpf_redirect_map", args: []ArgKind{ArgMap, ArgAnything, ArgAnything}, ret: RetInteger,
		mapTypes: []ebpf.MapType{ebpf.DevMap, ebpf.DevMapHash, ebpf.CPUMap, ebpf.XSKMap}},
	int32(asm.FnXdpAdjustMeta): {name: "bpf_xdp_adjust_meta", args: []ArgKind{ArgCtx, ArgAnything}, ret: RetInteger, pkt: true},
	int32(asm.FnXdpAdjustTail): {name: "bpf_xdp_adjust_tail", args: []ArgKind{ArgCtx, ArgAnything}, ret: RetInteger, pkt: true},
	int32(asm.FnMapPushElem): {name: "bpf_map_push_elem", args: []ArgKind{ArgMap, ArgMapValue, ArgAnything}, ret: RetInteger,
		mapTypes: []ebpf.MapType{ebpf.Queue, ebpf.Stack, ebpf.BloomFilter}},
	int32(asm.FnMapPopElem): {name: "bpf_map_pop_elem", args: []ArgKind{ArgMap, ArgUninitMapValue}, ret: RetInteger,
		mapTypes: queueTypes},
	int32(asm.FnMapPeekElem): {name: "bpf_map_peek_elem", args: []ArgKind{ArgMap, ArgUninitMapValue}, ret: RetInteger,
		mapTypes: []ebpf.MapType{ebpf.Queue, ebpf.Stack, ebpf.BloomFilter}},
	fnSpinLock:                      {name: "bpf_spin_lock", args: []ArgKind{ArgSpinLock}, ret: RetVoid},
	fnSpinUnlock:                    {name: "bpf_spin_unlock", args: []ArgKind{ArgSpinLock}, ret: RetVoid},
	int32(asm.FnProbeReadUser):      {name: "bpf_probe_read_user", args: []ArgKind{ArgUninitMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger},
	int32(asm.FnProbeReadKernel):    {name: "bpf_probe_read_kernel", args: []ArgKind{ArgUninitMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger},
	int32(asm.FnProbeReadUserStr):   {name: "bpf_probe_read_user_str", args: []ArgKind{ArgUninitMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger},
	int32(asm.FnProbeReadKernelStr): {name: "bpf_probe_read_kernel_str", args: []ArgKind{ArgUninitMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger},
	int32(asm.FnJiffies64):          {name: "bpf_jiffies64", args: []ArgKind{}, ret: RetInteger},
	int32(asm.FnKtimeGetBootNs):     {name: "bpf_ktime_get_boot_ns", args: []ArgKind{}, ret: RetInteger},
	int32(asm.FnKtimeGetCoarseNs):   {name: "bpf_ktime_get_coarse_ns", args: []ArgKind{}, ret: RetInteger},
	int32(asm.FnRingbufOutput):      {name: "bpf_ringbuf_output", args: []ArgKind{ArgMap, ArgMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger, mapTypes: []ebpf.MapType{ebpf.RingBuf}},
	fnRingbufReserve:                {name: "bpf_ringbuf_reserve", args: []ArgKind{ArgMap, ArgAllocSize, ArgAnything}, ret: RetRingbufRecordOrNull, mapTypes: []ebpf.MapType{ebpf.RingBuf}},
	fnRingbufSubmit:                 {name: "bpf_ringbuf_submit", args: []ArgKind{ArgRingbufRecord, ArgAnything}, ret: RetVoid},
	fnRingbufDiscard:                {name: "bpf_ringbuf_discard", args: []ArgKind{ArgRingbufRecord, ArgAnything}, ret: RetVoid},
	int32(asm.FnRingbufQuery):       {name: "bpf_ringbuf_query", args: []ArgKind{ArgMap, ArgAnything}, ret: RetInteger, mapTypes: []ebpf.MapType{ebpf.RingBuf}},
	fnForEachMapElem: {name: "bpf_for_each_map_elem", args: []ArgKind{ArgMap, ArgFunc, ArgStackOrNull, ArgAnything}, ret: RetInteger,
		callback: cbForEach, mapTypes: []ebpf.MapType{ebpf.Array, ebpf.PerCPUArray, ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash, ebpf.LRUCPUHash}},
	fnSnprintf: {name: "bpf_snprintf", args: []ArgKind{ArgWritableMemOrNull, ArgSizeOrZero, ArgConstString, ArgMemOrNull, ArgSizeOrZero}, ret: RetInteger},
	fnLoop:     {name: "bpf_loop", args: []ArgKind{ArgAnything, ArgFunc, ArgStackOrNull, ArgAnything}, ret: RetInteger, callback: cbLoop},
	fnStrncmp:  {name: "bpf_strncmp", args: []ArgKind{ArgMem, ArgSize, ArgConstString}, ret: RetInteger},
	fnCopyFromUser: {name: "bpf_copy_from_user", args: []ArgKind{ArgUninitMem, ArgSizeOrZero, ArgAnything}, ret: RetInteger,
		mightSleep: true},
}

// protoFor returns the prototype of helper id: a kernel helper, or one of
// the program's own helpers; nil if unknown.
func (v *verifier) protoFor(id int32) *proto {
	if p, ok := kernelProtos[id]; ok {
		return p
	}
	if hp, ok := v.p.Helpers[id]; ok {
		name := hp.Name
		if name == "" {
			name = "helper " + itoa(int(id))
		}
		ret := hp.Ret
		if ret == 0 {
			ret = RetInteger
		}
		return &proto{name: name, args: hp.Args, ret: ret}
	}
	return nil
}

// helperName names a helper for messages, known or not.
func helperName(id int32) string {
	if p, ok := kernelProtos[id]; ok {
		return p.name
	}
	s := asm.BuiltinFunc(id).String()
	if len(s) > 2 && s[:2] == "Fn" {
		// FnFooBar -> bpf_foo_bar
		out := []byte("bpf")
		for _, c := range s[2:] {
			if c >= 'A' && c <= 'Z' {
				out = append(out, '_', byte(c-'A'+'a'))
			} else {
				out = append(out, byte(c))
			}
		}
		return string(out)
	}
	return "unknown"
}
