/* What the tracing programs share: the records of the kernel's system
 * call tracepoints, as /sys/kernel/tracing/events/syscalls/.../format
 * lays them out (and vmlinux.h declares them), and libbpf's SEC(). */
#include <linux/types.h>
#include <linux/bpf.h>
#include <asm/unistd.h>
#include <bpf/bpf_helpers.h>

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

/* syscalls/sys_enter_NAME */
struct syscall_trace_enter {
	struct trace_entry ent;
	int nr;
	unsigned long args[6];
};

/* syscalls/sys_exit_NAME */
struct syscall_trace_exit {
	struct trace_entry ent;
	int nr;
	long ret;
};

/* raw_syscalls/sys_enter */
struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
};
