/* opens_ret: every openat of the command with its result, as opensnoop
 * reports it: the entry program keeps the path by thread, the exit
 * program adds the result (a file descriptor, or -errno) and writes the
 * event to a ring buffer. */
#include "trace.h"

/* Set with waggle exec --set targ_failed=true: report failed opens only,
 * as opensnoop -x does. */
const volatile _Bool targ_failed = 0;

struct args {
	char fname[128];
	int flags;
};

struct event {
	__u32 pid;
	__u32 tid;
	long ret;
	int flags;
	char comm[16];
	char fname[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct args);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct syscall_trace_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct args a = {};

	a.flags = (int)ctx->args[2];
	bpf_probe_read_user_str(a.fname, sizeof(a.fname), (const void *)ctx->args[1]);
	bpf_map_update_elem(&start, &tid, &a, BPF_ANY);
	return 0;
}

/* fill_event has struct event in its signature, so that the type is in
 * the object's BTF and waggle decodes the records by it. */
static __noinline int fill_event(struct event *e, struct args *a, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ret = ret;
	e->flags = a->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memcpy(e->fname, a->fname, sizeof(e->fname));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct syscall_trace_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct args *a = bpf_map_lookup_elem(&start, &tid);
	struct event *e;

	if (!a)
		return 0;
	if (targ_failed && ctx->ret >= 0)
		goto cleanup;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		fill_event(e, a, ctx->ret);
		bpf_ringbuf_submit(e, 0);
	}
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
