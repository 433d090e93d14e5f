/* bloom: a bloom filter map with push and peek.
 *
 * Program types: XDP (xdp_bloom), raw tracepoint (rtp_bloom).
 * Maps: seen (BLOOM_FILTER, 1024 entries of u32, 3 hash functions,
 *       BPF_F_ZERO_SEED so that the bit positions do not depend on a random
 *       seed), bloom_result (ARRAY[8] of u64).
 * Helpers: map_push_elem, map_peek_elem, map_update_elem.
 *
 * xdp_bloom expects an IPv4 frame: it peeks for the source address
 * (bloom_result[0] = result before the push: -ENOENT the first time, 0 on
 * later runs), pushes it (bloom_result[1] = 0), peeks again
 * (bloom_result[2] = 0) and peeks for the destination address
 * (bloom_result[3] = -ENOENT unless it was pushed too, or is a false
 * positive: with 1024 entries x 3 hashes the bitmap has 4096 bits, so a few
 * pushed values give a false positive with probability well below 1e-6,
 * and the zero seed makes the outcome fixed).  Returns XDP_PASS when the
 * source had been seen before, XDP_DROP otherwise; XDP_ABORTED for non-IPv4.
 *
 * rtp_bloom takes four u64 arguments: pushes args[0] and args[1] (as u32)
 * and stores the peek results of args[0..3] in bloom_result[4..7].  Returns
 * the number of arguments found.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 1024);
	__uint(map_extra, 3);
	__uint(map_flags, BPF_F_ZERO_SEED);
	__type(value, __u32);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} bloom_result SEC(".maps");

NOINLINE void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&bloom_result, &idx, &v, BPF_ANY);
}

SEC("xdp")
int xdp_bloom(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 saddr, daddr;
	long before;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_ABORTED;
	saddr = ip->saddr;
	daddr = ip->daddr;
	before = bpf_map_peek_elem(&seen, &saddr);
	put(0, before);
	put(1, bpf_map_push_elem(&seen, &saddr, BPF_ANY));
	put(2, bpf_map_peek_elem(&seen, &saddr));
	put(3, bpf_map_peek_elem(&seen, &daddr));
	return before == 0 ? XDP_PASS : XDP_DROP;
}

NOINLINE int peek(__u32 idx, __u32 v)
{
	long r = bpf_map_peek_elem(&seen, &v);

	put(idx, r);
	return r == 0;
}

SEC("raw_tp/waggle_bloom")
int rtp_bloom(__u64 *args)
{
	__u32 v0 = args[0], v1 = args[1];
	int found = 0;

	bpf_map_push_elem(&seen, &v0, BPF_ANY);
	bpf_map_push_elem(&seen, &v1, BPF_ANY);
	found += peek(4, args[0]);
	found += peek(5, args[1]);
	found += peek(6, args[2]);
	found += peek(7, args[3]);
	return found;
}

char LICENSE[] SEC("license") = "GPL";
