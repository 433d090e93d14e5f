/* time_random: clocks, jiffies and random numbers, stored as properties.
 *
 * Program types: XDP (xdp_time), syscall (sys_time), raw tracepoint
 * (rtp_time).  Only xdp_time calls bpf_ktime_get_coarse_ns: the kernel
 * refuses it in syscall programs ("program of this type cannot use helper
 * bpf_ktime_get_coarse_ns#160"; see reject/coarse_in_syscall.c) and in
 * tracing programs.
 * Maps: time_props (ARRAY[8] of u64).
 * Helpers: ktime_get_ns, ktime_get_boot_ns, ktime_get_coarse_ns, jiffies64,
 *          get_prandom_u32, map_lookup_elem.
 *
 * Each run adds 1 to time_props[i] when property i holds:
 *   [0] ktime_get_ns() > 0 and a second call is >= the first
 *   [1] ktime_get_boot_ns() >= the second ktime_get_ns() (boot time counts
 *       suspend too, so it is never behind the monotonic clock)
 *   [2] ktime_get_coarse_ns() > 0 and <= a ktime_get_ns() taken after it
 *       (xdp_time only)
 *   [3] jiffies64() > 0 and a second call is >= the first
 *   [4] eight get_prandom_u32() values are not all equal
 *   [5] always (counts runs)
 * So after N runs every property reads N (sys_time and rtp_time leave [2]
 * at 0).  Input: none needed (xdp_time takes any frame).  Returns the
 * number of properties that held in this run: 6 for xdp_time, 5 for the
 * others.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} time_props SEC(".maps");

NOINLINE int prop(__u32 idx, int holds)
{
	__u64 *v = bpf_map_lookup_elem(&time_props, &idx);

	if (v && holds)
		*v += 1;
	return holds ? 1 : 0;
}

NOINLINE int common_props(void)
{
	__u64 t1 = bpf_ktime_get_ns();
	__u64 t2 = bpf_ktime_get_ns();
	__u64 b = bpf_ktime_get_boot_ns();
	__u64 j1 = bpf_jiffies64();
	__u64 j2 = bpf_jiffies64();
	__u32 r0 = bpf_get_prandom_u32();
	int differ = 0, n = 0;

	for (int i = 0; i < 7; i++)
		differ |= bpf_get_prandom_u32() != r0;
	n += prop(0, t1 > 0 && t2 >= t1);
	n += prop(1, b >= t2);
	n += prop(3, j1 > 0 && j2 >= j1);
	n += prop(4, differ);
	n += prop(5, 1);
	return n;
}

NOINLINE int coarse_prop(void)
{
	__u64 c = bpf_ktime_get_coarse_ns();
	__u64 t = bpf_ktime_get_ns();

	return prop(2, c > 0 && c <= t);
}

SEC("xdp")
int xdp_time(struct xdp_md *ctx)
{
	return common_props() + coarse_prop();
}

SEC("syscall")
int sys_time(void *ctx)
{
	return common_props();
}

SEC("raw_tp/waggle_time")
int rtp_time(void *ctx)
{
	return common_props();
}

char LICENSE[] SEC("license") = "GPL";
