/* proto_count: an XDP program that counts packets and bytes per IP protocol.
 *
 * Map: proto_stats, an ARRAY of 256 struct stat {u64 packets; u64 bytes},
 * indexed by the IP protocol number (IPv4 protocol or IPv6 next header:
 * 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).  Frames that are not IP (ARP, too
 * short, unknown ethertypes) are counted at index 255 (reserved by IANA,
 * never a real protocol).  One 802.1Q tag is skipped.  Counters are updated
 * with atomic adds, so the program is correct on many CPUs at once.
 *
 * Returns XDP_PASS for every frame.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define OTHER 255

struct stat {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct stat);
} proto_stats SEC(".maps");

static __attribute__((noinline)) __u32 ip_protocol(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u16 proto;

	if (l3 > data_end)
		return OTHER;
	proto = eth->h_proto;
	if (proto == bpf_htons(0x8100)) { /* 802.1Q */
		if (l3 + 4 > data_end)
			return OTHER;
		proto = *(__u16 *)(l3 + 2);
		l3 += 4;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end)
			return OTHER;
		return ip->protocol;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return OTHER;
		return ip6->nexthdr;
	}
	return OTHER;
}

SEC("xdp")
int proto_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 key = ip_protocol(data, data_end);
	struct stat *s = bpf_map_lookup_elem(&proto_stats, &key);

	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, data_end - data);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
