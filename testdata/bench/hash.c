/* hash: one hash-map lookup plus one update, for the engine benchmarks.
 *
 * Program type: XDP (hash).  Map: src_counts, a HASH of u32 -> u64, 1024
 * entries.
 *
 * The key is the 4 bytes at offset 26 of the packet (the IPv4 source
 * address of an untagged Ethernet frame, as the bytes lie in the packet);
 * packets shorter than 30 bytes use key 0.  Every run looks the key up and
 * writes back, with bpf_map_update_elem(BPF_ANY), the value found plus 1,
 * or 1 when the key is absent: after n runs on one packet, the map holds
 * that packet's key with value n.  Returns XDP_PASS.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} src_counts SEC(".maps");

SEC("xdp")
int hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 key = 0;
	__u64 *found, count = 1;

	if (data + 30 <= data_end)
		key = *(__u32 *)(data + 26);
	found = bpf_map_lookup_elem(&src_counts, &key);
	if (found)
		count = *found + 1;
	bpf_map_update_elem(&src_counts, &key, &count, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
