/* execs: every execve of the command, with the program's path, as an
 * event in a perf event array (as execsnoop writes them). */
#include "trace.h"

struct event {
	__u32 pid;
	__u32 ppid_unused;
	char comm[16];
	char filename[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* fill_event has struct event in its signature, so that waggle decodes
 * the records by it. */
static __noinline int fill_event(struct event *e, struct syscall_trace_enter *ctx)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const void *)ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve(struct syscall_trace_enter *ctx)
{
	struct event e = {};

	fill_event(&e, ctx);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
