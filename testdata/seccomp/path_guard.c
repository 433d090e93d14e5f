/* path_guard: no file whose path contains "secret" may be opened or
 * removed.
 *
 * open, openat, creat, unlink and unlinkat read their path argument from
 * the command's memory (bpf_probe_read_user_str) and fail with EACCES
 * when it contains "secret"; everything else is allowed in the kernel.
 * The path is memory that another thread of the command can rewrite
 * after the check: waggle makes the call itself, with the very bytes the
 * policy read (see docs/ARCHITECTURE.md, "No time-of-check/time-of-use
 * hole").
 */
#include "policy.h"

#define PATH_LEN 128

static __always_inline int has_secret(const char *p, int n)
{
	for (int i = 0; i + 6 <= n && i < PATH_LEN - 6; i++) {
		if (p[i] == 's' && p[i + 1] == 'e' && p[i + 2] == 'c' && p[i + 3] == 'r' &&
		    p[i + 4] == 'e' && p[i + 5] == 't')
			return 1;
	}
	return 0;
}

SEC("seccomp")
int path_guard(struct seccomp_data *ctx)
{
	/* Both arguments read up front: clang must not turn the context's
	 * loads into pointer arithmetic, which the verifier refuses. */
	__u64 arg0 = ctx->args[0], arg1 = ctx->args[1], arg;
	char path[PATH_LEN];
	long n;

	switch (ctx->nr) {
	case __NR_open:
	case __NR_creat:
	case __NR_unlink:
		arg = arg0;
		break;
	case __NR_openat:
	case __NR_unlinkat:
		arg = arg1;
		break;
	default:
		return SECCOMP_RET_ALLOW;
	}
	n = bpf_probe_read_user_str(path, sizeof(path), (const void *)arg);
	if (n < 0)
		return ERRNO(EFAULT);
	if (has_secret(path, n))
		return ERRNO(EACCES);
	return SECCOMP_RET_ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
