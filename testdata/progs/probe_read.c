/* probe_read: every probe_read variant, on kernel memory (the program's own
 * stack), on NULL and on a low address given as an argument.
 *
 * Program types: raw tracepoint (rtp_probe), and the kernel-only variants
 * in XDP (xdp_probe_kernel) and syscall (sys_probe_kernel), which the
 * kernel allows there (bpf_base_func_proto).
 * Maps: probe_res (ARRAY[16] of u64), probe_str (ARRAY[4] of char[16]).
 * Helpers: probe_read, probe_read_str, probe_read_user, probe_read_user_str,
 *          probe_read_kernel, probe_read_kernel_str, map_update_elem.
 *
 * rtp_probe takes one u64 argument: an address that must fault (16 is
 * used: the first page is never mapped).  With src = "kernel-string" on the
 * stack (13 characters and a NUL, padded to 16 with NULs):
 *   probe_res[0] = probe_read_kernel(dst, 16, src)       = 0, str[0] = src
 *   probe_res[1] = probe_read_kernel(dst, 8, NULL)       = -EFAULT (dst zeroed)
 *   probe_res[2] = probe_read(dst, 16, src)              = 0
 *   probe_res[3] = probe_read_user(dst, 8, NULL)         = -EFAULT
 *   probe_res[4] = probe_read_user(dst, 8, src)          = -EFAULT: src is a
 *                  kernel address, not a user one
 *   probe_res[5] = probe_read_str(dst, 16, src)          = 14 (with the NUL)
 *   probe_res[6] = probe_read_kernel_str(dst, 8, src)    = 8, str[1] =
 *                  "kernel-" and a NUL: truncated, always terminated
 *   probe_res[7] = probe_read_user_str(dst, 8, NULL)     = -EFAULT
 *   probe_res[8] = probe_read_kernel(dst, 8, args[0])    = -EFAULT
 *   probe_res[9] = probe_read_kernel_str(dst, 16, args[0]) = -EFAULT
 *   probe_res[10] = probe_read_kernel_str(dst, 16, "") = 1 (just the NUL)
 *   str[2] = dst after the failed read of [9] (all zero).
 * Returns 0.
 *
 * xdp_probe_kernel and sys_probe_kernel copy the first 4 bytes of a stack
 * string with probe_read_kernel and return probe_read_kernel_str's length
 * of "xdp" (4) plus 100 * (the copy matched).  Expect 104.
 */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} probe_res SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, char[16]);
} probe_str SEC(".maps");

NOINLINE void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&probe_res, &idx, &v, BPF_ANY);
}

NOINLINE void put_str(__u32 idx, char *s)
{
	bpf_map_update_elem(&probe_str, &idx, s, BPF_ANY);
}

SEC("raw_tp/waggle_probe")
int rtp_probe(__u64 *args)
{
	char src[16] = "kernel-string";
	char empty[4] = "";
	char dst[16];
	void *bad = (void *)(long)args[0];

	put(0, bpf_probe_read_kernel(dst, 16, src));
	put_str(0, dst);
	put(1, bpf_probe_read_kernel(dst, 8, NULL));
	put(2, bpf_probe_read(dst, 16, src));
	put(3, bpf_probe_read_user(dst, 8, NULL));
	put(4, bpf_probe_read_user(dst, 8, src));
	put(5, bpf_probe_read_str(dst, 16, src));
	put(6, bpf_probe_read_kernel_str(dst, 8, src));
	put_str(1, dst);
	put(7, bpf_probe_read_user_str(dst, 8, NULL));
	put(8, bpf_probe_read_kernel(dst, 8, bad));
	put(9, bpf_probe_read_kernel_str(dst, 16, bad));
	put_str(2, dst);
	put(10, bpf_probe_read_kernel_str(dst, 16, empty));
	return 0;
}

NOINLINE int probe_kernel(void)
{
	char src[4] = "xdp";
	char dst[4] = {};
	long n;

	bpf_probe_read_kernel(dst, 4, src);
	n = bpf_probe_read_kernel_str(dst, 4, src);
	return n + 100 * (dst[0] == 'x' && dst[1] == 'd' && dst[2] == 'p' && dst[3] == 0);
}

SEC("xdp")
int xdp_probe_kernel(struct xdp_md *ctx)
{
	return probe_kernel();
}

SEC("syscall")
int sys_probe_kernel(void *ctx)
{
	return probe_kernel();
}

char LICENSE[] SEC("license") = "GPL";
