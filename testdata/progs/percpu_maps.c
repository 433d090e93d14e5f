/* percpu_maps: per-CPU array and hash maps, processor and NUMA ids.
 *
 * Program types: XDP.
 * Maps: pcpu_stats (PERCPU_ARRAY[2] of u64: [0] packets, [1] bytes),
 *       pcpu_proto (PERCPU_HASH, ethertype in host order (u32) -> u64),
 *       props (ARRAY[4] of u64).
 * Helpers: map_lookup_elem, map_update_elem, get_smp_processor_id,
 *          get_numa_node_id.
 *
 * Input: any Ethernet frame.  Counts packets and bytes on the current CPU
 * and packets per ethertype.  props[0] counts runs in which
 * bpf_get_smp_processor_id() returned the same value twice and a value
 * below 8192 (NR_CPUS limit); props[1] counts runs in which
 * bpf_get_numa_node_id() was >= 0 and < 1024.  The raw ids are not stored.
 * Returns XDP_PASS.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} props SEC(".maps");

NOINLINE void add(void *map, __u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		*v += n;
}

SEC("xdp")
int xdp_percpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 cpu, cpu2;
	long node;

	add(&pcpu_stats, 0, 1);
	add(&pcpu_stats, 1, data_end - data);

	if ((void *)(eth + 1) <= data_end) {
		__u32 proto = bpf_ntohs(eth->h_proto);
		__u64 *v = bpf_map_lookup_elem(&pcpu_proto, &proto);

		if (v) {
			*v += 1;
		} else {
			__u64 one = 1;

			bpf_map_update_elem(&pcpu_proto, &proto, &one, BPF_NOEXIST);
		}
	}

	cpu = bpf_get_smp_processor_id();
	cpu2 = bpf_get_smp_processor_id();
	if (cpu == cpu2 && cpu < 8192)
		add(&props, 0, 1);
	node = bpf_get_numa_node_id();
	if (node >= 0 && node < 1024)
		add(&props, 1, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
