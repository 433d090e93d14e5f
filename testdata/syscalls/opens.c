/* opens: every openat of the command, as an event in a ring buffer: the
 * thread, its process, its name, the path and the flags (as opensnoop
 * reports them). */
#include "trace.h"

#define NAME_MAX 255

struct event {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	int flags;
	char comm[16];
	char fname[NAME_MAX + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

/* fill_event is a function of its own so that struct event, in its
 * signature, reaches the object's BTF: waggle decodes the records by it. */
static __noinline int fill_event(struct event *e, struct syscall_trace_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = (int)ctx->args[2];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->fname, sizeof(e->fname), (const void *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct syscall_trace_enter *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	fill_event(e, ctx);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
