/* skb_helpers: one tc program that runs a script of up to four helper
 * calls on its packet, so that every flag combination of the skb helpers
 * can be compared between waggle and the kernel's BPF_PROG_TEST_RUN.
 *
 * Program types: TC (skb_script), XDP (xdp_script, multi-buffer: only
 * OP_FIB_LOOKUP, OP_CSUM_DIFF and the OP_XDP_* operations).
 * Maps: script (ARRAY[1] of struct script: four operations, each a helper
 * number of this file and four arguments), out (ARRAY[1] of struct out:
 * each operation's return value, then the skb's fields after the script
 * and the bytes that the reading helpers copied).
 *
 * The test (skb_helpers_test.go) fills script, runs the program in both
 * runtimes and compares the return value (the last operation's, as a
 * u32), the output packet, ctx_out and out.
 */
#include "../progs/common.h"

enum op {
	OP_NONE,
	OP_STORE_BYTES,    /* off, len (1-16, modulo 16; bytes 0xa0, 0xa1, ...), flags */
	OP_L3_CSUM,        /* off, from, to, flags */
	OP_L4_CSUM,        /* off, from, to, flags */
	OP_CSUM_LEVEL,     /* level */
	OP_PULL_DATA,      /* len */
	OP_CHANGE_TAIL,    /* len, flags */
	OP_CHANGE_HEAD,    /* room, flags */
	OP_ADJUST_ROOM,    /* len_diff, mode, flags */
	OP_CHANGE_TYPE,    /* type */
	OP_CHANGE_PROTO,   /* proto (host order), flags */
	OP_VLAN_PUSH,      /* proto (host order), tci */
	OP_VLAN_POP,       /* - */
	OP_HASH_RECALC,    /* - */
	OP_SET_HASH,       /* hash */
	OP_HASH_INVALID,   /* - */
	OP_SET_TUNNEL_KEY, /* size (1-64), flags, tunnel_id | tos << 32 | ttl << 40, label | ext << 32 */
	OP_GET_TUNNEL_KEY, /* size (1-64), flags */
	OP_SET_TUNNEL_OPT, /* size (1-64; bytes 0xb0, 0xb1, ...) */
	OP_GET_TUNNEL_OPT, /* size (1-64) */
	OP_LOAD_RELATIVE,  /* off, len (1-64), start */
	OP_CGROUP_ID,      /* - */
	OP_NETNS_COOKIE,   /* - */
	OP_CGROUP_CLASSID, /* - */
	OP_REDIRECT_NEIGH, /* ifindex, plen (0: NULL params; else 1-32), flags */
	OP_REDIRECT_PEER,  /* ifindex, flags */
	OP_SOCKET_COOKIE,  /* - */
	OP_CSUM_DIFF,      /* from_size (0-16), to_size (0-16), seed */
	OP_FIB_LOOKUP,     /* flags, ifindex | family << 32 | tot_len << 40 | 1 << 56 for plen 32,
			    * IPv4 destination (host order) | tos << 32 (IPv6, family 10:
			    * 2001:db8:HHHH:hhhh::LLLL:llll), tbid | mark << 32;
			    * the params after the call in buf */
	OP_CLONE_REDIRECT, /* ifindex, flags */
	OP_SK_LOOKUP,      /* 0 sk_lookup_tcp, 1 sk_lookup_udp, 2 skc_lookup_tcp; tuple size
			    * (1-64), netns, flags: 1 when a socket is found (then released) */
	OP_CSUM_UPDATE,    /* csum */
	OP_ROUTE_REALM,    /* - */
	OP_SOCKET_UID,     /* - */
	OP_SKB_CLASSID,    /* - (bpf_skb_cgroup_classid) */
	OP_ANCESTOR_CGRP,  /* level */
	OP_ECN_SET_CE,     /* - */
	OP_XDP_BUFF_LEN,   /* - (XDP) */
	OP_XDP_LOAD,       /* off, len (1-64) (XDP): the bytes in buf */
	OP_XDP_STORE,      /* off, len (1-32; bytes 0xc0, 0xc1, ...) (XDP) */
};

