/* queue_stack: queue and stack maps: push, pop, peek, full maps, BPF_EXIST.
 *
 * Program types: raw tracepoint (rtp_queue_stack), TC (tc_queue_len).
 * (Not syscall: the kernel refuses queues and stacks in sleepable programs.)
 * Maps: queue (QUEUE, 4 x u32), stack (STACK, 4 x u32),
 *       qs_result (ARRAY[18] of u64), lengths (QUEUE, 8 x u32).
 * Helpers: map_push_elem, map_pop_elem, map_peek_elem, map_update_elem.
 *
 * rtp_queue_stack takes one u64 argument b (the base value).  On the queue:
 * push b+1..b+4 (0 each), push b+5 (-E2BIG: full), push b+6 with BPF_EXIST
 * (0: drops the oldest, b+1), peek (b+2), pop (b+2), pop (b+3).  On the
 * stack: the same pushes (the BPF_EXIST push drops the oldest, b+1, too),
 * peek (b+6), pop (b+6), pop (b+4).  qs_result receives each result (the
 * error, or the value for successful peeks and pops, as u64): [0..5] the
 * queue's six pushes (0, 0, 0, 0, -E2BIG, 0), [6..8] its peek and pops,
 * [9..14] the stack's pushes, [15..17] its peek and pops.  Afterwards the
 * queue holds b+4, b+6 (in pop order) and the stack b+2, b+3 (b+3 on
 * top, so pops return b+3 then b+2).  Returns 0.
 *
 * tc_queue_len pushes the frame length into lengths with BPF_EXIST (so the
 * queue keeps the last 8 lengths) and returns the length of the oldest
 * queued frame (peek).
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 4);
	__type(value, __u32);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, __u32);
} lengths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 18);
	__type(key, __u32);
	__type(value, __u64);
} qs_result SEC(".maps");

NOINLINE void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&qs_result, &idx, &v, BPF_ANY);
}

/* Pushes b+1..b+6 as described above; results go to qs_result[at..at+5]. */
NOINLINE void fill(void *map, __u32 b, __u32 at)
{
	__u32 v;

	v = b + 1;
	put(at + 0, bpf_map_push_elem(map, &v, 0));
	v = b + 2;
	put(at + 1, bpf_map_push_elem(map, &v, 0));
	v = b + 3;
	put(at + 2, bpf_map_push_elem(map, &v, 0));
	v = b + 4;
	put(at + 3, bpf_map_push_elem(map, &v, 0));
	v = b + 5;
	put(at + 4, bpf_map_push_elem(map, &v, 0));
	v = b + 6;
	put(at + 5, bpf_map_push_elem(map, &v, BPF_EXIST));
}

/* A peek and two pops; each stores the value, or the error when it fails. */
NOINLINE void drain2(void *map, __u32 at)
{
	__u32 v = 0;
	long r;

	r = bpf_map_peek_elem(map, &v);
	put(at + 0, r ? r : v);
	r = bpf_map_pop_elem(map, &v);
	put(at + 1, r ? r : v);
	r = bpf_map_pop_elem(map, &v);
	put(at + 2, r ? r : v);
}

SEC("raw_tp/waggle_queue")
int rtp_queue_stack(__u64 *args)
{
	__u32 b = args[0];

	fill(&queue, b, 0);
	drain2(&queue, 6);
	fill(&stack, b, 9);
	drain2(&stack, 15);
	return 0;
}

SEC("tc")
int tc_queue_len(struct __sk_buff *skb)
{
	__u32 len = skb->len, oldest = 0;

	bpf_map_push_elem(&lengths, &len, BPF_EXIST);
	if (bpf_map_peek_elem(&lengths, &oldest))
		return -1;
	return oldest;
}

char LICENSE[] SEC("license") = "GPL";
