/* oob_packet: REJECTED by the kernel verifier.
 *
 * Program type: XDP.  Reads the IPv4 protocol byte (offset 23) after
 * checking only that the Ethernet header (14 bytes) fits: "invalid access
 * to packet".
 */
#include "../common.h"

SEC("xdp")
int xdp_oob(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + 14 > data_end)
		return XDP_DROP;
	return ((__u8 *)data)[23] == IPPROTO_TCP ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
