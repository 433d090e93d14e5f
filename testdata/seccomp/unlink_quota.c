/* unlink_quota: a command may delete two files, no more.
 *
 * unlink and unlinkat are counted in a map; the first two are allowed,
 * every later one fails with EPERM. Everything else is allowed without
 * leaving the kernel: waggle's triage sees that only these two numbers
 * reach the map, so the pre-filter sends only them to the supervisor.
 */
#include "policy.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unlinks SEC(".maps");

SEC("seccomp")
int unlink_quota(struct seccomp_data *ctx)
{
	__u32 zero = 0;
	__u64 *n;

	if (ctx->nr != __NR_unlink && ctx->nr != __NR_unlinkat)
		return SECCOMP_RET_ALLOW;
	n = bpf_map_lookup_elem(&unlinks, &zero);
	if (!n)
		return ERRNO(EPERM);
	if (__sync_fetch_and_add(n, 1) >= 2)
		return ERRNO(EPERM);
	return SECCOMP_RET_ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
