/* coarse_in_syscall: REJECTED by the kernel verifier.
 *
 * Program type: syscall.  bpf_ktime_get_coarse_ns is not available to
 * syscall programs: "program of this type cannot use helper
 * bpf_ktime_get_coarse_ns#160".  (It is allowed in XDP; see
 * ../time_random.c.)
 */
#include "../common.h"

SEC("syscall")
int sys_coarse(void *ctx)
{
	return bpf_ktime_get_coarse_ns() > 0;
}

char LICENSE[] SEC("license") = "GPL";
