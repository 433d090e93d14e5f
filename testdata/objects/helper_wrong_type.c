/* helper_wrong_type: a helper the program's type may not call.
 *
 * Program type: socket filter.  bpf_xdp_adjust_head (helper 44) is an XDP
 * helper: NewCollection must name the helper, its ID, the program and the
 * instruction.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int sock_adjust(struct __sk_buff *skb)
{
	/* The context is not an xdp_md; the loader refuses before any run. */
	return bpf_xdp_adjust_head((struct xdp_md *)skb, 4);
}

char LICENSE[] SEC("license") = "GPL";
