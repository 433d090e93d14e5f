/* csum: bpf_csum_diff for IPv4 header checksums, in XDP and TC.
 *
 * Program types: XDP (xdp_csum), TC (tc_csum).
 * Maps: csum_res (ARRAY[8] of u64).
 * Helpers: csum_diff, map_update_elem.
 *
 * Only folded 16-bit checksums are stored: the unfolded value that
 * bpf_csum_diff returns has differed between kernel versions and
 * architectures (csum_partial's 32-bit result), so it is not compared.
 *
 * xdp_csum expects an IPv4 frame with a 20-byte header (else XDP_PASS and
 * nothing stored).  It recomputes the header checksum with
 * csum_diff(NULL, 0, header with check = 0, 20, 0): csum_res[0] = 1 if it
 * equals the checksum in the packet; then rewrites the source address to
 * 192.0.2.1 and updates the checksum incrementally with
 * csum_diff(&old, 4, &new, 4, ~check): csum_res[1] = the new checksum
 * (network order, as a u16 in memory) and csum_res[2] = 1 if it equals a
 * full recomputation.  csum_res[3] = csum_diff(NULL, 0, buf, 6, 0) with
 * buf all zero: 0.  Kernel 6.18 accepts sizes that are not multiples of 4
 * (older kernels returned -EINVAL).  Returns XDP_TX with the rewritten
 * frame (valid checksum) as output.
 *
 * tc_csum does the same recomputation on an skb through direct packet
 * access, storing csum_res[4] = 1 if the packet's checksum is valid, and
 * returns TC_ACT_OK, or TC_ACT_SHOT when the checksum is wrong.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} csum_res SEC(".maps");

NOINLINE void put(__u32 idx, __u64 v)
{
	bpf_map_update_elem(&csum_res, &idx, &v, BPF_ANY);
}

static __always_inline __u16 fold(__s64 csum)
{
	__u32 sum = csum;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* The checksum of a 20-byte IPv4 header, computed with check = 0. */
NOINLINE __u16 header_csum(struct iphdr *hdr)
{
	struct iphdr copy = *hdr;

	copy.check = 0;
	return fold(bpf_csum_diff(NULL, 0, (__be32 *)&copy, sizeof(copy), 0));
}

SEC("xdp")
int xdp_csum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct iphdr hdr;
	__be32 old, new = IP4(192, 0, 2, 1);
	__u16 check;
	__u8 buf[8] = {};

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return XDP_PASS;
	hdr = *ip;
	put(0, header_csum(&hdr) == hdr.check);

	old = ip->saddr;
	check = fold(bpf_csum_diff(&old, 4, &new, 4, ~(__u32)ip->check & 0xffff));
	ip->saddr = new;
	ip->check = check;
	put(1, check);
	hdr = *ip;
	put(2, header_csum(&hdr) == check);
	put(3, bpf_csum_diff(NULL, 0, (__be32 *)buf, 6, 0));
	return XDP_TX;
}

SEC("tc")
int tc_csum(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct iphdr hdr;
	int ok;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return TC_ACT_OK;
	hdr = *ip;
	ok = header_csum(&hdr) == hdr.check;
	put(4, ok);
	return ok ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
