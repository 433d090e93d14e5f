// A uprobe program that counts its runs by attach cookie
// (bpf_get_attach_cookie: link.Uprobe.Cookie).
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u64);
	__type(value, __u64);
} by_cookie SEC(".maps");

SEC("uprobe")
int count_cookie(void *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), one = 1, *n;

	n = bpf_map_lookup_elem(&by_cookie, &cookie);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&by_cookie, &cookie, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
