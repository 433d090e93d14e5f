/* strings: bpf_snprintf, bpf_strncmp and bpf_trace_printk.
 *
 * Program types: syscall (sys_strings), XDP (xdp_printk).
 * Maps: .rodata (the format strings and the string compared against).
 * Helpers: snprintf, strncmp, trace_printk.
 *
 * sys_strings takes a struct str_ctx (144 bytes): name[16] (a NUL-padded
 * string), num (s64), then outputs:
 *   out[64]   = bpf_snprintf("%s-%d-%x-%u-%llu", name, num, 0xbeef, 7, ~0)
 *   out_ret   = its return value: the formatted length including the NUL
 *   small[8]  = the same format into 8 bytes: truncated and NUL-terminated
 *   small_ret = the full length again (as snprintf)
 *   cmp[0]    = bpf_strncmp(name, 16, "waggle") (the kernel's strncmp gives
 *               -1, 0 or 1 at the first difference)
 *   cmp[1]    = bpf_strncmp(name, 3, "waggle") (compares 3 bytes)
 *   cmp[2]    = bpf_strncmp(name, 16, "wagglf")
 *   printk    = bpf_trace_printk("waggle %d\n", num): the formatted length
 * Returns 0.  (The trace output itself is not compared.)
 *
 * xdp_printk prints the frame length with bpf_trace_printk and returns
 * XDP_PASS if the helper returned a positive length, XDP_ABORTED otherwise.
 */
#include "common.h"

struct str_ctx {
	char name[16];
	__s64 num;
	char out[64];
	__s64 out_ret;
	char small[8];
	__s64 small_ret;
	__s64 cmp[3];
	__s64 printk;
};

const char waggle[] = "waggle";
const char wagglf[] = "wagglf";
static const char fmt[] = "%s-%d-%x-%u-%llu";

SEC("syscall")
int sys_strings(struct str_ctx *ctx)
{
	char name[16];
	__u64 args[5];
	char out[64] = {};
	char small[8] = {};
	static const char pfmt[] = "waggle %d\n";

	__builtin_memcpy(name, ctx->name, sizeof(name));
	name[15] = 0;
	args[0] = (__u64)(long)name;
	args[1] = ctx->num;
	args[2] = 0xbeef;
	args[3] = 7;
	args[4] = ~0ULL;
	ctx->out_ret = bpf_snprintf(out, sizeof(out), fmt, args, sizeof(args));
	__builtin_memcpy(ctx->out, out, sizeof(out));
	ctx->small_ret = bpf_snprintf(small, sizeof(small), fmt, args, sizeof(args));
	__builtin_memcpy(ctx->small, small, sizeof(small));
	ctx->cmp[0] = bpf_strncmp(name, 16, waggle);
	ctx->cmp[1] = bpf_strncmp(name, 3, waggle);
	ctx->cmp[2] = bpf_strncmp(name, 16, wagglf);
	ctx->printk = bpf_trace_printk(pfmt, sizeof(pfmt), ctx->num);
	return 0;
}

SEC("xdp")
int xdp_printk(struct xdp_md *ctx)
{
	static const char pfmt[] = "xdp len %u\n";
	long r = bpf_trace_printk(pfmt, sizeof(pfmt), ctx->data_end - ctx->data);

	return r > 0 ? XDP_PASS : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
