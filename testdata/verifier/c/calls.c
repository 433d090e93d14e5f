/* Function calls as clang compiles them, for the verifier.
 *
 * Each program's kernel verdict (Linux 6.18, as root), one
 * "verdict PROGRAM: accept" or "verdict PROGRAM: reject: KEY LINE" line a
 * program; internal/verifiertest checks them against the kernel.
 *
 * verdict xdp_frames_fit: accept
 * verdict xdp_frames_too_deep: reject: combined stack size
 * verdict xdp_global_checked: accept
 * verdict xdp_global_unchecked: reject: invalid mem access 'mem_or_null'
 * verdict xdp_static_args: accept
 * verdict xdp_ptr_as_integer: reject: R2 pointer arithmetic on pkt_end prohibited
 *
 * xdp_frames_fit: the main program calls a function with a 192-byte
 * buffer, which calls another with a 192-byte buffer (384 bytes with the
 * main program's own).
 *
 * xdp_frames_too_deep: the same chain one function longer: three 192-byte
 * buffers.
 *
 * xdp_global_checked: calls a global function (verified on its own, with
 * its argument types from BTF) that checks its pointer argument for NULL.
 *
 * xdp_global_unchecked: the same with a global function that does not:
 * a global function's pointer argument may be NULL.
 *
 * xdp_static_args: a static function with five arguments, one of them a
 * pointer to the caller's stack.
 *
 * xdp_ptr_as_integer: the same function given data and data_end as
 * integers: it multiplies data_end, which the verifier forbids.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NOINLINE static __attribute__((noinline))

NOINLINE __u64 fill(__u32 seed)
{
	volatile __u8 buf[192];

	for (int i = 0; i < 192; i += 64)
		buf[i] = seed + i;
	return buf[seed & 127];
}

NOINLINE __u64 middle(__u32 seed)
{
	volatile __u8 buf[192];

	buf[0] = seed;
	buf[191] = fill(seed);
	return buf[seed & 127];
}

NOINLINE __u64 outer(__u32 seed)
{
	volatile __u8 buf[192];

	buf[0] = seed;
	buf[191] = middle(seed);
	return buf[seed & 127];
}

SEC("xdp")
int xdp_frames_fit(struct xdp_md *ctx)
{
	return middle(bpf_get_prandom_u32()) & 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_frames_too_deep(struct xdp_md *ctx)
{
	return outer(bpf_get_prandom_u32()) & 1 ? XDP_DROP : XDP_PASS;
}

__attribute__((noinline)) int global_checked(__u32 *p)
{
	if (!p)
		return 0;
	return *p & 1;
}

__attribute__((noinline)) int global_unchecked(__u32 *p)
{
	return *p & 1;
}

SEC("xdp")
int xdp_global_checked(struct xdp_md *ctx)
{
	__u32 v = bpf_get_prandom_u32();

	return global_checked(&v) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_global_unchecked(struct xdp_md *ctx)
{
	__u32 v = bpf_get_prandom_u32();

	return global_unchecked(&v) ? XDP_DROP : XDP_PASS;
}

NOINLINE __u64 five(__u64 a, __u64 b, __u64 c, __u64 d, __u64 *out)
{
	*out = a + b * c - d;
	return *out & 1;
}

SEC("xdp")
int xdp_static_args(struct xdp_md *ctx)
{
	__u64 out = 0;

	five(ctx->rx_queue_index, ctx->data_end - ctx->data, 3, ctx->ingress_ifindex, &out);
	return out & 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_ptr_as_integer(struct xdp_md *ctx)
{
	__u64 out = 0;

	five(ctx->data, ctx->data_end, 3, ctx->ingress_ifindex, &out);
	return out & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
