/* lpm: longest-prefix-match tries for IPv4 and IPv6.
 *
 * Program types: XDP (xdp_lpm), raw tracepoint (rtp_lpm).  (Not syscall:
 * the kernel refuses LPM tries in sleepable programs.)
 * Maps: routes4 (LPM_TRIE, {u32 prefixlen; u8 addr[4]} -> u32 class),
 *       routes6 (LPM_TRIE, {u32 prefixlen; u8 addr[16]} -> u32 class),
 *       class_count (ARRAY[8] of u64), lpm_result (ARRAY[6] of u64).
 * Helpers: map_lookup_elem, map_update_elem, map_delete_elem.
 *
 * Both programs first install the same routes (BPF_ANY, so repeated runs
 * change nothing): 10.0.0.0/8 -> 1, 10.1.0.0/16 -> 2, 10.1.2.0/24 -> 3,
 * 10.1.2.3/32 -> 4, 192.168.0.0/16 -> 5; 2001:db8::/32 -> 1,
 * 2001:db8:1::/48 -> 2.
 *
 * xdp_lpm expects an Ethernet frame; for IPv4 it looks up the source address
 * in routes4, for IPv6 the source address in routes6, and counts the class
 * found (0 when no prefix matches) in class_count.  Returns XDP_PASS when a
 * prefix matched, XDP_DROP otherwise (and for other frames).
 *
 * rtp_lpm takes six u64 arguments: args[0] a prefix length and args[1] an
 * IPv4 address (its low 32 bits, network byte order, as they lie in memory)
 * naming a prefix to delete, args[2..5] four addresses (same encoding) to
 * look up as /32 keys.  lpm_result[0] = the delete's result (0 or -ENOENT
 * as u64), [1] = the result of deleting it again (-ENOENT), [2..5] = the
 * class found for each address or 0xffffffff.  Returns the number of
 * addresses that matched.
 */
#include "common.h"

struct key4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct key6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct key4);
	__type(value, __u32);
} routes4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct key6);
	__type(value, __u32);
} routes6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} class_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 6);
	__type(key, __u32);
	__type(value, __u64);
} lpm_result SEC(".maps");

NOINLINE void add4(__u32 plen, __u32 addr, __u32 class)
{
	struct key4 k = { .prefixlen = plen };

	__builtin_memcpy(k.addr, &addr, 4); /* addr is in network order */

	bpf_map_update_elem(&routes4, &k, &class, BPF_ANY);
}

NOINLINE void populate(void)
{
	struct key6 k6 = { .prefixlen = 32, .addr = { 0x20, 0x01, 0x0d, 0xb8 } };
	__u32 class;

	add4(8, IP4(10, 0, 0, 0), 1);
	add4(16, IP4(10, 1, 0, 0), 2);
	add4(24, IP4(10, 1, 2, 0), 3);
	add4(32, IP4(10, 1, 2, 3), 4);
	add4(16, IP4(192, 168, 0, 0), 5);
	class = 1;
	bpf_map_update_elem(&routes6, &k6, &class, BPF_ANY);
	k6.prefixlen = 48;
	k6.addr[5] = 1;
	class = 2;
	bpf_map_update_elem(&routes6, &k6, &class, BPF_ANY);
}

SEC("xdp")
int xdp_lpm(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 class = 0, *found = 0;
	__u64 *cnt;

	populate();
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct key4 k = { .prefixlen = 32 };

		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		__builtin_memcpy(k.addr, &ip->saddr, 4);
		found = bpf_map_lookup_elem(&routes4, &k);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct key6 k = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		__builtin_memcpy(k.addr, &ip6->saddr, 16);
		found = bpf_map_lookup_elem(&routes6, &k);
	} else {
		return XDP_DROP;
	}
	if (found)
		class = *found & 7;
	cnt = bpf_map_lookup_elem(&class_count, &class);
	if (cnt)
		*cnt += 1;
	return found ? XDP_PASS : XDP_DROP;
}

NOINLINE __u32 lookup4(__u32 addr)
{
	struct key4 k = { .prefixlen = 32 };
	__u32 *v;

	__builtin_memcpy(k.addr, &addr, 4);
	v = bpf_map_lookup_elem(&routes4, &k);
	return v ? *v : 0xffffffff;
}

NOINLINE void set_result(__u32 idx, __u64 v)
{
	bpf_map_update_elem(&lpm_result, &idx, &v, BPF_ANY);
}

SEC("raw_tp/waggle_lpm")
int rtp_lpm(__u64 *args)
{
	struct key4 del = { .prefixlen = args[0] };
	__u32 daddr = args[1];
	int matched = 0;
	__u32 c;

	populate();
	__builtin_memcpy(del.addr, &daddr, 4);
	set_result(0, bpf_map_delete_elem(&routes4, &del));
	set_result(1, bpf_map_delete_elem(&routes4, &del));

	c = lookup4(args[2]);
	matched += c != 0xffffffff;
	set_result(2, c);
	c = lookup4(args[3]);
	matched += c != 0xffffffff;
	set_result(3, c);
	c = lookup4(args[4]);
	matched += c != 0xffffffff;
	set_result(4, c);
	c = lookup4(args[5]);
	matched += c != 0xffffffff;
	set_result(5, c);
	return matched;
}

char LICENSE[] SEC("license") = "GPL";
