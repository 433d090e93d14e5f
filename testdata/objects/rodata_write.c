/* rodata_write: a store into a const global at run time.
 *
 * Program type: XDP.  "limit" lives in the frozen .rodata map, which
 * programs may read but not write.  The kernel's verifier refuses the
 * program; waggle has no verifier yet, so NewCollection accepts it and the
 * store must fail at run time with a memory fault that says the memory is
 * read-only.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 limit = 10;

SEC("xdp")
int xdp_rodata_write(struct xdp_md *ctx)
{
	*(volatile __u32 *)&limit = ctx->data_end - ctx->data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
