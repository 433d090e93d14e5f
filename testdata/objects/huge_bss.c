/* huge_bss: 1 GiB of zero-initialised global data (.bss) in a 5 KB file.
 *
 * Reading the object allocates the section's zeroes and a copy of the
 * variable, and the .bss map needs 1 GiB more: where the maps of the
 * process may not hold that much, waggle must refuse the object with an
 * error (ENOMEM) that names the section, its size and the limit, instead
 * of letting the Go runtime end the process when the system refuses the
 * allocation ("fatal error: out of memory").
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char big[1 << 30];

SEC("xdp")
int xdp_big_bss(struct xdp_md *ctx)
{
	return big[ctx->ingress_ifindex & 0xff] ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
