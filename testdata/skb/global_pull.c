/* global_pull: a global function that moves the packet (here only through
 * a static function it calls: bpf_skb_change_head) invalidates its
 * caller's packet pointers, as in the kernel since 6.13.
 *
 * Program type: TC. stale reads through a pointer taken before the call
 * (both verifiers refuse it: the pointer is a number after the call);
 * fresh loads the pointers again after the call (accepted). A tail call
 * from a (static) subprogram does the same (tail_in_sub, refused); from
 * the main program it does not (tail_direct, accepted: a tail call that
 * succeeds does not return).
 */
#include "../progs/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

static __attribute__((noinline)) int jump(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 0);
	return 0;
}

static __attribute__((noinline)) int push(struct __sk_buff *skb)
{
	return bpf_skb_change_head(skb, 14, 0);
}

__attribute__((noinline)) int pull(struct __sk_buff *skb)
{
	if (skb->len > 100)
		return push(skb);
	return 0;
}

SEC("tc")
int stale(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + 20 > end)
		return TC_ACT_OK;
	pull(skb);
	return *(__u8 *)data;
}

SEC("tc")
int fresh(struct __sk_buff *skb)
{
	void *data, *end;

	pull(skb);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + 20 > end)
		return TC_ACT_OK;
	return *(__u8 *)data;
}

SEC("tc")
int tail_in_sub(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + 20 > end)
		return TC_ACT_OK;
	jump(skb);
	return *(__u8 *)data;
}

SEC("tc")
int tail_direct(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + 20 > end)
		return TC_ACT_OK;
	bpf_tail_call(skb, &jumps, 0);
	return *(__u8 *)data;
}

char LICENSE[] SEC("license") = "GPL";
