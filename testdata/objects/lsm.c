/* lsm: a program type waggle does not run.
 *
 * SEC("lsm/file_open") is a BPF_PROG_TYPE_LSM program: NewCollection must
 * name the program and its type.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("lsm/file_open")
int lsm_file_open(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
