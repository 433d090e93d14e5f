/* ringbuf: ring buffer output, reserve/submit/discard, query, and a full ring.
 *
 * Program types: XDP (xdp_ringbuf), syscall (sys_ringbuf_fill).
 * Maps: events (RINGBUF, 4096 bytes), rb_query (ARRAY[4] of u64),
 *       fill_events (RINGBUF, 4096 bytes).
 * Helpers: ringbuf_output, ringbuf_reserve, ringbuf_submit, ringbuf_discard,
 *          ringbuf_query, map_lookup_elem.
 *
 * xdp_ringbuf, for an Ethernet frame of length L: reserves a 24-byte
 * struct event {u32 len; u16 ethertype (network order); u16 seq; u8
 * head[16] (the first 16 bytes of the frame, zero-padded)}; submits it when
 * L is even and discards it when L is odd; then writes an 8-byte record
 * {u32 len; u32 0x5741474c} with bpf_ringbuf_output(..., BPF_RB_NO_WAKEUP).
 * It then stores bpf_ringbuf_query() of BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE,
 * BPF_RB_CONS_POS and BPF_RB_PROD_POS in rb_query[0..3] (no consumer runs
 * during the test, so these are exact: each record takes 8 bytes of header
 * plus its length rounded up to 8; discarded records still take space).
 * Returns XDP_PASS, or XDP_ABORTED if the reservation failed.
 *
 * sys_ringbuf_fill (no context needed) reserves 1000-byte records until the
 * ring refuses (4 fit in 4096 bytes: 4 * 1008 = 4032), writing the index
 * into the first 8 bytes and zeroing the rest, then tries
 * bpf_ringbuf_output of 64 bytes (does not fit: -EAGAIN) and of 48 bytes
 * (fits exactly: 4032 + 56 = 4088).  Returns count + 10 * (output64 ==
 * -EAGAIN) + 100 * (output48 == 0): 114.
 */
#include "common.h"

struct event {
	__u32 len;
	__u16 ethertype;
	__u16 seq;
	__u8 head[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} fill_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} rb_query SEC(".maps");

__u16 seq;

NOINLINE void store_query(__u32 idx, __u64 flags)
{
	__u64 *v = bpf_map_lookup_elem(&rb_query, &idx);

	if (v)
		*v = bpf_ringbuf_query(&events, flags);
}

SEC("xdp")
int xdp_ringbuf(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = data_end - data;
	struct ethhdr *eth = data;
	struct event *e;
	struct {
		__u32 len;
		__u32 magic;
	} summary = { len, 0x5741474c };

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return XDP_ABORTED;
	__builtin_memset(e, 0, sizeof(*e));
	e->len = len;
	e->seq = seq++;
	if ((void *)(eth + 1) <= data_end) {
		e->ethertype = eth->h_proto;
		__builtin_memcpy(e->head, data, 14);
		if (data + 16 <= data_end) {
			e->head[14] = ((__u8 *)data)[14];
			e->head[15] = ((__u8 *)data)[15];
		}
	}
	if (len % 2 == 0)
		bpf_ringbuf_submit(e, 0);
	else
		bpf_ringbuf_discard(e, 0);

	bpf_ringbuf_output(&events, &summary, sizeof(summary), BPF_RB_NO_WAKEUP);

	store_query(0, BPF_RB_AVAIL_DATA);
	store_query(1, BPF_RB_RING_SIZE);
	store_query(2, BPF_RB_CONS_POS);
	store_query(3, BPF_RB_PROD_POS);
	return XDP_PASS;
}

SEC("syscall")
int sys_ringbuf_fill(void *ctx)
{
	__u8 buf[64] = {};
	int count = 0;
	long r64, r48;

	for (int i = 0; i < 8; i++) {
		__u64 *rec = bpf_ringbuf_reserve(&fill_events, 1000, 0);

		if (!rec)
			break;
		__builtin_memset(rec, 0, 1000);
		rec[0] = i;
		bpf_ringbuf_submit(rec, 0);
		count++;
	}
	buf[0] = 64;
	r64 = bpf_ringbuf_output(&fill_events, buf, 64, 0);
	buf[0] = 48;
	r48 = bpf_ringbuf_output(&fill_events, buf, 48, 0);
	return count + 10 * (r64 == -11) + 100 * (r48 == 0);
}

char LICENSE[] SEC("license") = "GPL";
