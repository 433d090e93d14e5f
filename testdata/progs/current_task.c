/* current_task: the current task's ids and name, the CPU and NUMA node,
 * stored as properties.
 *
 * Program types: raw tracepoint (rtp_task), syscall (sys_task), XDP
 * (xdp_task: kernel 6.18 offers get_current_pid_tgid and get_current_comm
 * to every program type).
 * Maps: task_props (ARRAY[8] of u64).
 * Helpers: get_current_pid_tgid, get_current_uid_gid, get_current_comm,
 *          get_smp_processor_id, get_numa_node_id, map_update_elem.
 *
 * rtp_task takes two u64 arguments a, b and stores:
 *   [0] 1 if pid_tgid has a non-zero tgid (high half) and pid (low half)
 *   [1] 1 if get_current_uid_gid() is not -EINVAL (there is a task)
 *   [2] 1 if get_current_comm(16 bytes) returned 0, the name is not empty
 *       and is NUL-terminated
 *   [3] 1 if get_current_comm(4 bytes) returned 0 and wrote a NUL at [3]
 *   [4] 1 if get_smp_processor_id() < 8192
 *   [5] 1 if get_numa_node_id() is in [0, 1024)
 *   [6] a + b, to show the arguments arrive
 * Returns 6 when every property holds.
 * sys_task stores [7] = 1 if get_current_pid_tgid() has a non-zero tgid
 * and returns that property.  xdp_task returns XDP_PASS if the tgid is
 * non-zero and get_current_comm returned 0 with a non-empty name, XDP_DROP
 * otherwise.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} task_props SEC(".maps");

NOINLINE int put(__u32 idx, __u64 v)
{
	bpf_map_update_elem(&task_props, &idx, &v, BPF_ANY);
	return v == 1;
}

SEC("raw_tp/waggle_task")
int rtp_task(__u64 *args)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	char comm[16], small[4];
	long r, r2;
	int n = 0, terminated = 0;
	long node;

	n += put(0, (pid_tgid >> 32) != 0 && (__u32)pid_tgid != 0);
	n += put(1, uid_gid != (__u64)-22);
	r = bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < 16; i++)
		terminated |= comm[i] == 0;
	n += put(2, r == 0 && comm[0] != 0 && terminated);
	r2 = bpf_get_current_comm(small, sizeof(small));
	n += put(3, r2 == 0 && small[3] == 0);
	n += put(4, bpf_get_smp_processor_id() < 8192);
	node = bpf_get_numa_node_id();
	n += put(5, node >= 0 && node < 1024);
	put(6, args[0] + args[1]);
	return n;
}

SEC("syscall")
int sys_task(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	return put(7, (pid_tgid >> 32) != 0);
}

SEC("xdp")
int xdp_task(struct xdp_md *ctx)
{
	char comm[16];
	long r = bpf_get_current_comm(comm, sizeof(comm));

	return (bpf_get_current_pid_tgid() >> 32) != 0 && r == 0 && comm[0] ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
