/* tail_calls: an XDP dispatcher that tail-calls one handler per IPv4
 * protocol through a prog_array initialised in the object itself.
 *
 * Maps:
 *   handlers  PROG_ARRAY of 256 slots indexed by IPv4 protocol; the object
 *             fills slot 6 (TCP) with handle_tcp, 17 (UDP) with handle_udp
 *             and 1 (ICMP) with handle_icmp (BTF .values initialisation, as
 *             libbpf and cilium/ebpf load it).
 *   counts    ARRAY of 4 __u64: [0] TCP, [1] UDP, [2] ICMP handled,
 *             [3] frames the dispatcher handled itself (not IPv4, truncated,
 *             or a protocol without a handler: the tail call fails and
 *             execution continues after it).
 *
 * dispatcher returns XDP_PASS for frames it handles itself; handle_tcp
 * returns XDP_PASS, handle_udp XDP_PASS, handle_icmp XDP_DROP.  Run the
 * dispatcher program.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

int handle_tcp(struct xdp_md *ctx);
int handle_udp(struct xdp_md *ctx);
int handle_icmp(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} handlers SEC(".maps") = {
	.values = {
		[IPPROTO_TCP] = (void *)&handle_tcp,
		[IPPROTO_UDP] = (void *)&handle_udp,
		[IPPROTO_ICMP] = (void *)&handle_icmp,
	},
};

static __attribute__((noinline)) void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int dispatcher(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP))
		bpf_tail_call(ctx, &handlers, ip->protocol);
	count(3);
	return XDP_PASS;
}

SEC("xdp")
int handle_tcp(struct xdp_md *ctx)
{
	count(0);
	return XDP_PASS;
}

SEC("xdp")
int handle_udp(struct xdp_md *ctx)
{
	count(1);
	return XDP_PASS;
}

SEC("xdp")
int handle_icmp(struct xdp_md *ctx)
{
	count(2);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
