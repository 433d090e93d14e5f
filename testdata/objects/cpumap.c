/* cpumap: a map type waggle does not have.
 *
 * A BTF-defined BPF_MAP_TYPE_CPUMAP named "cpu_redirect": NewCollection
 * must fail naming the map and its type.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_redirect SEC(".maps");

SEC("xdp")
int xdp_to_cpu(struct xdp_md *ctx)
{
	return bpf_redirect_map(&cpu_redirect, 0, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
