/* map_in_map: array-of-maps and hash-of-maps, initialised statically.
 *
 * Program types: TC (SEC("tc")).
 * Maps: inner_a, inner_b (ARRAY[4] of u64), inner_h (HASH u32 -> u64, 8),
 *       outer_arr (ARRAY_OF_MAPS[2] = {inner_a, inner_b}),
 *       outer_hash (HASH_OF_MAPS, u32 key 7 -> inner_h).
 * Helpers: map_lookup_elem (on outer and inner maps), map_update_elem.
 *
 * tc_mim, for a frame of length L: picks outer_arr[L & 1] (inner_a for even
 * lengths, inner_b for odd ones) and adds 1 to its [0] and L to its [1];
 * looks up outer_hash[7] and counts L in inner_h (key L, value count);
 * looks up outer_hash[8] (absent) and counts the miss in inner_a[3];
 * looks up outer_arr[2] (out of range) and counts the miss in inner_a[2].
 * Returns TC_ACT_OK (0), or TC_ACT_SHOT (2) if an expected inner map is
 * missing.
 */
#include "common.h"

struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner_array inner_a SEC(".maps");
struct inner_array inner_b SEC(".maps");

struct inner_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner_hash inner_h SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_array);
} outer_arr SEC(".maps") = {
	.values = { [0] = &inner_a, [1] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_hash);
} outer_hash SEC(".maps") = {
	.values = { [7] = &inner_h },
};

NOINLINE void add(void *inner, __u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(inner, &key);

	if (v)
		*v += n;
}

SEC("tc")
int tc_mim(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	__u32 k = len & 1;
	void *inner, *h, *a;
	__u64 *cnt;

	inner = bpf_map_lookup_elem(&outer_arr, &k);
	if (!inner)
		return TC_ACT_SHOT;
	add(inner, 0, 1);
	add(inner, 1, len);

	k = 0;
	a = bpf_map_lookup_elem(&outer_arr, &k);
	if (!a)
		return TC_ACT_SHOT;

	k = 7;
	h = bpf_map_lookup_elem(&outer_hash, &k);
	if (!h)
		return TC_ACT_SHOT;
	cnt = bpf_map_lookup_elem(h, &len);
	if (cnt) {
		*cnt += 1;
	} else {
		__u64 one = 1;

		bpf_map_update_elem(h, &len, &one, BPF_NOEXIST);
	}

	k = 8;
	if (!bpf_map_lookup_elem(&outer_hash, &k))
		add(a, 3, 1);
	k = 2;
	if (!bpf_map_lookup_elem(&outer_arr, &k))
		add(a, 2, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
