/* The program contexts of the kernel's UAPI (linux/bpf.h), whose BTF waggle
 * relocates CO-RE accesses against (internal/kernel/core_contexts.go): a program built
 * with its own partial definition of a context marked preserve_access_index
 * (as cilium/ebpf's tcprtt_sockops example's struct bpf_sock_ops) reads the
 * fields where waggle's contexts have them, as the kernel relocates them
 * against its own BTF. Rebuild with make after changing it.
 */
#include <linux/bpf.h>

struct __sk_buff waggle_skb;
struct xdp_md waggle_xdp_md;
struct bpf_sock waggle_sock;
struct bpf_sock_addr waggle_sock_addr;
struct bpf_sock_ops waggle_sock_ops;
