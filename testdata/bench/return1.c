/* return1: the fixed cost of a run, for the engine benchmarks.
 *
 * Program type: XDP (return1).  No maps.  Returns 1 (XDP_DROP) for every
 * packet.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int return1(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
