// Programs for the probe points of probe_test.go, built by the test with
// clang -O2 -g -target bpf. Self-contained: no headers needed.

typedef unsigned long long __u64;
typedef unsigned int __u32;
typedef long long __s64;
typedef int __s32;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

// The kernel's context of raw tracepoint programs.
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;

struct seen {
	__s64 delta;   // args[1], an int64
	__s64 delta32; // args[2], an int32, read as the C int it is
	__u64 flag;    // args[3], a bool
	__u64 order;   // the attachment order: see first and second
};

struct {
	__uint(type, 2); // BPF_MAP_TYPE_ARRAY
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fires SEC(".maps");

struct {
	__uint(type, 1); // BPF_MAP_TYPE_HASH
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct seen);
} seen SEC(".maps");

// request(id uint64, delta int64, delta32 int32, flag bool): counts the
// fires and records the arguments by id.
SEC("raw_tp/request")
int on_request(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&fires, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	__u64 id = ctx->args[0];
	struct seen s = {
		.delta = (__s64)ctx->args[1],
		.delta32 = (__s32)ctx->args[2],
		.flag = ctx->args[3],
	};
	bpf_map_update_elem(&seen, &id, &s, 0);
	return 0;
}

// first and second, attached in that order to request, leave
// order = order*10 + 1 then order*10 + 2 in the id's record: 12 when they
// run in attach order.
SEC("raw_tp/request")
int first(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = ctx->args[0];
	struct seen *s = bpf_map_lookup_elem(&seen, &id);
	if (s)
		s->order = s->order * 10 + 1;
	return 0;
}

SEC("raw_tp/request")
int second(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = ctx->args[0];
	struct seen *s = bpf_map_lookup_elem(&seen, &id);
	if (s)
		s->order = s->order * 10 + 2;
	return 0;
}

// too_far reads args[5], which the four arguments of request do not have.
SEC("raw_tp/request")
int too_far(struct bpf_raw_tracepoint_args *ctx)
{
	return ctx->args[5];
}

char LICENSE[] SEC("license") = "GPL";
