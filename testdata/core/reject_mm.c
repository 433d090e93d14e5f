/* Reads a task_struct field waggle does not provide, unguarded: refused at
 * load, naming the field. */
#include "core.h"

SEC("tracepoint/syscalls/sys_enter_openat")
int read_mm(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, mm, start_stack) != 0;
}

char LICENSE[] SEC("license") = "GPL";
