/* flow_stats: an XDP program that counts packets and bytes per flow.
 *
 * A flow is a 5-tuple: source and destination address, source and
 * destination port, IP protocol, for TCP and UDP over IPv4 and IPv6 (one
 * 802.1Q tag is skipped; so are up to four IPv6 hop-by-hop, routing and
 * destination options headers).
 *
 * Maps:
 *   flows       HASH, 16384 entries.  Key: struct flow_key (40 bytes):
 *                 __u8  saddr[16], daddr[16]  IPv6 addresses; IPv4 ones
 *                                             as IPv4-mapped IPv6
 *                                             (::ffff:a.b.c.d; Go:
 *                                             netip.AddrFrom16(k).Unmap())
 *                 __be16 sport, dport         network byte order
 *                 __u8  proto                 6 TCP, 17 UDP
 *                 __u8  pad[3]                zero
 *               Value: struct flow_value (16 bytes): __u64 packets, bytes
 *               (bytes: the frame's length from its Ethernet header).
 *   flow_misc   ARRAY of 4 __u64 counting the frames that are not in
 *               flows: 0 not IP (ARP, other ethertypes, runts), 1 IP but
 *               not TCP or UDP (ICMP, ...; IPv4 fragments after the first;
 *               IPv6 fragments and too many extension headers), 2
 *               malformed or truncated IP or L4 headers, 3 flows lost
 *               because the table was full.
 *
 * Counters are updated with atomic adds, and a new flow is inserted with
 * BPF_NOEXIST (if another CPU inserted it first, its entry is updated), so
 * the program is correct on many CPUs at once.  Returns XDP_PASS for every
 * frame.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_8021Q_ 0x8100

enum misc {
	NOT_IP = 0,
	NOT_TCP_UDP = 1,
	MALFORMED = 2,
	TABLE_FULL = 3,
};

struct flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct flow_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} flow_misc SEC(".maps");

static __always_inline int count_misc(__u32 idx)
{
	__u64 *cnt = bpf_map_lookup_elem(&flow_misc, &idx);

	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return XDP_PASS;
}

/* parse fills key (addresses, protocol, ports) and returns -1 when the
 * frame is a flow, or the flow_misc index that counts it. */
static __always_inline int parse(void *data, void *data_end, struct flow_key *key)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	void *l4;
	__u16 proto;
	__u8 nexthdr;

	if (l3 > data_end)
		return NOT_IP;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q_)) {
		if (l3 + 4 > data_end)
			return NOT_IP;
		proto = *(__be16 *)(l3 + 2);
		l3 += 4;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return MALFORMED;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return MALFORMED;
		if (ip->frag_off & bpf_htons(0x1fff)) /* not the first fragment */
			return NOT_TCP_UDP;
		key->saddr[10] = 0xff;
		key->saddr[11] = 0xff;
		key->daddr[10] = 0xff;
		key->daddr[11] = 0xff;
		__builtin_memcpy(&key->saddr[12], &ip->saddr, 4);
		__builtin_memcpy(&key->daddr[12], &ip->daddr, 4);
		nexthdr = ip->protocol;
		l4 = l3 + ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return MALFORMED;
		__builtin_memcpy(key->saddr, &ip6->saddr, 16);
		__builtin_memcpy(key->daddr, &ip6->daddr, 16);
		nexthdr = ip6->nexthdr;
		l4 = ip6 + 1;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			__u8 *ext = l4;

			if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
			    nexthdr != IPPROTO_DSTOPTS)
				break;
			if ((void *)(ext + 2) > data_end)
				return MALFORMED;
			nexthdr = ext[0];
			l4 += (ext[1] + 1) * 8;
		}
	} else {
		return NOT_IP;
	}
	if (nexthdr != IPPROTO_TCP && nexthdr != IPPROTO_UDP)
		return NOT_TCP_UDP;
	/* TCP and UDP both start with the two ports. */
	if (l4 + 4 > data_end)
		return MALFORMED;
	key->sport = *(__be16 *)l4;
	key->dport = *(__be16 *)(l4 + 2);
	key->proto = nexthdr;
	return -1;
}

SEC("xdp")
int flow_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct flow_key key;
	struct flow_value *val, init = { .packets = 1, .bytes = len };
	int misc;

	__builtin_memset(&key, 0, sizeof(key));
	misc = parse(data, data_end, &key);
	if (misc >= 0)
		return count_misc(misc);

	val = bpf_map_lookup_elem(&flows, &key);
	if (!val) {
		if (bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST) == 0)
			return XDP_PASS;
		/* Another CPU inserted the flow first, or the table is full. */
		val = bpf_map_lookup_elem(&flows, &key);
		if (!val)
			return count_misc(TABLE_FULL);
	}
	__sync_fetch_and_add(&val->packets, 1);
	__sync_fetch_and_add(&val->bytes, len);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
