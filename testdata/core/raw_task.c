/* The current task through CO-RE, in a raw tracepoint program, which both
 * the kernel (BPF_PROG_TEST_RUN, relocated against its own BTF) and waggle
 * (against waggle's) can run: the test compares what they read for the
 * thread that runs it. */
#include "core.h"

struct out {
	__s32 pid, tgid, ppid, leader_pid;
	char comm[16];
	char leader_comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct out);
} out SEC(".maps");

SEC("raw_tp/sys_enter")
int raw_task(void *ctx)
{
	__u32 zero = 0;
	struct out *o = bpf_map_lookup_elem(&out, &zero);
	if (!o)
		return 1;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	o->pid = BPF_CORE_READ(task, pid);
	o->tgid = BPF_CORE_READ(task, tgid);
	o->ppid = BPF_CORE_READ(task, real_parent, tgid);
	o->leader_pid = BPF_CORE_READ(task, group_leader, pid);
	BPF_CORE_READ_STR_INTO(&o->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&o->leader_comm, task, group_leader, comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
