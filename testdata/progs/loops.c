/* loops: bpf_loop and bpf_for_each_map_elem with callbacks, and a bounded
 * C loop.
 *
 * Program types: XDP (xdp_loops), socket filter (sock_loops).
 * Maps: fe_arr (ARRAY[8] of u64), fe_hash (HASH u32 -> u64, 8 entries),
 *       loop_res (ARRAY[12] of u64).
 * Helpers: loop, for_each_map_elem, map_lookup_elem, map_update_elem.
 *
 * xdp_loops, for an Ethernet frame of at least 8 bytes whose first 8 bytes
 * are d0..d7 (every frame is, since the kernel needs 14):
 *   fe_arr[i] = d[i] for i in 0..7; fe_hash gets keys 100, 200, 300 with
 *   values d0, d1, d2.
 *   loop_res[0] = bpf_loop(16, sum of i*i, stopping when i == 10) = 11
 *                 (the callback that returns 1 counts), [1] = 385;
 *   loop_res[2] = bpf_loop(1 << 24, ...): -E2BIG (more than 1 << 23), but
 *                 as 0x00000000fffffff9: the verifier inlines bpf_loop calls
 *                 with a constant callback and zero flags, and the inlined
 *                 code sets the 32-bit w0 = -E2BIG (zero-extended), where
 *                 the helper itself would return the 64-bit -E2BIG;
 *   loop_res[3] = bpf_loop(4, ..., flags 1) = -EINVAL (not inlined: 64-bit);
 *   loop_res[4] = bpf_for_each_map_elem(fe_arr, callback doubling each
 *                 value and summing the doubled values, stopping after key
 *                 5) = 6 elements visited, [5] = 2 * (d0 + ... + d5);
 *   loop_res[6] = bpf_for_each_map_elem(fe_hash, summing keys and values)
 *                 = 3, [7] = 600 + d0 + d1 + d2;
 *   loop_res[8] = a bounded C loop: sum of d[i] * (i + 1) for i in 0..7.
 *   Returns XDP_PASS.
 * sock_loops runs the bpf_loop part on a socket buffer: loop_res[9] =
 * bpf_loop(skb->len, counting calls) = skb->len when skb->len <= 1 << 23.
 * Returns 0 (the packet is dropped by the filter).
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} fe_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} fe_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 12);
	__type(key, __u32);
	__type(value, __u64);
} loop_res SEC(".maps");

struct sum_ctx {
	__u64 sum;
	__u64 calls;
};

static int square_cb(__u32 i, struct sum_ctx *c)
{
	c->sum += (__u64)i * i;
	return i == 10 ? 1 : 0;
}

static int count_cb(__u32 i, struct sum_ctx *c)
{
	c->calls++;
	return 0;
}

static long double_cb(void *map, __u32 *key, __u64 *val, struct sum_ctx *c)
{
	*val *= 2;
	c->sum += *val;
	return *key == 5 ? 1 : 0;
}

static long hash_cb(void *map, __u32 *key, __u64 *val, struct sum_ctx *c)
{
	c->sum += *key + *val;
	return 0;
}

NOINLINE void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&loop_res, &idx, &v, BPF_ANY);
}

SEC("xdp")
int xdp_loops(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 d[8];
	struct sum_ctx c = {};
	__u64 weighted = 0;
	__u32 k;

	if (data + 8 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(d, data, 8);
	for (__u32 i = 0; i < 8; i++) {
		__u64 v = d[i];

		bpf_map_update_elem(&fe_arr, &i, &v, BPF_ANY);
		weighted += v * (i + 1);
	}
	for (__u32 i = 0; i < 3; i++) {
		__u64 v = d[i];

		k = (i + 1) * 100;
		bpf_map_update_elem(&fe_hash, &k, &v, BPF_ANY);
	}

	put(0, bpf_loop(16, square_cb, &c, 0));
	put(1, c.sum);
	put(2, bpf_loop(1 << 24, square_cb, &c, 0));
	put(3, bpf_loop(4, square_cb, &c, 1));

	c.sum = 0;
	put(4, bpf_for_each_map_elem(&fe_arr, double_cb, &c, 0));
	put(5, c.sum);
	c.sum = 0;
	put(6, bpf_for_each_map_elem(&fe_hash, hash_cb, &c, 0));
	put(7, c.sum);
	put(8, weighted);
	return XDP_PASS;
}

SEC("socket")
int sock_loops(struct __sk_buff *skb)
{
	struct sum_ctx c = {};
	long n = bpf_loop(skb->len, count_cb, &c, 0);

	put(9, n == (long)c.calls ? n : -1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