#define NOPS 4

struct script {
	__u64 op[NOPS][5];
};

struct out {
	__s64 ret[NOPS];
	__u32 len, protocol, pkt_type, hash;
	__u32 vlan_present, vlan_tci, vlan_proto, mark;
	__u8 buf[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct script);
} script SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct out);
} out SEC(".maps");

/* A size of 1 to 64: v for those, v - 1 modulo 64, plus 1, otherwise. */
static __always_inline __u32 size64(__u64 v)
{
	return ((v - 1) & 63) + 1;
}

/* OP_FIB_LOOKUP, for both program types. */
static __always_inline __s64 fib_lookup(void *ctx, __u64 *a, __u8 *buf)
{
	struct bpf_fib_lookup *p = (void *)buf;
	int i;

	for (i = 0; i < 64; i++)
		buf[i] = 0;
	p->family = a[2] >> 32;
	p->ifindex = a[2];
	p->tot_len = a[2] >> 40;
	p->l4_protocol = IPPROTO_TCP;
	p->sport = bpf_htons(40000);
	p->dport = bpf_htons(80);
	if (p->family == 10) {
		/* 2001:db8:HHHH:hhhh::LLLL:llll from a[3]'s high and low words;
		 * the source 2001:db8:77::1. */
		p->ipv6_dst[0] = bpf_htonl(0x20010db8);
		p->ipv6_dst[1] = bpf_htonl(a[3] >> 32);
		p->ipv6_dst[3] = bpf_htonl(a[3]);
		p->ipv6_src[0] = bpf_htonl(0x20010db8);
		p->ipv6_src[1] = bpf_htonl(0x00770000);
		p->ipv6_src[3] = bpf_htonl(1);
	} else {
		p->ipv4_dst = bpf_htonl(a[3]);
		p->ipv4_src = bpf_htonl(0x0a4d0001);
		p->tos = a[3] >> 32;
	}
	if (a[1] & 8) /* BPF_FIB_LOOKUP_TBID */
		p->tbid = a[4];
	else
		*(__u32 *)(buf + 52) = a[4] >> 32; /* mark */
	if ((a[2] >> 56) == 1)
		return bpf_fib_lookup(ctx, p, 32, a[1]);
	return bpf_fib_lookup(ctx, p, 64, a[1]);
}

