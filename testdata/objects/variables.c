/* variables: global variables that Go sets before and after loading.
 *
 * xdp_drop_after counts packets in `packets` (.bss) and drops every packet
 * after the first drop_after (.rodata, a const volatile that the loader
 * sets from CollectionSpec.Variables; 0, the object's value, drops
 * nothing). It returns `verdict` (.data, XDP_PASS) for the others, so a
 * Go program can change the verdict of a loaded collection through
 * Collection.Variables.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 drop_after = 0;
__u64 packets;
__u32 verdict = XDP_PASS;

SEC("xdp")
int xdp_drop_after(struct xdp_md *ctx)
{
	__u64 n = __sync_fetch_and_add(&packets, 1) + 1;

	if (drop_after && n > drop_after)
		return XDP_DROP;
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
