package kernel

import (
	"fmt"
	"math"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/isa"
)

// def is one kernel helper that waggle implements: everything waggle knows
// of it, in one place, as the kernel's struct bpf_func_proto and its
// *_func_proto tables. The verifier checks calls against proto, the loader
// lets the program types in types call it, the engines call fn, a JIT may
// compile it inline when inline is set, and docs/HELPERS.md is generated
// from doc and diff (TestHelpersDocument).
type def struct {
	id    asm.BuiltinFunc
	types typeSet // the program types that may call it (checked against Linux 6.18 with cilium/ebpf's features.HaveProgramHelper)
	fn    helper.Func
	proto helper.Proto
	// gplOnly: only programs with a GPL-compatible license may call it.
	gplOnly bool
	// inline: a JIT may compile a call inline instead of calling fn (it
	// never does for a helper the caller replaced with its own).
	inline bool
	doc    string // what it does in user space
	diff   string // where it differs from the kernel; "" for nowhere
}

// defs are the kernel helpers waggle implements, by ID; the skb helpers
// are in helpers_skb.go, the socket programs' own in helpers_sock.go.
var defs = slices.Concat([]def{
	{
		id: asm.FnMapLookupElem, types: tAll, fn: mapLookupElem, // 1 bpf_map_lookup_elem
		proto:  helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgMapKey}, Ret: helper.RetMapValueOrNull},
		inline: true,
		doc:    "address of the value (this CPU slot for per-CPU maps), or 0; map-in-map returns the inner map's handle",
	},
	{
		id: asm.FnMapUpdateElem, types: tAll, fn: mapUpdateElem, // 2 bpf_map_update_elem
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgMapKey, helper.ArgMapValue, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "key and value read with the map's sizes; map errors as -errno",
	},
	{
		id: asm.FnMapDeleteElem, types: tAll, fn: mapDeleteElem, // 3 bpf_map_delete_elem
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgMapKey}, Ret: helper.RetInteger},
		doc:   "as update",
	},
	{
		id: asm.FnProbeRead, types: tTracing | tRaw, fn: probeRead(spaceCompat), // 4 bpf_probe_read
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "copies from the memory the program may access (the program's \"kernel\" memory: stack, context, packet, map values); any other source → -EFAULT, destination zeroed",
		diff:    "waggle has no user address space behind a program, see 112",
	},
	{
		id: asm.FnKtimeGetNs, types: tAll, fn: ktimeGetNs, // 5 bpf_ktime_get_ns
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "CLOCK_MONOTONIC",
		diff:  "on macOS CLOCK_UPTIME_RAW (the same clock); on Windows Go's monotonic clock counted from waggle's start, not from boot",
	},
	{
		id: asm.FnTracePrintk, types: tAll, fn: tracePrintk, // 6 bpf_trace_printk
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgMem, helper.ArgSize}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "the kernel's restricted printf (below), ≤ 3 conversions; one line to `Options.Trace`; returns the formatted length",
		diff:    "the line is the message alone, without trace_pipe's task/CPU/timestamp prefix",
	},
	{
		id: asm.FnGetPrandomU32, types: tAll, fn: getPrandomU32, // 7 bpf_get_prandom_u32
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "Go's `math/rand/v2`",
		diff:  "different generator",
	},
	{
		id: asm.FnGetSmpProcessorId, types: tAll, fn: getSmpProcessorID, // 8 bpf_get_smp_processor_id
		proto:  helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		inline: true,
		doc:    "the run's CPU slot",
	},
	{
		id: asm.FnTailCall, types: tAll, fn: tailCall, // 12 bpf_tail_call
		inline: true,
		proto:  helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMap, helper.ArgAnything}, Ret: helper.RetVoid, MapTypes: []ebpf.MapType{ebpf.ProgramArray}},
		doc:    "index ≥ max_entries or empty slot → 0, the program goes on; else `helper.TailCall{Target}` (the engine enforces the 33-call limit)",
	},
	{
		id: asm.FnGetCurrentPidTgid, types: tAll, fn: getCurrentPidTgid, // 14 bpf_get_current_pid_tgid
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "the run's task (`RunOptions.Task`, set by the hooks to the traced thread): tgid << 32 | pid; without one, waggle's pid << 32 | the calling thread's id",
		diff:  "without a task, the task is the waggle process; on macOS and Windows its thread's id is the process's",
	},
	{
		id: asm.FnGetCurrentUidGid, types: tAll, fn: getCurrentUIDGid, // 15 bpf_get_current_uid_gid
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "gid << 32 | uid of the run's task, or of the waggle process",
		diff:  "as 14; on Windows, which has no uid or gid, 65534 for both (the kernel's overflowuid and overflowgid)",
	},
	{
		id: asm.FnGetCurrentComm, types: tAll, fn: getCurrentComm, // 16 bpf_get_current_comm
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSize}, Ret: helper.RetInteger},
		doc:   "the run's task's name, or `Options.Comm`, or /proc/self/comm (elsewhere the executable's name); cut to size-1, NUL-padded",
		diff:  "as 14",
	},
	{
		id: asm.FnRedirect, types: tXDP | tTC, fn: redirect, // 23 bpf_redirect
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "XDP: flags ≠ 0 → XDP_ABORTED, else XDP_REDIRECT (4); tc: flags other than BPF_F_INGRESS → TC_ACT_SHOT, else TC_ACT_REDIRECT (7). The target is kept in `Run.Redirect()`",
		diff:  "nothing is sent anywhere; any ifindex is accepted",
	},
	{
		id: asm.FnPerfEventOutput, types: tAll, fn: perfEventOutput, // 25 bpf_perf_event_output
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMap, helper.ArgAnything, helper.ArgMem, helper.ArgSizeOrZero}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.PerfEventArray}},
		gplOnly: true,
		doc:     "record = data (+ for xdp/skb the first `flags>>32 & 0xfffff` packet bytes) appended to the perf event array's queue, slot = flags & 0xffffffff or the CPU for BPF_F_CURRENT_CPU; bad flags → -EINVAL, packet too short → -EFAULT, slot ≥ max_entries → -E2BIG; a slot that Go code has not opened (Map.Put of any value; the kernel's perf event fd) → -ENOENT, as an empty slot in the kernel",
		diff:    "one queue in write order instead of a ring per CPU; `Map.Dump` drains it",
	},
	{
		id: asm.FnSkbLoadBytes, types: tTC | tSock | tCgSKB, fn: skbLoadBytes, // 26 bpf_skb_load_bytes
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgUninitMem, helper.ArgSize}, Ret: helper.RetInteger},
		doc:   "copies from skb->data + offset (Ethernet header for tc, network header for socket filters and cgroup_skb); outside the packet → -EFAULT, destination zeroed",
	},
	{
		id: asm.FnCsumDiff, types: tXDP | tTC | tRaw, fn: csumDiff, // 28 bpf_csum_diff
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMemOrNull, helper.ArgSizeOrZero, helper.ArgMemOrNull, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "Linux 6.18: csum_partial(to, seed) − csum_partial(from), folded to 16 bits; any sizes (6.18 dropped the multiple-of-4 and 512-byte limits)",
		diff:  "— (x86-64 csum_partial)",
	},
	{
		id: asm.FnGetNumaNodeId, types: tAll, fn: getNumaNodeID, // 42 bpf_get_numa_node_id
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "0",
		diff:  "one node",
	},
	{
		id: asm.FnXdpAdjustHead, types: tXDP, fn: xdpAdjustHead, // 44 bpf_xdp_adjust_head
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "data may move down to data_hard_start + 40 (struct xdp_frame) + metadata, up to data_end − 14; the metadata moves with it; else -EINVAL. The packet region follows",
	},
	{
		id: asm.FnGetStackid, types: tTracing, fn: getStackID, // 27 bpf_get_stackid
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMap, helper.ArgAnything}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.StackTrace}},
		gplOnly: true,
		doc:     "the stack of 67 (BPF_F_USER_STACK: the task's user stack; else the kernel's, empty), at most value_size/entry frames after the skipped ones, stored in the stack trace map under its ID: the kernel's jhash2 of the addresses masked to max_entries rounded up to a power of 2; the same stack again → the same ID; another stack on the ID → -EEXIST, or replaces it with BPF_F_REUSE_STACKID; BPF_F_FAST_STACK_CMP compares hashes only; max_entries stacks held → -ENOMEM; no frame left after the skipped ones (always for the kernel stack) → -EFAULT; unknown flags → -EINVAL. A BPF_F_STACK_BUILD_ID map stores addresses (status BPF_STACK_BUILD_ID_IP)",
		diff:    "as 67",
	},
	{
		id: asm.FnGetCurrentTask, types: tAll, fn: getCurrentTask, // 35 bpf_get_current_task
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "the address of a `struct task_struct` of waggle's (read-only memory the program reads with bpf_probe_read_kernel, as BPF_CORE_READ does), laid out as waggle's kernel BTF, against which CO-RE relocations are resolved: pid, tgid, real_parent, group_leader, comm of the run's task (`Task.PID`, `TGID`, `Comm`; real_parent is a task_struct of `Task.PPID`, group_leader one of `TGID`), or of the waggle process without a task",
		diff:  "only those fields exist: a program reading another (fs, mm, cred, ...) is refused at load, naming it; the group leader's comm is the thread's; the parent's comm is empty and its real_parent NULL; on macOS and Windows, without a task, pid is the process's id, as for 14",
	},
	{
		id: asm.FnProbeReadStr, types: tTracing | tRaw, fn: probeReadStr(spaceCompat), // 45 bpf_probe_read_str
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "copies a NUL-terminated string, ≤ size-1 bytes + NUL; returns the length with the NUL; unreadable → -EFAULT, destination zeroed",
		diff:    "as 4",
	},
	{
		id: asm.FnRedirectMap, types: tXDP, fn: redirectMap, // 51 bpf_redirect_map
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.DevMap, ebpf.DevMapHash, ebpf.CPUMap, ebpf.XSKMap}},
		doc:   "flags outside XDP action bits (and BROADCAST/EXCLUDE_INGRESS for devmaps) → XDP_ABORTED; key found (or devmap BROADCAST) → XDP_REDIRECT; else flags & 3",
		diff:  "the key is looked up in whatever map is given (object maps by LookupObject, others by Lookup); nothing is sent",
	},
	{
		id: asm.FnXdpAdjustMeta, types: tXDP, fn: xdpAdjustMeta, // 54 bpf_xdp_adjust_meta
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "data_meta within [hard_start + 40, data]; else -EINVAL; metadata not a multiple of 4 or > 255 → -EACCES",
	},
	{
		id: asm.FnXdpAdjustTail, types: tXDP, fn: xdpAdjustTail, // 65 bpf_xdp_adjust_tail
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "data_end ≤ hard_start + 4096 − 320 and ≥ data + 14, growth zeroed; multi-buffer packets: grows the last frag within its page, shrinks frags first then the linear part, total ≥ 14",
	},
	{
		id: asm.FnGetStack, types: tTracing, fn: getStack, // 67 bpf_get_stack
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "BPF_F_USER_STACK: the run's task's user stack, walked by frame pointers (rip, then each frame's return address at [rbp+8], following [rbp]) through `Task.Memory` from the user registers — a kprobe's or perf event's context's when they are user-mode ones (cs & 3 == 3), else the task's, `Task.Regs` — at most 127 frames (perf_event_max_stack); the skip field (flags & 0xff) drops the first frames; BPF_F_USER_BUILD_ID gives 32-byte entries with status BPF_STACK_BUILD_ID_IP and the address. Returns the bytes written, the rest zeroed; unknown flags, BUILD_ID without USER_STACK or a size not a multiple of the entry → -EINVAL; no registers (no task, or `Task.Regs` nil) or fewer frames than skipped → -EFAULT; buffer zeroed on errors",
		diff:    "the kernel stack (no BPF_F_USER_STACK) is empty: 0 bytes (-EFAULT if frames are skipped); build IDs are never read (every entry is an address, as the kernel gives when it cannot read one)",
	},
	{
		id: asm.FnMapPushElem, types: tAll, fn: mapPushElem, // 87 bpf_map_push_elem
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgMapValue, helper.ArgAnything}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.Queue, ebpf.Stack, ebpf.BloomFilter}},
		doc:   "`maps.Queue.Push`",
	},
	{
		id: asm.FnMapPopElem, types: tAll, fn: mapPopElem, // 88 bpf_map_pop_elem
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgUninitMapValue}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.Queue, ebpf.Stack}},
		doc:   "`maps.Queue.Pop` into program memory",
	},
	{
		id: asm.FnMapPeekElem, types: tAll, fn: mapPeekElem, // 89 bpf_map_peek_elem
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgUninitMapValue}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.Queue, ebpf.Stack, ebpf.BloomFilter}},
		doc:   "`maps.Queue.Peek`; for a bloom filter the value is an input",
	},
	{
		id: asm.FnSpinLock, types: tAll, fn: spinLock, // 93 bpf_spin_lock
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgSpinLock}, Ret: helper.RetVoid},
		doc:   "CAS of the 4-byte word 0 → 1 (maps taking the lock for BPF_F_LOCK must use the same word and values), `runtime.Gosched` between tries, gives up when the run's context is done. One lock per run",
		diff:  "a run that ends holding the lock (only possible when it failed) has it released by `Run.Finish` or the next `Setup`, so the next run cannot deadlock",
	},
	{
		id: asm.FnSpinUnlock, types: tAll, fn: spinUnlock, // 94 bpf_spin_unlock
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgSpinLock}, Ret: helper.RetVoid},
		doc:   "stores 0",
		diff:  "unlocking a lock the run does not hold ends the run (the verifier refuses such programs)",
	},
	{
		id: asm.FnProbeReadUser, types: tAll, fn: probeRead(spaceUser), // 112 bpf_probe_read_user
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "reads the memory of the run's task (the traced process, through `Task.Memory`); a read that faults, or a run without a task, → -EFAULT with the destination zeroed (the program's own memory is \"kernel\" memory, which the kernel's user read refuses too)",
		diff:    "without a task there is no user address space",
	},
	{
		id: asm.FnProbeReadKernel, types: tAll, fn: probeRead(spaceKernel), // 113 bpf_probe_read_kernel
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "as 4, but an unreadable source in the user half of the address space (below 2⁴⁷, NULL included) → -ERANGE, as on x86-64",
	},
	{
		id: asm.FnProbeReadUserStr, types: tAll, fn: probeReadStr(spaceUser), // 114 bpf_probe_read_user_str
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "as 112",
		diff:    "as 112",
	},
	{
		id: asm.FnProbeReadKernelStr, types: tAll, fn: probeReadStr(spaceKernel), // 115 bpf_probe_read_kernel_str
		proto:   helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		gplOnly: true,
		doc:     "as 45, with 113's -ERANGE",
	},
	{
		id: asm.FnJiffies64, types: tAll, fn: jiffies64, // 118 bpf_jiffies64
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "INITIAL_JIFFIES (2³² − 300·HZ) + CLOCK_MONOTONIC in ticks of `Options.HZ` (250 by default)",
		diff:  "the kernel's HZ is not known in user space; CLOCK_MONOTONIC as 5 reads it",
	},
	{
		id: asm.FnKtimeGetBootNs, types: tAll, fn: ktimeGetBootNs, // 125 bpf_ktime_get_boot_ns
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "CLOCK_BOOTTIME",
		diff:  "on macOS its CLOCK_MONOTONIC (the same clock: with sleep); on Windows as 5",
	},
	{
		id: asm.FnRingbufOutput, types: tAll, fn: ringbufOutput, // 130 bpf_ringbuf_output
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.RingBuf}},
		doc:   "`RingBuffer.Output`; flags other than NO_WAKEUP/FORCE_WAKEUP → -EINVAL",
	},
	{
		id: asm.FnRingbufReserve, types: tAll, fn: ringbufReserve, // 131 bpf_ringbuf_reserve
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgAllocSize, helper.ArgAnything}, Ret: helper.RetRingbufRecordOrNull, MapTypes: []ebpf.MapType{ebpf.RingBuf}},
		doc:   "`RingBuffer.Reserve`; flags ≠ 0 or no room → 0",
	},
	{
		id: asm.FnRingbufSubmit, types: tAll, fn: ringbufSubmit, // 132 bpf_ringbuf_submit
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgRingbufRecord, helper.ArgAnything}, Ret: helper.RetVoid},
		doc:   "commits a record this run reserved",
		diff:  "a record left uncommitted at the end of a run is discarded by `Finish`",
	},
	{
		id: asm.FnRingbufDiscard, types: tAll, fn: ringbufDiscard, // 133 bpf_ringbuf_discard
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgRingbufRecord, helper.ArgAnything}, Ret: helper.RetVoid},
		doc:   "discards it",
		diff:  "as 132",
	},
	{
		id: asm.FnRingbufQuery, types: tAll, fn: ringbufQuery, // 134 bpf_ringbuf_query
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgAnything}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.RingBuf}},
		doc:   "`RingBuffer.Query`",
	},
	{
		id: asm.FnCopyFromUser, types: tSyscall, fn: copyFromUser, // 148 bpf_copy_from_user
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgUninitMem, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger, MightSleep: true},
		doc:   "size 0 → 0; otherwise always -EFAULT, destination zeroed, as the kernel's copy_from_user for an address it cannot read: there is no user address space (see 112). A sleepable helper: the verifier refuses it in the other types with the kernel's \"helper call might sleep in a non-sleepable prog\" (syscall programs are the only sleepable type waggle runs)",
		diff:  "no user address space yet",
	},
	{
		id: asm.FnKtimeGetCoarseNs, types: tXDP | tTC | tSock | tRaw | tCgroupSocks, fn: ktimeGetCoarseNs, // 160 bpf_ktime_get_coarse_ns
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "CLOCK_MONOTONIC_COARSE",
		diff:  "on macOS CLOCK_UPTIME_RAW_APPROX; on Windows as 5",
	},
	{
		id: asm.FnForEachMapElem, types: tAll, fn: forEachMapElem, // 164 bpf_for_each_map_elem
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMap, helper.ArgFunc, helper.ArgStackOrNull, helper.ArgAnything}, Ret: helper.RetInteger, MapTypes: []ebpf.MapType{ebpf.Array, ebpf.PerCPUArray, ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash, ebpf.LRUCPUHash}},
		doc:   "callback(map, &key, &value, ctx) per element, until it returns non-zero; returns the number visited; flags ≠ 0 → -EINVAL. The key is a copy in read-only scratch memory, the value pointer is the element's",
	},
	{
		id: asm.FnSnprintf, types: tAll, fn: snprintf, // 165 bpf_snprintf
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgWritableMemOrNull, helper.ArgSizeOrZero, helper.ArgConstString, helper.ArgMemOrNull, helper.ArgSizeOrZero}, Ret: helper.RetInteger},
		doc:   "the restricted printf with ≤ 12 u64 arguments; data_len not a multiple of 8 or > 96 → -EINVAL; returns the full length + 1",
	},
	{
		id: asm.FnGetAttachCookie, types: tKprobe | tTracepoint | tRawTP | tPerf, fn: getAttachCookie, // 174 bpf_get_attach_cookie
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "the cookie of the attachment that runs the program (`RunOptions.Cookie`: in `link.AttachUprobe` and `waggle trace`, a USDT site's spec ID, or a uprobe's `link.Uprobe.Cookie`), 0 without one",
	},
	{
		id: asm.FnLoop, types: tAll, fn: loop, // 181 bpf_loop
		inline: true,
		proto:  helper.Proto{Args: []helper.ArgKind{helper.ArgAnything, helper.ArgFunc, helper.ArgStackOrNull, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:    "nr_loops > 2²³ → -E2BIG as a 32-bit value (0xfffffff9), as the kernel's verifier-inlined loop returns it; flags ≠ 0 → -EINVAL; callback(i, ctx) until it returns non-zero; returns the iterations",
	},
	{
		id: asm.FnStrncmp, types: tAll, fn: strncmp, // 182 bpf_strncmp
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMem, helper.ArgSize, helper.ArgConstString}, Ret: helper.RetInteger},
		doc:   "strncmp(s1, s2, s1_sz): -1, 0, 1",
	},
}, skbDefs, sockDefs)

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
		return nil, fmt.Errorf("waggle cannot run programs of type %s", TypeName(t))
	}
	var tab helper.Table
	for _, d := range defs {
		if d.types&bit == 0 {
			continue
		}
		if err := tab.Register(helper.Helper{ID: int32(d.id), Name: helper.Name(int32(d.id)), Func: d.fn, Proto: d.proto}); err != nil {
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

// HelperProto is the prototype of kernel helper id, and whether waggle
// implements it.
func HelperProto(id int32) (helper.Proto, bool) {
	d, ok := defByID[id]
	if !ok {
		return helper.Proto{}, false
	}
	return d.proto, true
}

// HelperInline reports whether a JIT may compile calls of kernel helper id
// inline.
func HelperInline(id int32) bool {
	d, ok := defByID[id]
	return ok && d.inline
}

// HelperGPLOnly reports whether the kernel lets only GPL-compatible programs
// call helper id (the gpl_only of its bpf_func_proto).
func HelperGPLOnly(id int32) bool {
	d, ok := defByID[id]
	return ok && d.gplOnly
}

// WithUnreachableHelpers returns insns and table made ready for the
// engines to compile the helper calls of a verified program that the
// verifier proved unreachable (it refuses the others), as the kernel
// never looks at dead code: every called helper that table lacks gets a
// helper that ends the run with an error, should it ever be called. A
// call of an ID no table can hold (0, BPF_FUNC_unspec, or a negative
// one) is made a call of a free ID in a copy of insns; insns itself is
// not changed. The loader compiles every verified program so, and so do
// tests that run verified programs on the engines directly.
func WithUnreachableHelpers(insns isa.Instructions, table *helper.Table) (isa.Instructions, *helper.Table) {
	cloned, copied := false, false
	stub := func(id, at int32) {
		if !cloned {
			table, cloned = table.Clone(), true
		}
		name := helper.Name(id)
		if id == CORESentinel {
			name = "an instruction poisoned by an unresolved CO-RE relocation"
		}
		_ = table.Register(helper.Helper{ID: at, Name: name, Func: func(*helper.Call) (uint64, error) {
			return 0, fmt.Errorf("the program called %s (helper %d), which waggle does not have; the verifier found no path to the call", name, id)
		}})
	}
	var called map[int32]bool    // every called ID, once a call needs a free one
	free := int32(math.MaxInt32) // IDs for the calls of IDs a table cannot hold, from the top
	for i, ins := range insns {
		if !ins.IsHelperCall() {
			continue
		}
		id := int32(ins.Imm)
		if _, ok := table.Lookup(id); ok {
			continue
		}
		if id > 0 {
			stub(id, id)
			continue
		}
		if called == nil {
			called = map[int32]bool{}
			for _, ins := range insns {
				if ins.IsHelperCall() {
					called[int32(ins.Imm)] = true
				}
			}
		}
		for _, ok := table.Lookup(free); ok || called[free]; _, ok = table.Lookup(free) {
			free--
		}
		stub(id, free)
		if !copied {
			insns, copied = slices.Clone(insns), true
		}
		insns[i].Imm = int64(free)
	}
	return insns, table
}
