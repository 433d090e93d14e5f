/* fnv1a: 32-bit FNV-1a over the packet's bytes, for the engine benchmarks.
 *
 * Program type: XDP (fnv1a).  Map: fnv_result, an ARRAY of 1 u32.
 *
 * Hashes every byte from data to data_end, at most MAX_BYTES (1500, the
 * benchmark's packet size), with the bounds check the verifier needs before
 * each byte, and stores the hash at fnv_result[0].  The hash of an empty
 * range is the offset basis, 0x811c9dc5.  Returns XDP_PASS.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_BYTES 1500
#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 16777619u

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fnv_result SEC(".maps");

SEC("xdp")
int fnv1a(struct xdp_md *ctx)
{
	unsigned char *p = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 h = FNV_OFFSET;
	__u32 key = 0;
	__u32 *out;

	for (int i = 0; i < MAX_BYTES; i++) {
		if ((void *)(p + i + 1) > data_end)
			break;
		h ^= p[i];
		h *= FNV_PRIME;
	}
	out = bpf_map_lookup_elem(&fnv_result, &key);
	if (out)
		*out = h;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
