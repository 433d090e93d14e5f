/* read_only: files may be opened for reading only, and a few calls are
 * refused outright.
 *
 * open and openat with O_WRONLY or O_RDWR in their flags (a 64-bit
 * argument tested with a mask) fail with EACCES, as do creat and
 * truncate; ptrace kills the process; a socket of the AF_PACKET family
 * (args[0] == 17) fails with EPERM. Everything else is allowed.
 */
#include "policy.h"

#define O_ACCMODE 3
#define AF_PACKET 17

SEC("seccomp")
int read_only(struct seccomp_data *ctx)
{
	if (ctx->arch != AUDIT_ARCH_X86_64)
		return SECCOMP_RET_KILL_PROCESS;
	switch (ctx->nr) {
	case __NR_open:
		if (ctx->args[1] & O_ACCMODE)
			return ERRNO(EACCES);
		break;
	case __NR_openat:
		if (ctx->args[2] & O_ACCMODE)
			return ERRNO(EACCES);
		break;
	case __NR_creat:
	case __NR_truncate:
		return ERRNO(EACCES);
	case __NR_ptrace:
		return SECCOMP_RET_KILL_PROCESS;
	case __NR_socket:
		if (ctx->args[0] == AF_PACKET)
			return ERRNO(EPERM);
		break;
	}
	return SECCOMP_RET_ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
