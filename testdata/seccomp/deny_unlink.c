/* deny_unlink: a command may not delete files.
 *
 * unlink, unlinkat and rmdir fail with EPERM; everything else is allowed.
 * A system call of another architecture (an x32 or i386 call on x86-64)
 * kills the process, as a seccomp filter must check the architecture
 * first. It reads only seccomp_data and returns constants: waggle lowers
 * it to the kernel's own classic seccomp filter.
 */
#include "policy.h"

SEC("seccomp")
int deny_unlink(struct seccomp_data *ctx)
{
	if (ctx->arch != AUDIT_ARCH_X86_64)
		return SECCOMP_RET_KILL_PROCESS;
	switch (ctx->nr) {
	case __NR_unlink:
	case __NR_unlinkat:
	case __NR_rmdir:
		return ERRNO(EPERM);
	}
	return SECCOMP_RET_ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
