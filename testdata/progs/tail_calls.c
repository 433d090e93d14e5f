/* tail_calls: a statically initialised prog_array, empty slots, the tail
 * call limit and tail calls from a subprogram.
 *
 * Program types: XDP (6 programs).
 * Maps: jmp_table (PROG_ARRAY[8], slots 0, 1, 3 and 4 filled by the object:
 *       .values = {...}), hits (ARRAY[8] of u64).
 * Helpers: tail_call, map_lookup_elem.
 *
 * xdp_dispatch expects an Ethernet frame and counts hits[0]; IPv4 tail-calls
 * slot 0 (handle_ipv4: hits[1]++, returns XDP_PASS), IPv6 slot 1
 * (handle_ipv6: hits[2]++, returns XDP_TX), ARP slot 2, which is empty, so
 * the tail call falls through: hits[7]++ and XDP_DROP; other ethertypes
 * (and frames shorter than 14 bytes) return XDP_ABORTED without a tail call.
 *
 * xdp_chain_entry tail-calls slot 3, xdp_chain, which counts hits[3] and
 * tail-calls itself.  The kernel allows 33 tail calls in a row
 * (MAX_TAIL_CALL_CNT), so xdp_chain runs 33 times; the 34th tail call fails
 * and it returns XDP_PASS.  hits[3] = 33 per run.
 *
 * xdp_sub_tail tail-calls slot 4 (handle_sub: hits[4]++, returns XDP_TX)
 * from inside a bpf-to-bpf subprogram.  A tail call replaces only the
 * subprogram's frame: when handle_sub exits, its return value goes back to
 * the subprogram's caller, which goes on (hits[6]++) and returns it:
 * XDP_TX.  hits[5] would count a failed tail call.  (The subprogram's own
 * fallback return value is read from a volatile so that clang cannot
 * assume it is the call's result.)
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

int handle_ipv4(struct xdp_md *ctx);
int handle_ipv6(struct xdp_md *ctx);
int xdp_chain(struct xdp_md *ctx);
int handle_sub(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} jmp_table SEC(".maps") = {
	.values = {
		[0] = (void *)&handle_ipv4,
		[1] = (void *)&handle_ipv6,
		[3] = (void *)&xdp_chain,
		[4] = (void *)&handle_sub,
	},
};

NOINLINE void hit(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &idx);

	if (v)
		*v += 1;
}

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 slot;

	hit(0);
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		slot = 0;
		break;
	case bpf_htons(ETH_P_IPV6):
		slot = 1;
		break;
	case bpf_htons(ETH_P_ARP):
		slot = 2;
		break;
	default:
		return XDP_ABORTED;
	}
	bpf_tail_call(ctx, &jmp_table, slot);
	hit(7);
	return XDP_DROP;
}

SEC("xdp")
int handle_ipv4(struct xdp_md *ctx)
{
	hit(1);
	return XDP_PASS;
}

SEC("xdp")
int handle_ipv6(struct xdp_md *ctx)
{
	hit(2);
	return XDP_TX;
}

SEC("xdp")
int xdp_chain_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp_table, 3);
	return XDP_ABORTED;
}

SEC("xdp")
int xdp_chain(struct xdp_md *ctx)
{
	hit(3);
	bpf_tail_call(ctx, &jmp_table, 3);
	return XDP_PASS;
}

SEC("xdp")
int handle_sub(struct xdp_md *ctx)
{
	hit(4);
	return XDP_TX;
}

NOINLINE int tail_from_sub(struct xdp_md *ctx, __u32 slot)
{
	volatile int fallback = XDP_DROP;

	bpf_tail_call(ctx, &jmp_table, slot);
	hit(5);
	return fallback;
}

SEC("xdp")
int xdp_sub_tail(struct xdp_md *ctx)
{
	int ret = tail_from_sub(ctx, 4);

	hit(6);
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