NOINLINE __s64 run_op(struct __sk_buff *skb, __u64 *a, __u8 *buf)
{
	__u8 data[64];
	struct bpf_redir_neigh nh[2] = {};
	__u32 n;
	int i;

	for (i = 0; i < 64; i++)
		data[i] = 0;
	switch (a[0]) {
	case OP_STORE_BYTES:
		n = ((a[2] - 1) & 15) + 1;
		for (i = 0; i < 16; i++)
			data[i] = 0xa0 + i;
		return bpf_skb_store_bytes(skb, a[1], data, n, a[3]);
	case OP_L3_CSUM:
		return bpf_l3_csum_replace(skb, a[1], a[2], a[3], a[4]);
	case OP_L4_CSUM:
		return bpf_l4_csum_replace(skb, a[1], a[2], a[3], a[4]);
	case OP_CSUM_LEVEL:
		return bpf_csum_level(skb, a[1]);
	case OP_PULL_DATA:
		return bpf_skb_pull_data(skb, a[1]);
	case OP_CHANGE_TAIL:
		return bpf_skb_change_tail(skb, a[1], a[2]);
	case OP_CHANGE_HEAD:
		return bpf_skb_change_head(skb, a[1], a[2]);
	case OP_ADJUST_ROOM:
		return bpf_skb_adjust_room(skb, a[1], a[2], a[3]);
	case OP_CHANGE_TYPE:
		return bpf_skb_change_type(skb, a[1]);
	case OP_CHANGE_PROTO:
		return bpf_skb_change_proto(skb, bpf_htons(a[1]), a[2]);
	case OP_VLAN_PUSH:
		return bpf_skb_vlan_push(skb, bpf_htons(a[1]), a[2]);
	case OP_VLAN_POP:
		return bpf_skb_vlan_pop(skb);
	case OP_HASH_RECALC:
		return bpf_get_hash_recalc(skb);
	case OP_SET_HASH:
		return bpf_set_hash(skb, a[1]);
	case OP_HASH_INVALID:
		bpf_set_hash_invalid(skb);
		return 0;
	case OP_SET_TUNNEL_KEY: {
		struct bpf_tunnel_key *k = (void *)data;

		k->tunnel_id = a[3];
		k->tunnel_tos = a[3] >> 32;
		k->tunnel_ttl = a[3] >> 40;
		k->tunnel_label = a[4];
		k->tunnel_ext = a[4] >> 32;
		if (a[2] & BPF_F_TUNINFO_IPV6) {
			k->remote_ipv6[0] = bpf_htonl(0x20010db8);
			k->remote_ipv6[3] = bpf_htonl(1);
			k->local_ipv6[0] = bpf_htonl(0x20010db8);
			k->local_ipv6[3] = bpf_htonl(2);
		} else {
			k->remote_ipv4 = 0x0a000001;
			k->local_ipv4 = 0x0a000002;
		}
		return bpf_skb_set_tunnel_key(skb, k, size64(a[1]), a[2]);
	}
	case OP_GET_TUNNEL_KEY:
		return bpf_skb_get_tunnel_key(skb, (void *)buf, size64(a[1]), a[2]);
	case OP_SET_TUNNEL_OPT:
		for (i = 0; i < 64; i++)
			data[i] = 0xb0 + i;
		return bpf_skb_set_tunnel_opt(skb, data, size64(a[1]));
	case OP_GET_TUNNEL_OPT:
		return bpf_skb_get_tunnel_opt(skb, buf, size64(a[1]));
	case OP_LOAD_RELATIVE:
		return bpf_skb_load_bytes_relative(skb, a[1], buf, size64(a[2]), a[3]);
	case OP_CGROUP_ID:
		return bpf_skb_cgroup_id(skb);
	case OP_NETNS_COOKIE:
		return bpf_get_netns_cookie(skb);
	case OP_CGROUP_CLASSID:
		return bpf_get_cgroup_classid(skb);
	case OP_REDIRECT_NEIGH:
		if (a[2] == 0)
			return bpf_redirect_neigh(a[1], NULL, 0, a[3]);
		n = ((a[2] - 1) & 31) + 1;
		nh[0].nh_family = 2;
		return bpf_redirect_neigh(a[1], nh, n, a[3]);
	case OP_REDIRECT_PEER:
		return bpf_redirect_peer(a[1], a[2]);
	case OP_SOCKET_COOKIE:
		return bpf_get_socket_cookie(skb) != 0;
	case OP_FIB_LOOKUP:
		return fib_lookup(skb, a, buf);
	case OP_SK_LOOKUP: {
		struct bpf_sock_tuple *t = (void *)data;
		struct bpf_sock *sk;

		t->ipv4.daddr = bpf_htonl(0x7f000001);
		t->ipv4.dport = bpf_htons(1);
		if (a[1] == 0)
			sk = bpf_sk_lookup_tcp(skb, t, size64(a[2]), a[3], a[4]);
		else if (a[1] == 1)
			sk = bpf_sk_lookup_udp(skb, t, size64(a[2]), a[3], a[4]);
		else
			sk = (void *)bpf_skc_lookup_tcp(skb, t, size64(a[2]), a[3], a[4]);
		if (!sk)
			return 0;
		bpf_sk_release(sk);
		return 1;
	}
	case OP_CSUM_UPDATE:
		return bpf_csum_update(skb, a[1]);
	case OP_ROUTE_REALM:
		return bpf_get_route_realm(skb);
	case OP_SOCKET_UID:
		return bpf_get_socket_uid(skb);
	case OP_SKB_CLASSID:
		return bpf_skb_cgroup_classid(skb);
	case OP_ANCESTOR_CGRP:
		return bpf_skb_ancestor_cgroup_id(skb, a[1]);
	case OP_ECN_SET_CE:
		return bpf_skb_ecn_set_ce(skb);
	case OP_CLONE_REDIRECT:
		return bpf_clone_redirect(skb, a[1], a[2]);
	case OP_CSUM_DIFF: {
		__u32 fs = a[1] & 31, ts = a[2] & 31;

		if (fs > 16)
			fs = 16;
		if (ts > 16)
			ts = 16;
		for (i = 0; i < 32; i++)
			data[i] = 0x11 * i + 7;
		return bpf_csum_diff((void *)data, fs, (void *)(data + 16), ts, a[3]);
	}
	}
	return -1000;
}

