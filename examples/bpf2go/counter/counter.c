//go:build ignore

// SPDX-License-Identifier: (MIT OR GPL-2.0)
/* counter: an XDP program that counts IPv4 packets and bytes per IP
 * protocol, the program of waggle's bpf2go example (see ../README.md).
 *
 * Map:       proto_stats, an ARRAY of 256 struct stats indexed by the IPv4
 *            protocol number (6 TCP, 17 UDP, 1 ICMP, ...).
 * Variables: blocked_proto (.rodata), an IP protocol whose packets are
 *            dropped (0, the object's value, drops nothing), set before
 *            loading; non_ipv4 (.bss), the frames that are not IPv4 or too
 *            short to hold an IPv4 header, which are passed.
 *
 * The file needs no system header, so that `go generate` needs nothing but
 * clang whatever the machine.
 */
typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

#define BPF_MAP_TYPE_ARRAY 2
#define XDP_DROP 1
#define XDP_PASS 2
#define ETH_HLEN 14
#define IPV4_HLEN 20

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

struct stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct stats);
} proto_stats SEC(".maps");

volatile const __u8 blocked_proto = 0;
__u64 non_ipv4 = 0;

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	struct stats *s;
	__u32 proto;

	/* The EtherType, byte by byte: the same code for bpfel and bpfeb. */
	if (data + ETH_HLEN + IPV4_HLEN > end || data[12] != 0x08 || data[13] != 0x00) {
		__sync_fetch_and_add(&non_ipv4, 1);
		return XDP_PASS;
	}
	proto = data[ETH_HLEN + 9];
	s = bpf_map_lookup_elem(&proto_stats, &proto);
	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, end - data);
	}
	if (blocked_proto && proto == blocked_proto)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
