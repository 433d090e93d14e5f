// Programs in sections of their own, two of them named by a program array
// initialised in the object (libbpf's .values), and a function of .text
// they call: no subset of one program can be read, as the array refers to
// programs of the sections the subset hides. Build: make.
#include "../../../testdata/progs/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

int xdp_target(struct xdp_md *ctx);
int tc_target(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int(void *));
} jumps SEC(".maps") = {
	.values = {
		[0] = (void *)&xdp_target,
		[1] = (void *)&tc_target,
	},
};

NOINLINE int count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &k);

	if (v)
		*v += 1;
	return 0;
}

SEC("xdp")
int xdp_target(struct xdp_md *ctx)
{
	return count(0) + XDP_PASS;
}

SEC("tc")
int tc_target(struct __sk_buff *skb)
{
	return count(0);
}

SEC("socket")
int socket_alone(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 1);
	return count(0);
}
