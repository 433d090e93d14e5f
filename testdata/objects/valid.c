/* valid: a small, correct object that waggle loads and runs.
 *
 * Program type: XDP.  Counts packets in an array map, compares the length
 * with a .rodata limit and keeps the last length in .bss.  TestLoadErrors
 * cuts and patches it to build truncated and corrupted objects, and the
 * fuzzers start from it.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

const volatile __u32 limit = 1500;
__u32 last_len;

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 key = len > limit ? 1 : 0;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	last_len = len;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
