/* sock_progs: cgroup socket programs, which the kernel cannot test-run:
 * waggle runs them on a context given in, and gives the context back.
 *
 * Program types: cgroup_sock_addr (connect4_redirect, connect6_redirect,
 * sendmsg4_dns, recvmsg4_restore, bind4_low_ports), cgroup_sock
 * (sock_create_mark, post_bind4_deny), sock_ops (sockops_tcp).
 * Maps: sock_res (ARRAY[16] of u64).
 * Helpers: map_update_elem, sock_ops_cb_flags_set.
 *
 * connect4_redirect: a connection to 10.0.0.1:80 goes to 127.0.0.1:8080
 * instead (user_ip4 and user_port rewritten); one to port 23 is refused
 * (returns 0); sock_res[0] counts the redirections, sock_res[1] = the
 * socket's protocol read through ctx->sk.
 * connect6_redirect: a connection to port 80 goes to [::1]:8080.
 * sendmsg4_dns: UDP datagrams to port 53 go to 10.53.0.1, from 10.9.9.9
 * (msg_src_ip4); sock_res[2] = the original destination.
 * recvmsg4_restore: datagrams from 10.53.0.1 show 10.0.0.53 as their
 * source; returns 1 (recvmsg programs must).
 * bind4_low_ports: returns 3 (allow, without the capability check) for
 * ports below 1024, 1 otherwise.
 * sock_create_mark: refuses raw sockets (0); sets mark 0x42 and priority
 * 3 on the others.
 * post_bind4_deny: refuses a bind to 8000 (0).
 * sockops_tcp: op TIMEOUT_INIT: reply = 200; ACTIVE/PASSIVE_ESTABLISHED:
 * asks for RTT and state callbacks (bpf_sock_ops_cb_flags_set, whose
 * result is sock_res[3]); RTT_CB: sock_res[4] = srtt_us, sock_res[5] =
 * the socket's state through skops->sk (or 99 when it is NULL), sock_res[6]
 * = its dst_port (the be16 remote_port, or 99); returns 1.
 */
#include "common.h"

#define SOCK_DGRAM 2
#define SOCK_RAW 3

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} sock_res SEC(".maps");

NOINLINE void put(__u32 idx, __u64 v)
{
	bpf_map_update_elem(&sock_res, &idx, &v, BPF_ANY);
}

NOINLINE void inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&sock_res, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("cgroup/connect4")
int connect4_redirect(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;

	put(1, sk->protocol);
	if (ctx->user_port == bpf_htons(23))
		return 0;
	if (ctx->user_ip4 == IP4(10, 0, 0, 1) && ctx->user_port == bpf_htons(80)) {
		ctx->user_ip4 = IP4(127, 0, 0, 1);
		ctx->user_port = bpf_htons(8080);
		inc(0);
	}
	return 1;
}

SEC("cgroup/connect6")
int connect6_redirect(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port == bpf_htons(80)) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = 0;
		ctx->user_ip6[3] = bpf_htonl(1);
		ctx->user_port = bpf_htons(8080);
	}
	return 1;
}

SEC("cgroup/sendmsg4")
int sendmsg4_dns(struct bpf_sock_addr *ctx)
{
	if (ctx->type == SOCK_DGRAM && ctx->user_port == bpf_htons(53)) {
		put(2, ctx->user_ip4);
		ctx->user_ip4 = IP4(10, 53, 0, 1);
		ctx->msg_src_ip4 = IP4(10, 9, 9, 9);
	}
	return 1;
}

SEC("cgroup/recvmsg4")
int recvmsg4_restore(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip4 == IP4(10, 53, 0, 1))
		ctx->user_ip4 = IP4(10, 0, 0, 53);
	return 1;
}

SEC("cgroup/bind4")
int bind4_low_ports(struct bpf_sock_addr *ctx)
{
	if (bpf_ntohs(ctx->user_port) < 1024)
		return 3;
	return 1;
}

SEC("cgroup/sock_create")
int sock_create_mark(struct bpf_sock *sk)
{
	if (sk->type == SOCK_RAW)
		return 0;
	sk->mark = 0x42;
	sk->priority = 3;
	return 1;
}

SEC("cgroup/post_bind4")
int post_bind4_deny(struct bpf_sock *sk)
{
	if (sk->src_port == 8000)
		return 0;
	return 1;
}

SEC("sockops")
int sockops_tcp(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk;

	switch (skops->op) {
	case BPF_SOCK_OPS_TIMEOUT_INIT:
		skops->reply = 200;
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		put(3, bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_STATE_CB_FLAG | 0x100));
		break;
	case BPF_SOCK_OPS_RTT_CB:
		put(4, skops->srtt_us);
		sk = skops->sk;
		put(5, sk ? sk->state : 99);
		put(6, sk ? sk->dst_port : 99);
		break;
	}
	return 1;
}

char _license[] SEC("license") = "GPL";
