/* kfunc: a call of a kernel function (kfunc), which waggle does not have.
 *
 * Program type: TC.  bpf_kfunc_call_test1 is declared __ksym, so clang
 * emits a BPF_PSEUDO_KFUNC_CALL to it.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

extern __u64 bpf_kfunc_call_test1(struct __sk_buff *skb, __u32 a, __u64 b) __ksym;

SEC("tc")
int tc_kfunc(struct __sk_buff *skb)
{
	return bpf_kfunc_call_test1(skb, 1, 2) ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
