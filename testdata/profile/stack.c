// A perf_event program that takes each sample's innermost four user
// frames with bpf_get_stack (not bpf_get_stackid: the addresses land in
// the program's own memory) and counts the samples by them in `leaves`.
// link's TestAttachProfileGetStack builds it with clang and profiles
// busy.c with it: hot, warm, spin, main in at least 90 % of the samples.
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64[4]);
	__type(value, __u64);
} leaves SEC(".maps");

SEC("perf_event")
int stack(struct bpf_perf_event_data *ctx)
{
	__u64 ips[4] = {};
	__u64 one = 1, *count;

	if (bpf_get_stack(ctx, ips, sizeof(ips), BPF_F_USER_STACK) < 0)
		return 0;
	count = bpf_map_lookup_elem(&leaves, ips);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&leaves, ips, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
