/* sockmap: a map type waggle does not have.
 *
 * A BTF-defined BPF_MAP_TYPE_SOCKMAP named "socks", used by no program.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} socks SEC(".maps");

SEC("socket")
int sock_pass(struct __sk_buff *skb)
{
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
