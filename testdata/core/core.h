/* The kernel structures as a program built with vmlinux.h sees them
 * (preserve_access_index: every access is a CO-RE relocation), with the
 * fields in other places than waggle's task_struct, so that only resolved
 * relocations read the right bytes. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct mm_struct {
	unsigned long start_stack;
} __attribute__((preserve_access_index));

struct fs_struct {
	int users;
} __attribute__((preserve_access_index));

struct bpf_ringbuf {
	unsigned long mask;
} __attribute__((preserve_access_index));

struct task_struct {
	long pad[3];
	struct mm_struct *mm;
	struct fs_struct *fs;
	int tgid;
	int pid;
	char comm[16];
	struct task_struct *group_leader;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
} __attribute__((preserve_access_index));

struct syscall_trace_enter {
	struct trace_entry ent;
	int nr;
	unsigned long args[6];
} __attribute__((preserve_access_index));
