/* redirect: bpf_redirect from XDP and TC, bpf_redirect_map on a device map.
 *
 * Program types: XDP (xdp_redirect, xdp_redirect_map), TC (tc_redirect).
 * Maps: tx_ports (DEVMAP[4] of u32 ifindex, empty unless a test fills it),
 *       redirect_res (ARRAY[8] of s64).
 * Helpers: redirect, redirect_map, map_update_elem.
 *
 * BPF_PROG_TEST_RUN only reports the action; it never sends the frame.
 *
 * xdp_redirect: redirect_res[0] = bpf_redirect(1, 0) = XDP_REDIRECT (4);
 * [1] = bpf_redirect(1, 1) = XDP_ABORTED (0): XDP accepts no flags.
 * Returns the first result (4).
 *
 * xdp_redirect_map: [2] = bpf_redirect_map(&tx_ports, 0, XDP_PASS): the
 * slot's device, or, for an empty slot, the action in the low bits of the
 * flags (XDP_PASS = 2); [3] = bpf_redirect_map(&tx_ports, 9, XDP_DROP) =
 * 1 (key out of range).  Returns the first result: 2 with the empty map,
 * XDP_REDIRECT (4) when slot 0 holds a device (the loopback, ifindex 1).
 *
 * tc_redirect: [4] = bpf_redirect(1, 0) = TC_ACT_REDIRECT (7);
 * [5] = bpf_redirect(1, BPF_F_INGRESS) = 7; [6] = bpf_redirect(1, 0x100)
 * = TC_ACT_SHOT (2): unknown flags.  Returns the first result (7).
 * All programs take any Ethernet frame.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} redirect_res SEC(".maps");

NOINLINE void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&redirect_res, &idx, &v, BPF_ANY);
}

SEC("xdp")
int xdp_redirect(struct xdp_md *ctx)
{
	long r = bpf_redirect(1, 0);

	put(0, r);
	put(1, bpf_redirect(1, 1));
	return r;
}

SEC("xdp")
int xdp_redirect_map(struct xdp_md *ctx)
{
	long r = bpf_redirect_map(&tx_ports, 0, XDP_PASS);

	put(2, r);
	put(3, bpf_redirect_map(&tx_ports, 9, XDP_DROP));
	return r;
}

SEC("tc")
int tc_redirect(struct __sk_buff *skb)
{
	long r = bpf_redirect(1, 0);

	put(4, r);
	put(5, bpf_redirect(1, BPF_F_INGRESS));
	put(6, bpf_redirect(1, 0x100));
	return r;
}

char LICENSE[] SEC("license") = "GPL";
