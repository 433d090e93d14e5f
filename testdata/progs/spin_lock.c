/* spin_lock: bpf_spin_lock in array and hash map values.
 *
 * Program types: XDP (xdp_locked), TC (tc_locked).
 * Maps: totals (ARRAY[1] of struct locked {bpf_spin_lock; u32 pad;
 *       u64 packets; u64 bytes}), per_proto (HASH ethertype (u32, host
 *       order) -> struct locked).  The lock word reads as 0 from user space.
 * Helpers: spin_lock, spin_unlock, map_lookup_elem, map_update_elem.
 *
 * Both programs, for an Ethernet frame of length L, add 1 and L to totals[0]
 * and to per_proto[ethertype] under the value's lock (creating the hash
 * entry first when absent).  xdp_locked returns XDP_PASS, tc_locked
 * TC_ACT_OK; frames shorter than 14 bytes are only counted in totals.
 */
#include "common.h"

struct locked {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct locked);
} per_proto SEC(".maps");

NOINLINE void count_locked(struct locked *l, __u64 len)
{
	bpf_spin_lock(&l->lock);
	l->packets += 1;
	l->bytes += len;
	bpf_spin_unlock(&l->lock);
}

NOINLINE void count(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	__u64 len = data_end - data;
	__u32 zero = 0, proto;
	struct locked *l;

	l = bpf_map_lookup_elem(&totals, &zero);
	if (l)
		count_locked(l, len);
	if ((void *)(eth + 1) > data_end)
		return;
	proto = bpf_ntohs(eth->h_proto);
	l = bpf_map_lookup_elem(&per_proto, &proto);
	if (!l) {
		struct locked init = {};

		bpf_map_update_elem(&per_proto, &proto, &init, BPF_NOEXIST);
		l = bpf_map_lookup_elem(&per_proto, &proto);
		if (!l)
			return;
	}
	count_locked(l, len);
}

SEC("xdp")
int xdp_locked(struct xdp_md *ctx)
{
	count((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

SEC("tc")
int tc_locked(struct __sk_buff *skb)
{
	count((void *)(long)skb->data, (void *)(long)skb->data_end);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
