// A small XDP program with a map and a subprogram, for waggle disasm tests.
// Rebuild: clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c xdp_count.c -o xdp_count.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __attribute__((noinline)) __u32 classify(__u32 len)
{
	return len > 100 ? 1 : 0;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	__u32 key = classify(ctx->data_end - ctx->data);
	__u64 *v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
