/* unresolved_func: a call of a function the object does not define.
 *
 * Program type: XDP.  "elsewhere" is an extern function, which no object
 * defines.  NewCollection must name the program, the instruction and the
 * function.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int elsewhere(int x);

SEC("xdp")
int xdp_unresolved_func(struct xdp_md *ctx)
{
	return elsewhere(ctx->ingress_ifindex);
}

char LICENSE[] SEC("license") = "GPL";
