/* core_sockops: a sock_ops program built, as cilium/ebpf's tcprtt_sockops
 * example is, with its own partial struct bpf_sock_ops marked
 * preserve_access_index: its fields are not at the kernel's offsets, and
 * the loader relocates each access (CO-RE) to the kernel's layout, which is
 * waggle's contexts'.
 *
 * Program type: sock_ops (core_rtt). Maps: core_res (ARRAY[4] of u64).
 * core_res[0] = bpf_ntohl(remote_port), [1] = local_port, [2] = srtt_us,
 * [3] = family; returns 1.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define BPF_MAP_TYPE_ARRAY 2
#define BPF_ANY 0

struct bpf_sock_ops {
	__u32 op;
	__u32 family;
	__u32 remote_port;
	__u32 local_port;
	__u32 srtt_us;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} core_res SEC(".maps");

static __attribute__((noinline)) void put(__u32 idx, __u64 v)
{
	bpf_map_update_elem(&core_res, &idx, &v, BPF_ANY);
}

SEC("sockops")
int core_rtt(struct bpf_sock_ops *skops)
{
	put(0, bpf_ntohl(skops->remote_port));
	put(1, skops->local_port);
	put(2, skops->srtt_us);
	put(3, skops->family);
	return 1;
}

char _license[] SEC("license") = "GPL";
