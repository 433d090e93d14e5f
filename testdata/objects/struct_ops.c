/* struct_ops: a struct_ops map and its programs, which waggle does not run.
 *
 * The kernel would resolve "struct waggle_ops" against its own BTF; the
 * loader must refuse the map (type StructOps) and the programs (type
 * StructOps), naming them.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct waggle_ops {
	int (*init)(void);
	char name[16];
};

SEC("struct_ops/ops_init")
int ops_init(void)
{
	return 0;
}

SEC(".struct_ops")
struct waggle_ops ops = {
	.init = (void *)ops_init,
	.name = "waggle",
};

char LICENSE[] SEC("license") = "GPL";