SEC("tc")
int skb_script(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct script *s = bpf_map_lookup_elem(&script, &zero);
	struct out *o = bpf_map_lookup_elem(&out, &zero);
	__s64 ret = 0;
	int i;

	if (!s || !o)
		return TC_ACT_SHOT;
	for (i = 0; i < NOPS; i++) {
		if (s->op[i][0] == OP_NONE)
			break;
		ret = run_op(skb, s->op[i], o->buf);
		o->ret[i] = ret;
	}
	o->len = skb->len;
	o->protocol = skb->protocol;
	o->pkt_type = skb->pkt_type;
	o->hash = skb->hash;
	o->vlan_present = skb->vlan_present;
	o->vlan_tci = skb->vlan_tci;
	o->vlan_proto = skb->vlan_proto;
	o->mark = skb->mark;
	return ret;
}

NOINLINE __s64 run_xdp_op(struct xdp_md *ctx, __u64 *a, __u8 *buf)
{
	__u8 data[32];
	__u32 fs, ts;
	int i;

	if (a[0] == OP_FIB_LOOKUP)
		return fib_lookup(ctx, a, buf);
	if (a[0] == OP_XDP_BUFF_LEN)
		return bpf_xdp_get_buff_len(ctx);
	if (a[0] == OP_XDP_LOAD)
		return bpf_xdp_load_bytes(ctx, a[1], buf, size64(a[2]));
	if (a[0] == OP_XDP_STORE) {
		for (i = 0; i < 32; i++)
			data[i] = 0xc0 + i;
		return bpf_xdp_store_bytes(ctx, a[1], data, ((a[2] - 1) & 31) + 1);
	}
	if (a[0] != OP_CSUM_DIFF)
		return -1000;
	fs = a[1] & 31;
	ts = a[2] & 31;
	if (fs > 16)
		fs = 16;
	if (ts > 16)
		ts = 16;
	for (i = 0; i < 32; i++)
		data[i] = 0x11 * i + 7;
	return bpf_csum_diff((void *)data, fs, (void *)(data + 16), ts, a[3]);
}

SEC("xdp.frags")
int xdp_script(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct script *s = bpf_map_lookup_elem(&script, &zero);
	struct out *o = bpf_map_lookup_elem(&out, &zero);
	__s64 ret = 0;
	int i;

	if (!s || !o)
		return XDP_ABORTED;
	for (i = 0; i < NOPS; i++) {
		if (s->op[i][0] == OP_NONE)
			break;
		ret = run_xdp_op(ctx, s->op[i], o->buf);
		o->ret[i] = ret;
	}
	o->len = ctx->data_end - ctx->data;
	return ret == 0 ? XDP_PASS : ret;
}

char LICENSE[] SEC("license") = "GPL";
