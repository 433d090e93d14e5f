/* loop: bpf_loop of 100 iterations, for the engine benchmarks.
 *
 * Program type: XDP (loop).  Map: loop_result, an ARRAY of 1 u64.
 *
 * bpf_loop(100, step, &sum, 0) with step(i, sum) adding i * i + 1 to the
 * 64-bit sum and returning 0 (go on); the program stores the sum plus the
 * iterations bpf_loop returned << 32 in loop_result[0] and returns XDP_PASS:
 * sum over 0..99 of i*i+1 = 328350 + 100 = 328450, and 100 iterations, so
 * loop_result[0] = 100 << 32 | 328450.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} loop_result SEC(".maps");

static int step(__u64 i, void *data)
{
	__u64 *sum = data;

	*sum += i * i + 1;
	return 0;
}

SEC("xdp")
int loop(struct xdp_md *ctx)
{
	__u64 sum = 0;
	__u32 key = 0;
	long n = bpf_loop(100, step, &sum, 0);
	__u64 *out = bpf_map_lookup_elem(&loop_result, &key);

	if (out)
		*out = sum + ((__u64)n << 32);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
