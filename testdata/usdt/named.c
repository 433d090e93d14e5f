// A USDT program whose section names its probe, as libbpf's: the gated
// probe of ./target (testdata/usdt/target.c, in the current directory).
#define __TARGET_ARCH_x86
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

__u64 runs;
__s64 sum;

SEC("usdt/./target:waggle:gated")
int BPF_USDT(named_gated, long value, int constant)
{
	__sync_fetch_and_add(&runs, 1);
	__sync_fetch_and_add(&sum, value * constant);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
