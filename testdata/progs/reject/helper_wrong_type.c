/* helper_wrong_type: REJECTED by the kernel verifier.
 *
 * Program type: XDP.  The legacy bpf_probe_read is offered to tracing
 * programs only: "program of this type cannot use helper bpf_probe_read#4".
 * (bpf_probe_read_kernel, bpf_get_current_comm and bpf_get_current_pid_tgid
 * are accepted in XDP by kernel 6.18; see ../probe_read.c and
 * ../current_task.c.)
 */
#include "../common.h"

SEC("xdp")
int xdp_probe(struct xdp_md *ctx)
{
	char src[8] = "abc", dst[8];

	bpf_probe_read(dst, sizeof(dst), src);
	return dst[0] == 'a' ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
