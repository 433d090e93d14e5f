/* calls: what entry and return probes see, per thread. enter and
 * enter_at (placed with an offset, inside the function) count the calls
 * and add up the first two arguments; leave counts the returns and adds
 * up the return values. The test compares them with what the traced
 * program did. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct calls {
	__u64 count;
	__u64 sum1; /* PT_REGS_PARM1, or PT_REGS_RC for returns */
	__u64 sum2; /* PT_REGS_PARM2 */
	__u32 tgid;
	char comm[16];
};

#define CALLS_MAP(name)                        \
	struct {                                   \
		__uint(type, BPF_MAP_TYPE_HASH);       \
		__uint(max_entries, 64);               \
		__type(key, __u32);                    \
		__type(value, struct calls);           \
	} name SEC(".maps")

CALLS_MAP(entries);
CALLS_MAP(entries_at);
CALLS_MAP(returns);

static __always_inline void add(void *map, __u64 a, __u64 b)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = id;
	struct calls *c = bpf_map_lookup_elem(map, &tid);
	if (!c) {
		struct calls zero = {.tgid = id >> 32};
		bpf_get_current_comm(zero.comm, sizeof(zero.comm));
		bpf_map_update_elem(map, &tid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(map, &tid);
		if (!c)
			return;
	}
	__sync_fetch_and_add(&c->count, 1);
	__sync_fetch_and_add(&c->sum1, a);
	__sync_fetch_and_add(&c->sum2, b);
}

SEC("uprobe")
int BPF_KPROBE(enter, long a, long b)
{
	add(&entries, a, b);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(enter_at, long a, long b)
{
	add(&entries_at, a, b);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(leave, long ret)
{
	add(&returns, ret, 0);
	return 0;
}

/* Go's register ABI (ABIInternal): the first arguments in rax, rbx. */
SEC("uprobe")
int enter_go(struct pt_regs *ctx)
{
	add(&entries, ctx->rax, ctx->rbx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
