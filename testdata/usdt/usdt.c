// USDT programs of the tests, written with libbpf's usdt.bpf.h as real
// tools are: BPF_USDT reads the arguments through the spec that the
// attach cookie (bpf_get_attach_cookie) names in __bpf_usdt_specs.
// testdata/usdt/target.c fires the probes.
#define __TARGET_ARCH_x86
// Room for 16 sites' specs (libbpf's default is 256), so that the maps
// that --dump-maps prints stay short.
#define BPF_USDT_MAX_SPEC_CNT 16
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct tick_key {
	__u32 idx;
	__u32 round;
};

struct tick_val {
	__u64 count;
	__u64 value;  // *px, read from the thread's memory
	__u32 tid;    // the thread that fired it
	__s32 argc;   // bpf_usdt_arg_cnt
	__u64 cookie; // bpf_usdt_cookie
	__s64 err;    // the first error of bpf_usdt_arg, or 0
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tick_key);
	__type(value, struct tick_val);
} ticks SEC(".maps");

struct gated_val {
	__u64 count;
	__s64 value;
	__s64 constant;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gated_val);
} gated SEC(".maps");

// waggle:tick(idx, round, &v): one entry per thread and round.
SEC("usdt")
int BPF_USDT(tick, int idx, int round, long *px)
{
	struct tick_key k = {.idx = idx, .round = round};
	struct tick_val v = {}, *old;
	long check;

	old = bpf_map_lookup_elem(&ticks, &k);
	if (old)
		v = *old;
	v.count++;
	bpf_probe_read_user(&v.value, sizeof(v.value), px);
	v.tid = (__u32)bpf_get_current_pid_tgid();
	v.argc = bpf_usdt_arg_cnt(ctx);
	v.cookie = bpf_usdt_cookie(ctx);
	v.err = bpf_usdt_arg(ctx, 3, &check); // no fourth argument: -ENOENT
	bpf_map_update_elem(&ticks, &k, &v, BPF_ANY);
	return 0;
}

// An event per run of gated_probe, which waggle trace prints.
struct event {
	__s64 value;
	__s32 constant;
	__u32 pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

// Puts struct event into the object's BTF, by which waggle trace decodes
// the records.
struct event *unused_event __attribute__((unused));

// waggle:gated(gated_value, -3): a probe behind its semaphore.
SEC("usdt")
int BPF_USDT(gated_probe, long value, int constant)
{
	__u32 zero = 0;
	struct gated_val *g = bpf_map_lookup_elem(&gated, &zero);
	struct event *e;

	if (!g)
		return 0;
	g->count++;
	g->value = value;
	g->constant = constant;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->value = value;
	e->constant = constant;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
