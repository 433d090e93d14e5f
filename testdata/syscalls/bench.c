/* bench: the programs of link's BenchmarkSupervised, on getppid: one that
 * does nothing (the notification's floor and a program run), one that
 * counts entries, one that counts exits (ptrace). */
#include "trace.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int empty_enter(struct syscall_trace_enter *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_enter(struct syscall_trace_enter *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getppid")
int count_exit(struct syscall_trace_exit *ctx)
{
	__u32 key = 1;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);

	if (n && ctx->ret > 0)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
