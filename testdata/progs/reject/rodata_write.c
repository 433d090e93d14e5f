/* rodata_write: REJECTED by the kernel verifier.
 *
 * Program type: TC.  Writes to a const volatile global, which lives in the
 * frozen, read-only .rodata map: "write into map forbidden".
 */
#include "../common.h"

const volatile __u32 limit = 10;

SEC("tc")
int tc_rodata_write(struct __sk_buff *skb)
{
	*(volatile __u32 *)&limit = skb->len;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
