// Counters updated by many concurrent runs, for waggle's -race tests.
// Rebuild: make (clang -O2 -g -target bpf -mcpu=v3).
//
// count: for the key in ctx->key (a syscall program's context),
//   - hash_counts[key] += 1 with an atomic add (inserted first with
//     BPF_NOEXIST if absent),
//   - lru_counts[key] += 1 likewise,
//   - percpu_counts[0] += 1 with a plain add on the run's CPU slot,
//   - pairs[key] = {n, n} written as a whole with bpf_map_update_elem,
//     where n is the new hash count: a reader must never see a != b.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct ctx {
	__u32 key;
};

struct pair {
	__u64 a;
	__u64 b;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hash_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} lru_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct pair);
} pairs SEC(".maps");

static __u64 bump(void *map, __u32 *key)
{
	__u64 zero = 0, *v;

	v = bpf_map_lookup_elem(map, key);
	if (!v) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(map, key);
		if (!v)
			return 0;
	}
	return __sync_add_and_fetch(v, 1);
}

SEC("syscall")
int count(struct ctx *ctx)
{
	__u32 key = ctx->key, zero = 0;
	__u64 *pc;
	struct pair p;

	__u64 n = bump(&hash_counts, &key);
	bump(&lru_counts, &key);
	pc = bpf_map_lookup_elem(&percpu_counts, &zero);
	if (pc)
		*pc += 1;
	p.a = n;
	p.b = n;
	bpf_map_update_elem(&pairs, &key, &p, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
