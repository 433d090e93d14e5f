/* big_value: an array of one value of 2 GiB - 8 bytes, just under the
 * kernel's INT_MAX limit on array values (the kernel accepts it where it
 * has the memory).  Like every map, it loads only if the memory limit for
 * maps (of the process, of the collection) leaves room for it.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* value_size by number: clang's BTF cannot describe a type of 2 GiB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, 4);
	__uint(value_size, 0x7ffffff8);
} big SEC(".maps");

SEC("xdp")
int xdp_big_value(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u8 *v = bpf_map_lookup_elem(&big, &key);

	return v && v[0] ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
