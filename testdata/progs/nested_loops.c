/* nested_loops: loops as long as the caller asks, which only a run's
 * budget, timeout or cancellation can stop: bpf_loop nested three deep
 * (issue 15: the JIT once ran it practically forever) and a bounded C loop.
 *
 * Program types: syscall (sys_nested_loops, sys_bounded_loop).
 * Maps: nl_res (ARRAY[2] of u64).
 * Helpers: loop, map_update_elem; callbacks.
 *
 * Input: a context of at least 8 bytes, struct nl_args: n (u32), seed
 * (u32).
 *
 * sys_nested_loops calls bpf_loop(n, outer), outer bpf_loop(n, middle),
 * middle bpf_loop(n, inner); inner counts its calls in the caller's stack.
 * nl_res[0] = the count: n^3 for n <= 1 << 23 (with n = 1 << 23, 2^69
 * calls: no run ends), 0 for larger n (bpf_loop refuses them with
 * -E2BIG).  Returns 0.
 *
 * sys_bounded_loop runs a C loop of 20000 iterations that the verifier
 * walks to its end: h = seed, then h = (h ^ i) * 16777619 for i in
 * 0..19999 (32-bit).  nl_res[1] = h.  Returns 0.
 */
#include "common.h"

struct nl_args {
	__u32 n;
	__u32 seed;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} nl_res SEC(".maps");

struct nest {
	__u64 calls;
	__u32 n;
};

static int inner(__u32 i, struct nest *c)
{
	c->calls++;
	return 0;
}

static int middle(__u32 i, struct nest *c)
{
	bpf_loop(c->n, inner, c, 0);
	return 0;
}

static int outer(__u32 i, struct nest *c)
{
	bpf_loop(c->n, middle, c, 0);
	return 0;
}

SEC("syscall")
int sys_nested_loops(struct nl_args *a)
{
	struct nest c = {.n = a->n};
	__u32 key = 0;

	bpf_loop(c.n, outer, &c, 0);
	bpf_map_update_elem(&nl_res, &key, &c.calls, BPF_ANY);
	return 0;
}

SEC("syscall")
int sys_bounded_loop(struct nl_args *a)
{
	__u32 h = a->seed;
	__u64 v;
	__u32 key = 1;

#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 20000; i++)
		h = (h ^ i) * 16777619;
	v = h;
	bpf_map_update_elem(&nl_res, &key, &v, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
