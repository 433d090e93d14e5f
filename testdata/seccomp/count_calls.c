/* count_calls: allows everything and counts system calls by number in a
 * map. It uses a map and a helper, so it cannot be lowered to a classic
 * seccomp filter: waggle says why.
 */
#include "policy.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

SEC("seccomp")
int count_calls(struct seccomp_data *ctx)
{
	__u32 nr = ctx->nr;
	__u64 one = 1, *n = bpf_map_lookup_elem(&calls, &nr);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&calls, &nr, &one, BPF_NOEXIST);
	return SECCOMP_RET_ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
