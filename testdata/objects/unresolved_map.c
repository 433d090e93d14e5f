/* unresolved_map: a map reference the object does not define.
 *
 * Program type: XDP.  "elsewhere" is an extern map: the object refers to
 * it, but no object defines it, and waggle links nothing else in.
 * NewCollection must name the program, the instruction and the symbol.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} elsewhere SEC(".maps");

SEC("xdp")
int xdp_unresolved_map(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&elsewhere, &key);
	return n ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
