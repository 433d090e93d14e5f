/* huge_map: an array map of 32 GiB (32768 values of 1 MiB).
 *
 * The kernel would try to allocate it and fail with ENOMEM on a machine
 * without the memory; waggle must refuse it the same way instead of
 * letting the Go runtime abort the process when the system refuses the
 * allocation.  NewCollection must name the map.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct big_value {
	__u8 bytes[1 << 20];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 15);
	__type(key, __u32);
	__type(value, struct big_value);
} huge SEC(".maps");

SEC("xdp")
int xdp_huge(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct big_value *v = bpf_map_lookup_elem(&huge, &key);

	return v && v->bytes[0] ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
