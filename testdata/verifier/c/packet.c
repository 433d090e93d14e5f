/* Packet parsing as clang compiles it, for the verifier.
 *
 * Each program's kernel verdict (Linux 6.18, as root) is listed below, one
 * "verdict PROGRAM: accept" or "verdict PROGRAM: reject: KEY LINE" line a
 * program; internal/verifiertest checks them against the kernel.
 *
 * verdict xdp_l4_ports: accept
 * verdict xdp_ihl_unchecked: reject: invalid access to packet
 * verdict tc_vlan_proto: accept
 * verdict xdp_tail_byte: accept
 * verdict xdp_len_from_header: reject: invalid access to packet
 *
 * xdp_l4_ports: Ethernet, IPv4 with a variable header length (IHL * 4),
 * then the TCP/UDP ports, each header checked against data_end before it is
 * read. Returns XDP_PASS, or XDP_DROP for destination port 7.
 *
 * xdp_ihl_unchecked: the same parse, but the ports are read at the offset
 * IHL gives after checking only a fixed 20-byte IPv4 header.
 *
 * tc_vlan_proto: a TC program that skips one 802.1Q tag and returns the
 * inner EtherType's low byte.
 *
 * xdp_tail_byte: reads the last byte of the frame through a variable offset
 * (data_end - data - 1, masked to 11 bits) checked against data_end.
 *
 * xdp_len_from_header: reads as many bytes as the IPv4 total length says,
 * up to 64, checking only the first 34.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_l4_ports(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *l4;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->ihl < 5)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	l4 = (void *)ip + ip->ihl * 4;
	if ((void *)(l4 + 1) > data_end)
		return XDP_PASS;
	return l4->dest == bpf_htons(7) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_ihl_unchecked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *l4;

	if ((void *)(ip + 1) + sizeof(*l4) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	l4 = (void *)ip + ip->ihl * 4;
	return l4->dest == bpf_htons(7) ? XDP_DROP : XDP_PASS;
}

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

SEC("tc")
int tc_vlan_proto(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u16 proto;
	__u64 off = sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	proto = eth->h_proto;
	if (proto == bpf_htons(0x8100)) {
		struct vlan_tag *tag = (void *)(eth + 1);

		if ((void *)(tag + 1) > data_end)
			return TC_ACT_OK;
		proto = tag->proto;
		off += sizeof(*tag);
	}
	return bpf_ntohs(proto) & 0xff;
}

SEC("xdp")
int xdp_tail_byte(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 off = (data_end - data - 1) & 0x7ff;
	__u8 *p = data + off;

	if ((void *)(p + 1) > data_end)
		return XDP_PASS;
	return *p & 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_len_from_header(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u8 *p = data;
	__u32 sum = 0;
	__u32 n;

	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	n = bpf_ntohs(ip->tot_len);
	if (n > 64)
		n = 64;
	for (__u32 i = 0; i < n; i++)
		sum += p[i];
	return sum & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
