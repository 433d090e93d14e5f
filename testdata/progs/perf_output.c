/* perf_output: bpf_perf_event_output from four program types, with and
 * without packet bytes appended by the kernel.
 *
 * Program types: XDP (xdp_perf), TC (tc_perf), socket filter (sock_perf),
 * raw tracepoint (rtp_perf).
 * Maps: events (PERF_EVENT_ARRAY, one slot per CPU; the test harness
 *       installs a perf buffer on every CPU before the run),
 *       perf_ret (ARRAY[4] of s64).
 * Helpers: perf_event_output, map_update_elem.
 *
 * The packet programs emit a 12-byte struct meta {u32 magic; u32 len;
 * u32 type} with BPF_F_CURRENT_CPU and (16 << 32) in the flags, which makes
 * the kernel append the first 16 bytes of the packet: 28 bytes, so that the
 * 4-byte perf size header plus the sample is a multiple of 8 and the kernel
 * adds no padding.  magic is 0x50455246 ("PERF" read as a big-endian
 * word), len the packet length, type 1 for XDP, 2 for TC, 3 for the socket
 * filter (whose "packet" starts at the network header).  They need a
 * packet of at least 16 bytes (else the output fails with -EFAULT) and
 * store the helper's result in perf_ret[type]; they return XDP_PASS,
 * TC_ACT_OK and 0.
 *
 * rtp_perf takes two u64 arguments a, b and emits 20 bytes {u32 magic;
 * u32 4; u64 a; u32 (u32)b}; perf_ret[0] = the result; returns 0.
 * Without a perf buffer on the CPU the helper returns -ENOENT.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __s64);
} perf_ret SEC(".maps");

struct meta {
	__u32 magic;
	__u32 len;
	__u32 type;
};

#define MAGIC 0x50455246
#define CAPTURE(n) ((__u64)(n) << 32)

NOINLINE void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&perf_ret, &idx, &v, BPF_ANY);
}

SEC("xdp")
int xdp_perf(struct xdp_md *ctx)
{
	struct meta m = { MAGIC, ctx->data_end - ctx->data, 1 };

	put(1, bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU | CAPTURE(16), &m, sizeof(m)));
	return XDP_PASS;
}

SEC("tc")
int tc_perf(struct __sk_buff *skb)
{
	struct meta m = { MAGIC, skb->len, 2 };

	put(2, bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU | CAPTURE(16), &m, sizeof(m)));
	return TC_ACT_OK;
}

SEC("socket")
int sock_perf(struct __sk_buff *skb)
{
	struct meta m = { MAGIC, skb->len, 3 };

	put(3, bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU | CAPTURE(16), &m, sizeof(m)));
	return 0;
}

SEC("raw_tp/waggle_perf")
int rtp_perf(__u64 *args)
{
	struct {
		__u32 magic;
		__u32 type;
		__u64 a;
		__u32 b;
	} __attribute__((packed)) rec = { MAGIC, 4, args[0], args[1] };

	put(0, bpf_perf_event_output(args, &events, BPF_F_CURRENT_CPU, &rec, sizeof(rec)));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
