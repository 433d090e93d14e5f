/* infinite_loop: REJECTED by the kernel verifier.
 *
 * Program type: raw tracepoint.  A loop whose exit condition can never
 * become true: "infinite loop detected" (or the complexity limit).
 */
#include "../common.h"

SEC("raw_tp/waggle_loop")
int rtp_forever(__u64 *args)
{
	volatile __u64 i = 0;
	__u64 n = args[0];

	while (n != 0x7fffffffffffffffULL || i == 0) {
		asm volatile("" ::: "memory");
	}
	return i;
}

char LICENSE[] SEC("license") = "GPL";
