/* subprogs: bpf-to-bpf calls: five arguments, a chain four calls deep,
 * pointers to the caller's stack, a global (separately verified) function
 * and a subprogram shared by two programs.
 *
 * Program types: socket filter (sock_subprogs), XDP (xdp_subprogs).
 * Maps: sub_res (ARRAY[4] of u64).
 * Helpers: map_lookup_elem.
 *
 * sock_subprogs takes any packet; with L = skb->len it stores in
 * sub_res[0..3]:
 *   [0] = add5(L, 1, 2, 3, 4) = L + 10
 *   [1] = depth1(L): depth1(x) = depth2(x + 1) * 2, depth2(x) =
 *         depth3(x * 3), depth3(x) = depth4(x - 2) + 7, depth4(x) = x ^ 0x55;
 *         so ((((L + 1) * 3 - 2) ^ 0x55) + 7) * 2
 *   [2] = fill(&pair) writes {L, L * L} into the caller's stack; stores
 *         pair.a + pair.b = L + L * L
 *   [3] = global_scale(L, 3) = L * 3 + 1 (a global function: the kernel
 *         verifies it on its own, for any arguments)
 * Returns ([0] + [1] + [2] + [3]) & 0xffff.
 *
 * xdp_subprogs calls the same add5 and global_scale with the frame length
 * and returns XDP_PASS if add5(L, 1, 2, 3, 4) - 10 == L and global_scale(L,
 * 3) == 3 * L + 1, XDP_DROP otherwise.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sub_res SEC(".maps");

struct pair {
	__u64 a;
	__u64 b;
};

NOINLINE __u64 add5(__u64 a, __u64 b, __u64 c, __u64 d, __u64 e)
{
	return a + b + c + d + e;
}

NOINLINE __u64 depth4(__u64 x)
{
	return x ^ 0x55;
}

NOINLINE __u64 depth3(__u64 x)
{
	return depth4(x - 2) + 7;
}

NOINLINE __u64 depth2(__u64 x)
{
	return depth3(x * 3);
}

NOINLINE __u64 depth1(__u64 x)
{
	return depth2(x + 1) * 2;
}

NOINLINE void fill(struct pair *p, __u64 l)
{
	p->a = l;
	p->b = l * l;
}

__attribute__((noinline)) int global_scale(int x, int k)
{
	return x * k + 1;
}

NOINLINE __u64 store(__u32 idx, __u64 v)
{
	__u64 *slot = bpf_map_lookup_elem(&sub_res, &idx);

	if (slot)
		*slot = v;
	return v;
}

SEC("socket")
int sock_subprogs(struct __sk_buff *skb)
{
	__u64 l = skb->len, sum = 0;
	struct pair p;

	sum += store(0, add5(l, 1, 2, 3, 4));
	sum += store(1, depth1(l));
	fill(&p, l);
	sum += store(2, p.a + p.b);
	sum += store(3, global_scale(l, 3));
	return sum & 0xffff;
}

SEC("xdp")
int xdp_subprogs(struct xdp_md *ctx)
{
	__u64 l = ctx->data_end - ctx->data;

	if (add5(l, 1, 2, 3, 4) - 10 == l && global_scale(l, 3) == 3 * l + 1)
		return XDP_PASS;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
