/* tailcall: two tail calls per run, for the engine benchmarks.
 *
 * Program type: XDP (tailcall, tail_a, tail_b).  Maps: jumps, a PROG_ARRAY
 * of 4 slots that the object fills (slot 0 tail_a, slot 1 tail_b); hops, an
 * ARRAY of 4 u64.
 *
 * tailcall tail-calls slot 0 (tail_a), which tail-calls slot 1 (tail_b),
 * which counts hops[0] += 1 and returns XDP_PASS.  Were a tail call to fail,
 * the program that made it would count hops[1] (tailcall) or hops[2]
 * (tail_a) and return XDP_DROP: after n runs the map holds hops[0] = n and
 * nothing else.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hops SEC(".maps");

int tail_a(struct xdp_md *ctx);
int tail_b(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} jumps SEC(".maps") = {
	.values = {
		[0] = (void *)&tail_a,
		[1] = (void *)&tail_b,
	},
};

static __always_inline int hop(__u32 idx, int ret)
{
	__u64 *v = bpf_map_lookup_elem(&hops, &idx);

	if (v)
		*v += 1;
	return ret;
}

SEC("xdp")
int tailcall(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jumps, 0);
	return hop(1, XDP_DROP);
}

SEC("xdp")
int tail_a(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jumps, 1);
	return hop(2, XDP_DROP);
}

SEC("xdp")
int tail_b(struct xdp_md *ctx)
{
	return hop(0, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
