/* huge_percpu: a per-CPU array of 0x10000000 entries of 8 bytes, 2 GiB per
 * CPU slot (the kernel accepts it where it has the memory, after minutes).
 * Where the maps of the process may not hold that much, waggle must refuse
 * it with ENOMEM naming the map, the bytes it needs and the limit.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 0x10000000);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int xdp_percpu_count(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		(*v)++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
