/* null_map_value: REJECTED by the kernel verifier.
 *
 * Program type: socket filter.  Dereferences the result of a hash map
 * lookup without checking it for NULL: "invalid mem access
 * 'map_value_or_null'".  (With an array map and a constant in-range key the
 * kernel knows the lookup cannot fail and accepts the same code.)
 */
#include "../common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counter SEC(".maps");

SEC("socket")
int sock_null(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counter, &key);

	*v += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
