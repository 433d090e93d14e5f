/* firewall: an XDP firewall for IPv4 source addresses.
 *
 * Maps, filled from user space (Go: coll.Maps["blocked_addrs"].Put(...)):
 *   blocked_addrs  HASH, key: __u32 IPv4 address in network byte order (the
 *                  4 bytes as they appear in the packet), value: __u32 (any;
 *                  not read).  Up to 1024 addresses.
 *   blocked_nets   LPM_TRIE (BPF_F_NO_PREALLOC), key: struct {__u32
 *                  prefixlen (host order); __u8 addr[4] (network order)},
 *                  value: __u32 (any; not read).  Up to 1024 prefixes.
 *   drop_counts    ARRAY of 4 __u64, indexed by reason, counted by the
 *                  program: 0 passed, 1 dropped: address in blocked_addrs,
 *                  2 dropped: address in a blocked_nets prefix,
 *                  3 dropped: malformed IPv4 (truncated header, IHL < 5).
 *
 * Non-IPv4 frames pass without being counted.  The exact-address table is
 * checked before the prefixes.  Returns XDP_DROP or XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum reason {
	PASSED = 0,
	BLOCKED_ADDR = 1,
	BLOCKED_NET = 2,
	MALFORMED = 3,
};

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} blocked_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} blocked_nets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} drop_counts SEC(".maps");

static __attribute__((noinline)) int verdict(__u32 reason)
{
	__u64 *cnt = bpf_map_lookup_elem(&drop_counts, &reason);

	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return reason == PASSED ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct lpm_key key = { .prefixlen = 32 };
	__u32 saddr;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return verdict(MALFORMED);
	saddr = ip->saddr;
	if (bpf_map_lookup_elem(&blocked_addrs, &saddr))
		return verdict(BLOCKED_ADDR);
	__builtin_memcpy(key.addr, &saddr, 4);
	if (bpf_map_lookup_elem(&blocked_nets, &key))
		return verdict(BLOCKED_NET);
	return verdict(PASSED);
}

char LICENSE[] SEC("license") = "GPL";
