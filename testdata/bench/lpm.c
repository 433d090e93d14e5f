/* lpm: an LPM-trie firewall, for the engine benchmarks.
 *
 * Program type: XDP (lpm).  Maps: nets, an LPM_TRIE (BPF_F_NO_PREALLOC) of
 * 1024 prefixes, key struct {__u32 prefixlen; __u8 addr[4]}, value a u32
 * verdict (1 drop, 2 pass), filled by the benchmark (see lpmPrefixes in
 * bench_engines_test.go); lpm_counts, an ARRAY of 4 u64.
 *
 * The program looks the IPv4 source address (the 4 bytes at offset 26 of
 * an untagged Ethernet frame) up in nets: the longest prefix's value is
 * the verdict, XDP_PASS (2) when no prefix matches or the frame is shorter
 * than 30 bytes.  lpm_counts[verdict] += 1 (lpm_counts[0] for no match).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} nets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} lpm_counts SEC(".maps");

SEC("xdp")
int lpm(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lpm_key key = { .prefixlen = 32 };
	__u32 *verdict, idx = 0, ret = XDP_PASS;
	__u64 *cnt;

	if (data + 30 > data_end)
		return XDP_PASS;
	__builtin_memcpy(key.addr, data + 26, 4);
	verdict = bpf_map_lookup_elem(&nets, &key);
	if (verdict) {
		ret = *verdict;
		idx = ret & 3;
	}
	cnt = bpf_map_lookup_elem(&lpm_counts, &idx);
	if (cnt)
		*cnt += 1;
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
