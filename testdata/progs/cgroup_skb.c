/* cgroup_skb: cgroup socket buffer programs, which see the packet from its
 * network header (BPF_PROG_TEST_RUN pulls the Ethernet header) and read it
 * directly, read-only.
 *
 * Program types: cgroup_skb ingress (cg_port_filter, cg_sock_fields),
 * egress (cg_egress); tc (tc_sock_fields); socket filter (sock_sock_fields).
 * Maps: cg_res (ARRAY[8] of u64), sk_res (ARRAY[10] of u64).
 * Helpers: map_update_elem, skb_load_bytes.
 *
 * cg_port_filter drops TCP and UDP packets to port 22 or from port 23
 * (returns 0) and passes the rest (1). It stores
 *   cg_res[0] = skb->len, [1] = skb->protocol (network order),
 *   cg_res[2] = the destination port (host order) read directly from the
 *               packet, 0 when it is no TCP/UDP over IPv4,
 *   cg_res[3] = the same port read with bpf_skb_load_bytes,
 *   cg_res[4] = skb->family (the test run's socket: AF_INET for IPv4),
 *   cg_res[5] = skb->local_ip4 (the packet's source address),
 *   cg_res[6] = skb->remote_ip4 (its destination),
 * and sets skb->mark = 0x77 and skb->cb[0] = the port, which the context
 * output shows.
 *
 * cg_egress returns 3 (pass, with congestion notified) for UDP packets, 2
 * (drop, notified) for TCP, 1 otherwise.
 *
 * cg_sock_fields reads the socket the test run gives the skb (skb->sk, a
 * struct sock_common): sk_res[0] = 1 if skb->sk is not NULL, [1] = its
 * family, [2] = src_ip4, [3] = dst_ip4, [4] = src_port, [5] = dst_port,
 * [6] = state, [7] = rx_queue_mapping (sign-extended), [8] = the first
 * word of src_ip6, [9] = the last word of dst_ip6; returns 1.
 *
 * tc_sock_fields (a tc classifier) and sock_sock_fields (a socket filter)
 * store the same, since the test run gives every skb that socket; they
 * return TC_ACT_OK (0) and the packet's length.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} cg_res SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 10);
	__type(key, __u32);
	__type(value, __u64);
} sk_res SEC(".maps");

NOINLINE void put(__u32 idx, __u64 v)
{
	bpf_map_update_elem(&cg_res, &idx, &v, BPF_ANY);
}

SEC("cgroup_skb/ingress")
int cg_port_filter(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data;
	__u32 dport = 0, sport = 0;
	__u16 port_lb = 0;

	put(0, skb->len);
	put(1, skb->protocol);
	put(4, skb->family);
	put(5, skb->local_ip4);
	put(6, skb->remote_ip4);
	if (skb->protocol == bpf_htons(ETH_P_IP) && (void *)(ip + 1) <= end &&
	    (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) && ip->ihl == 5) {
		struct udphdr *l4 = (void *)(ip + 1);
		if ((void *)(l4 + 1) > end)
			return 1;
		dport = bpf_ntohs(l4->dest);
		sport = bpf_ntohs(l4->source);
		if (bpf_skb_load_bytes(skb, sizeof(*ip) + 2, &port_lb, 2) == 0)
			put(3, bpf_ntohs(port_lb));
	}
	put(2, dport);
	skb->mark = 0x77;
	skb->cb[0] = dport;
	if (dport == 22 || sport == 23)
		return 0;
	return 1;
}

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data;

	if (skb->protocol != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > end)
		return 1;
	if (ip->protocol == IPPROTO_UDP)
		return 3;
	if (ip->protocol == IPPROTO_TCP)
		return 2;
	return 1;
}

NOINLINE void put_sk(__u32 idx, __u64 v)
{
	bpf_map_update_elem(&sk_res, &idx, &v, BPF_ANY);
}

static __always_inline void sock_fields(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return;
	put_sk(0, 1);
	put_sk(1, sk->family);
	put_sk(2, sk->src_ip4);
	put_sk(3, sk->dst_ip4);
	put_sk(4, sk->src_port);
	put_sk(5, sk->dst_port);
	put_sk(6, sk->state);
	put_sk(7, (__s64)sk->rx_queue_mapping);
	put_sk(8, sk->src_ip6[0]);
	put_sk(9, sk->dst_ip6[3]);
}

SEC("cgroup_skb/ingress")
int cg_sock_fields(struct __sk_buff *skb)
{
	sock_fields(skb);
	return 1;
}

SEC("tc")
int tc_sock_fields(struct __sk_buff *skb)
{
	sock_fields(skb);
	return TC_ACT_OK;
}

SEC("socket")
int sock_sock_fields(struct __sk_buff *skb)
{
	sock_fields(skb);
	return skb->len;
}

char _license[] SEC("license") = "GPL";
