// Programs that share a section, one calling a function of that section:
// the subset of the caller keeps the section's other functions (it needs
// the callee), the subset of the other program hides them. Build: make.
#include "../../../testdata/progs/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__attribute__((noinline, section("xdp"))) int bump(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &k);

	if (v)
		*v += 1;
	return XDP_PASS;
}

SEC("xdp")
int xdp_caller(struct xdp_md *ctx)
{
	return bump(0);
}

SEC("xdp")
int xdp_plain(struct xdp_md *ctx)
{
	__u32 k = 1;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);

	if (v)
		*v += 2;
	return XDP_PASS;
}

SEC("tc")
int tc_other(struct __sk_buff *skb)
{
	return 0;
}
