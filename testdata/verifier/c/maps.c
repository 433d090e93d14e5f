/* Map access as clang compiles it, for the verifier.
 *
 * Each program's kernel verdict (Linux 6.18, as root), one
 * "verdict PROGRAM: accept" or "verdict PROGRAM: reject: KEY LINE" line a
 * program; internal/verifiertest checks them against the kernel.
 *
 * verdict xdp_len_hist: accept
 * verdict xdp_byte_index: reject: invalid access to map value
 * verdict xdp_word_sum: accept
 * verdict xdp_half_checked: reject: invalid mem access 'map_value_or_null'
 * verdict rtp_event: accept
 * verdict rtp_event_leak: reject: Unreleased reference
 * verdict xdp_loop_callback: accept
 * verdict tc_locked_add: accept
 *
 * xdp_len_hist: counts frames by length / 64 in a 16-slot array value,
 * clamping the slot to 15.
 *
 * xdp_byte_index: counts the first byte of the frame in a 16-slot array
 * value without clamping it (a byte can be up to 255).
 *
 * xdp_word_sum: sums the eight words of a map value in a loop and returns
 * the sum's low bit.
 *
 * xdp_half_checked: looks up two hash values, checks only the first and
 * adds both.
 *
 * rtp_event: a raw tracepoint program that reserves a ring buffer record,
 * fills it and submits it.
 *
 * rtp_event_leak: submits the record only when its first argument is odd.
 *
 * xdp_loop_callback: bpf_loop with a callback that counts into a context
 * on the stack.
 *
 * tc_locked_add: adds to a map value under its bpf_spin_lock.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct slots {
	__u64 n[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct slots);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct locked {
	struct bpf_spin_lock lock;
	__u64 total;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} totals SEC(".maps");

SEC("xdp")
int xdp_len_hist(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 len = ctx->data_end - ctx->data;
	__u64 slot = len / 64;
	struct slots *s = bpf_map_lookup_elem(&hist, &key);

	if (!s)
		return XDP_PASS;
	if (slot > 15)
		slot = 15;
	__sync_fetch_and_add(&s->n[slot], 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_byte_index(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 key = 0;
	struct slots *s;
	__u8 b;

	if (data + 1 > data_end)
		return XDP_PASS;
	b = *(__u8 *)data;
	s = bpf_map_lookup_elem(&hist, &key);
	if (!s)
		return XDP_PASS;
	__sync_fetch_and_add(&s->n[b], 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_word_sum(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 sum = 0;
	struct slots *s = bpf_map_lookup_elem(&hist, &key);

	if (!s)
		return XDP_PASS;
#pragma clang loop unroll(disable)
	for (int i = 0; i < 8; i++)
		sum += s->n[i];
	return sum & 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_half_checked(struct xdp_md *ctx)
{
	__u32 k1 = 1, k2 = 2;
	__u64 *a = bpf_map_lookup_elem(&counters, &k1);
	__u64 *b = bpf_map_lookup_elem(&counters, &k2);

	if (!a)
		return XDP_PASS;
	return (*a + *b) & 1 ? XDP_DROP : XDP_PASS;
}

struct event {
	__u64 arg;
	__u64 time;
};

SEC("raw_tp/sys_enter")
int rtp_event(__u64 *args)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->arg = args[1];
	e->time = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tp/sys_enter")
int rtp_event_leak(__u64 *args)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->arg = args[1];
	if (args[1] & 1)
		bpf_ringbuf_submit(e, 0);
	return 0;
}

struct loop_ctx {
	__u64 sum;
	__u32 limit;
};

static long add_index(__u32 i, void *data)
{
	struct loop_ctx *c = data;

	c->sum += i;
	return c->sum > c->limit;
}

SEC("xdp")
int xdp_loop_callback(struct xdp_md *ctx)
{
	struct loop_ctx c = {.limit = ctx->data_end - ctx->data};

	bpf_loop(32, add_index, &c, 0);
	return c.sum & 1 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_locked_add(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct locked *v = bpf_map_lookup_elem(&totals, &key);

	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->total += skb->len;
	bpf_spin_unlock(&v->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
