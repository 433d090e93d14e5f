/* CO-RE against waggle's kernel BTF: BPF_CORE_READ through
 * bpf_get_current_task, field and type existence. */
#include "core.h"

struct out {
	__s32 pid, tgid, ppid, leader_pid;
	char comm[16];
	char leader_comm[16];
	__u64 mm_exists, fs_exists, ringbuf_exists, fs_struct_exists;
	__u64 start_stack;
	__u64 arg1;
	__u64 get_stack_exists, task_btf_exists, get_stack_value;
	__u64 task_size, comm_size;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct out);
} out SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int task(struct syscall_trace_enter *ctx)
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
	o->mm_exists = bpf_core_field_exists(task->mm);
	o->fs_exists = bpf_core_field_exists(task->fs);
	o->ringbuf_exists = bpf_core_type_exists(struct bpf_ringbuf);
	o->fs_struct_exists = bpf_core_type_exists(struct fs_struct);
	/* Guarded: waggle has no mm, so this is dead code and loads. */
	if (bpf_core_field_exists(task->mm))
		o->start_stack = BPF_CORE_READ(task, mm, start_stack);
	o->arg1 = ctx->args[1];
	/* Helpers waggle has, by enum bpf_func_id of its kernel BTF. */
	o->get_stack_exists = bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_stack);
	o->task_btf_exists = bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf);
	o->get_stack_value = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_get_stack);
	o->task_size = bpf_core_type_size(struct task_struct);
	o->comm_size = bpf_core_field_size(task->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
