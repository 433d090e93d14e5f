/* verdicts: programs whose verdict is chosen by the packet, to check that
 * package packet reads every return value of every program type, and
 * writes the packets as the programs leave them.
 *
 * Every program takes the frames of package packet's tests.  A frame with
 * the "local experimental" ethertype 0x88b5 carries a command in its first
 * payload byte (offset 14); other frames get the default.
 *
 * xdp_verdict (XDP): returns the command byte (0 XDP_ABORTED ... 4
 *   XDP_REDIRECT, more is an unknown action); XDP_PASS for other frames.
 *   Before that it writes 0xee into the last byte of every frame longer than
 *   14 bytes, so the output shows the program's writes.
 *
 * tc_verdict (TC): returns the command byte as a signed number (0xff is -1,
 *   TC_ACT_UNSPEC; 0 TC_ACT_OK ... 8 TC_ACT_TRAP; more is unknown);
 *   TC_ACT_OK for other frames.  It swaps the Ethernet source and
 *   destination addresses of every frame first.
 *
 * sock_verdict (socket filter): returns the command byte, the number of
 *   bytes to keep counted from the network header (the socket filter's
 *   data starts there); for other frames 0xffff (keep everything).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_LOCAL 0x88b5

SEC("xdp")
int xdp_verdict(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 *cmd = (void *)(eth + 1);
	__u32 len = data_end - data;
	__u8 *last;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (len > sizeof(*eth)) {
		/* The mask bounds the offset for the verifier. */
		last = data + ((len - 1) & 0x3fff);
		if ((void *)(last + 1) <= data_end)
			*last = 0xee;
	}
	if (eth->h_proto != bpf_htons(ETH_P_LOCAL) || (void *)(cmd + 1) > data_end)
		return XDP_PASS;
	return *cmd;
}

SEC("tc")
int tc_verdict(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 *cmd = (void *)(eth + 1);
	__u8 mac[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	if (eth->h_proto != bpf_htons(ETH_P_LOCAL) || (void *)(cmd + 1) > data_end)
		return TC_ACT_OK;
	return (__s8)*cmd;
}

SEC("socket")
int sock_verdict(struct __sk_buff *skb)
{
	__u8 cmd;

	if (skb->protocol != bpf_htons(ETH_P_LOCAL))
		return 0xffff;
	if (bpf_skb_load_bytes(skb, 0, &cmd, 1))
		return 0xffff;
	return cmd;
}

char LICENSE[] SEC("license") = "GPL";
