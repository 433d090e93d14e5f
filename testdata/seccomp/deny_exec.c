/* deny_exec: a command may not run id(1): an execve or execveat of a path
 * whose last component is "id" kills the process (SECCOMP_RET_KILL_PROCESS).
 *
 * The path is read from the command's memory (bpf_probe_read_user_str),
 * so the policy runs in waggle, on execve and execveat only. waggle cannot
 * make an execve itself: a thread may rewrite the path after an allowed
 * check, so waggle kills a process whose exec loaded another file than
 * the one the path named at the check (see docs/ARCHITECTURE.md).
 */
#include "policy.h"

#define PATH_LEN 128

SEC("seccomp")
int deny_exec(struct seccomp_data *ctx)
{
	__u64 arg0 = ctx->args[0], arg1 = ctx->args[1], arg;
	char path[PATH_LEN];
	long n;

	if (ctx->nr == __NR_execve)
		arg = arg0;
	else if (ctx->nr == __NR_execveat)
		arg = arg1;
	else
		return SECCOMP_RET_ALLOW;
	n = bpf_probe_read_user_str(path, sizeof(path), (const void *)arg);
	if (n < 0)
		return ERRNO(EFAULT);
	/* n counts the NUL: the name ends at path[n - 2]. */
	if (n >= 3 && n <= PATH_LEN && path[(n - 3) & (PATH_LEN - 1)] == 'i' &&
	    path[(n - 2) & (PATH_LEN - 1)] == 'd' && (n == 3 || path[(n - 4) & (PATH_LEN - 1)] == '/'))
		return SECCOMP_RET_KILL_PROCESS;
	return SECCOMP_RET_ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
