/* What the policies share: the kernel's headers for struct seccomp_data,
 * the SECCOMP_RET_* actions, audit architectures, syscall numbers and
 * errnos, and libbpf's SEC(). */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <asm/unistd.h>
#include <asm-generic/errno-base.h>
#include <bpf/bpf_helpers.h>

#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
