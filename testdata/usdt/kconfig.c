// A program reading a .kconfig extern that waggle gives
// (LINUX_HAS_BPF_COOKIE) and one that it does not (CONFIG_HZ): loading it
// fails, naming CONFIG_HZ.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;
extern const int CONFIG_HZ __kconfig;

SEC("kprobe")
int kconfig(void *ctx)
{
	return LINUX_HAS_BPF_COOKIE + CONFIG_HZ;
}

char LICENSE[] SEC("license") = "GPL";
