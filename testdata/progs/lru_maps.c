/* lru_maps: LRU hash and LRU per-CPU hash maps keyed from packet fields.
 *
 * Program types: TC (SEC("tc")).
 * Maps: by_src (LRU_HASH, 16 entries, IPv4 source address -> {packets,
 *       bytes}), by_port (LRU_PERCPU_HASH, 16 entries, TCP/UDP destination
 *       port in host order (u32) -> u64 packets).
 * Helpers: map_lookup_elem, map_update_elem.
 *
 * Input: Ethernet frames.  IPv4 frames are counted by source address (new
 * entries are created with BPF_NOEXIST, existing ones updated in place);
 * IPv4 TCP and UDP frames are also counted by destination port.  Non-IPv4
 * or truncated frames are left alone.  The maps never fill up, so LRU
 * eviction (which depends on the kernel's per-CPU free lists) is never
 * exercised.  Returns TC_ACT_OK (0) for IPv4, TC_ACT_UNSPEC (-1) otherwise.
 */
#include "common.h"

struct src_stat {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct src_stat);
} by_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} by_port SEC(".maps");

SEC("tc")
int tc_lru(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct src_stat *st;
	__u32 key, port = 0;
	__u64 *cnt;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;

	key = ip->saddr;
	st = bpf_map_lookup_elem(&by_src, &key);
	if (st) {
		__sync_fetch_and_add(&st->packets, 1);
		__sync_fetch_and_add(&st->bytes, skb->len);
	} else {
		struct src_stat init = { 1, skb->len };

		bpf_map_update_elem(&by_src, &key, &init, BPF_NOEXIST);
	}

	if (ip->ihl != 5)
		return TC_ACT_OK;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(ip + 1);

		if ((void *)(tcp + 1) > data_end)
			return TC_ACT_OK;
		port = bpf_ntohs(tcp->dest);
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(ip + 1);

		if ((void *)(udp + 1) > data_end)
			return TC_ACT_OK;
		port = bpf_ntohs(udp->dest);
	} else {
		return TC_ACT_OK;
	}
	cnt = bpf_map_lookup_elem(&by_port, &port);
	if (cnt) {
		*cnt += 1;
	} else {
		__u64 one = 1;

		bpf_map_update_elem(&by_port, &port, &one, BPF_ANY);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
