/* parser: Ethernet -> IPv4 -> TCP/UDP, for the engine benchmarks.
 *
 * Program type: XDP (parser).  Map: port_counts, an ARRAY of 129 u64.
 *
 * Parses the Ethernet header, an IPv4 header of any valid length (IHL 5 to
 * 15, the options skipped) and the TCP or UDP header after it, checking
 * every bound, and adds 1 (atomically) to one counter:
 *   - TCP: port_counts[dport % 64], the destination port in host order;
 *   - UDP: port_counts[64 + dport % 64];
 *   - anything else (not IPv4, IHL < 5, another protocol, a fragment
 *     other than the first, a header cut short): port_counts[128].
 * Returns XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define BUCKETS 64
#define OTHER (2 * BUCKETS)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * BUCKETS + 1);
	__type(key, __u32);
	__type(value, __u64);
} port_counts SEC(".maps");

static __always_inline __u32 classify(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	void *l4;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end)
		return OTHER;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return OTHER;
	ihl = ip->ihl;
	if (ihl < 5)
		return OTHER;
	if (ip->frag_off & bpf_htons(0x1fff)) /* not the first fragment */
		return OTHER;
	l4 = (void *)ip + ihl * 4;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return OTHER;
		return bpf_ntohs(tcp->dest) % BUCKETS;
	}
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return OTHER;
		return BUCKETS + bpf_ntohs(udp->dest) % BUCKETS;
	}
	return OTHER;
}

SEC("xdp")
int parser(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 key = classify(data, data_end);
	__u64 *count = bpf_map_lookup_elem(&port_counts, &key);

	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
