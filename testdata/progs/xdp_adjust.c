/* xdp_adjust: moving the start, the end and the metadata of an XDP frame.
 *
 * Program types: XDP (4 programs).
 * Maps: adjust_res (ARRAY[8] of s64).
 * Helpers: xdp_adjust_head, xdp_adjust_tail, xdp_adjust_meta,
 *          map_update_elem.
 *
 * xdp_vlan_push inserts an 802.1Q tag (TPID 0x8100, TCI 100) after the MAC
 * addresses: bpf_xdp_adjust_head(ctx, -4) (adjust_res[0] = 0), moves the
 * 12 address bytes to the new start and writes the tag.  Returns XDP_TX;
 * the output frame is 4 bytes longer.  Frames shorter than 14 bytes are
 * not possible (the kernel refuses them).
 *
 * xdp_vlan_pop removes a single 802.1Q tag (adjust_res[1] = the result of
 * bpf_xdp_adjust_head(ctx, 4)); returns XDP_PASS, or XDP_DROP for untagged
 * frames, which it leaves alone.
 *
 * xdp_tail: frames longer than 64 bytes are cut to 64 bytes
 * (bpf_xdp_adjust_tail(ctx, 64 - len)); shorter ones grow by 8 bytes, which
 * the kernel zeroes, and the program writes 0xee into the last new byte.
 * adjust_res[2] = the result (0); adjust_res[3] = bpf_xdp_adjust_tail(ctx,
 * -4096) = -EINVAL (cannot cut below the Ethernet header).  Returns
 * XDP_PASS.
 *
 * xdp_meta: bpf_xdp_adjust_meta(ctx, -6) = -EACCES (metadata length must
 * be a multiple of 4) in adjust_res[4]; (ctx, -1000) = -EINVAL (more than
 * the headroom) in [5]; (ctx, -8) = 0 in [6]; writes the u64 0x1122334455667788
 * (little endian) to the metadata and reads it back: [7] = 1 if it
 * matches.  The kernel's output data starts at the metadata, so DataOut is
 * the 8 metadata bytes followed by the frame.  Returns XDP_PASS.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} adjust_res SEC(".maps");

NOINLINE void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&adjust_res, &idx, &v, BPF_ANY);
}

SEC("xdp")
int xdp_vlan_push(struct xdp_md *ctx)
{
	void *data, *data_end;
	struct vlan_hdr *vh;
	long r;

	r = bpf_xdp_adjust_head(ctx, -4);
	put(0, r);
	if (r)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + 18 > data_end)
		return XDP_ABORTED;
	__builtin_memmove(data, data + 4, 12);
	vh = data + 12;
	/* The old ethertype stays at offset 16, after the tag. */
	*(__be16 *)(data + 12) = bpf_htons(ETH_P_8021Q);
	*(__be16 *)(data + 14) = bpf_htons(100);
	(void)vh;
	return XDP_TX;
}

SEC("xdp")
int xdp_vlan_pop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 macs[12];
	long r;

	if (data + 18 > data_end)
		return XDP_DROP;
	if (*(__be16 *)(data + 12) != bpf_htons(ETH_P_8021Q))
		return XDP_DROP;
	__builtin_memcpy(macs, data, 12);
	r = bpf_xdp_adjust_head(ctx, 4);
	put(1, r);
	if (r)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + 12 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, macs, 12);
	return XDP_PASS;
}

SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
	int len = ctx->data_end - ctx->data;
	void *data, *data_end;
	long r;

	if (len > 64) {
		r = bpf_xdp_adjust_tail(ctx, 64 - len);
	} else {
		r = bpf_xdp_adjust_tail(ctx, 8);
		if (r == 0) {
			__u32 off = (__u32)len + 7;
			__u8 *last;

			data = (void *)(long)ctx->data;
			data_end = (void *)(long)ctx->data_end;
			if (off > 127)
				return XDP_ABORTED;
			last = data + off;
			if ((void *)(last + 1) <= data_end)
				*last = 0xee;
		}
	}
	put(2, r);
	put(3, bpf_xdp_adjust_tail(ctx, -4096));
	return XDP_PASS;
}

SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
	void *meta, *data;
	__u64 v;

	put(4, bpf_xdp_adjust_meta(ctx, -6));
	put(5, bpf_xdp_adjust_meta(ctx, -1000));
	put(6, bpf_xdp_adjust_meta(ctx, -8));
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if (meta + 8 > data)
		return XDP_ABORTED;
	*(__u64 *)meta = 0x1122334455667788ULL;
	v = *(volatile __u64 *)meta;
	put(7, v == 0x1122334455667788ULL);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
