/* xdp_parse: header parsing with direct packet access, an array and a hash map.
 *
 * Program types: XDP (two programs).
 * Maps: pkt_class (ARRAY[8] of u64), l4_stats (HASH u32 -> {packets, bytes}),
 *       len_hist (ARRAY[4] of u64).
 * Helpers: map_lookup_elem, map_update_elem.
 * Also: .rodata configuration (const volatile), bpf-to-bpf subprograms.
 *
 * xdp_parse expects an Ethernet frame: optional single 802.1Q tag, then
 * ARP, IPv4 or IPv6; IPv4/IPv6 carrying TCP, UDP, ICMP or ICMPv6 are counted
 * per L4 protocol.  Frames too short for the headers they announce are
 * counted as malformed and dropped.  Packets whose L4 protocol equals
 * drop_proto (ICMP) are dropped; everything else passes.
 *
 * pkt_class index: 0 malformed, 1 ARP, 2 IPv4, 3 IPv6, 4 other ethertype,
 *                  5 VLAN tagged (in addition to the inner class).
 * xdp_len_hist counts frame lengths: <64, <128, <512, >=512.
 */
#include "common.h"

struct l4_stat {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} pkt_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct l4_stat);
} l4_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} len_hist SEC(".maps");

const volatile __u8 drop_proto = IPPROTO_ICMP;

NOINLINE void count_class(__u32 class)
{
	__u64 *v = bpf_map_lookup_elem(&pkt_class, &class);

	if (v)
		*v += 1;
}

NOINLINE void count_l4(__u32 proto, __u64 len)
{
	struct l4_stat *s = bpf_map_lookup_elem(&l4_stats, &proto);

	if (s) {
		s->packets++;
		s->bytes += len;
		return;
	}
	struct l4_stat init = { .packets = 1, .bytes = len };
	bpf_map_update_elem(&l4_stats, &proto, &init, BPF_NOEXIST);
}

/* Returns the L4 protocol, or -1 when the headers do not fit. */
NOINLINE int parse_ipv4(void *data, void *data_end)
{
	struct iphdr *ip = data;

	if ((void *)(ip + 1) > data_end)
		return -1;
	if (ip->ihl < 5)
		return -1;
	return ip->protocol;
}

NOINLINE int parse_ipv6(void *data, void *data_end)
{
	struct ipv6hdr *ip6 = data;

	if ((void *)(ip6 + 1) > data_end)
		return -1;
	return ip6->nexthdr;
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct ethhdr *eth = data;
	void *l3;
	__u16 proto;
	int l4;

	if ((void *)(eth + 1) > data_end)
		goto malformed;
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > data_end)
			goto malformed;
		count_class(5);
		proto = vh->encap_proto;
		l3 = vh + 1;
	}

	switch (proto) {
	case bpf_htons(ETH_P_ARP):
		count_class(1);
		return XDP_PASS;
	case bpf_htons(ETH_P_IP):
		l4 = parse_ipv4(l3, data_end);
		if (l4 < 0)
			goto malformed;
		count_class(2);
		break;
	case bpf_htons(ETH_P_IPV6):
		l4 = parse_ipv6(l3, data_end);
		if (l4 < 0)
			goto malformed;
		count_class(3);
		break;
	default:
		count_class(4);
		return XDP_PASS;
	}
	count_l4(l4, len);
	if (l4 == drop_proto)
		return XDP_DROP;
	return XDP_PASS;

malformed:
	count_class(0);
	return XDP_DROP;
}

SEC("xdp")
int xdp_len_hist(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 bucket = len < 64 ? 0 : len < 128 ? 1 : len < 512 ? 2 : 3;
	__u64 *v = bpf_map_lookup_elem(&len_hist, &bucket);

	if (!v)
		return XDP_ABORTED;
	__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
