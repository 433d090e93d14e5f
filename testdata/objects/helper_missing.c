/* helper_missing: a helper waggle does not implement.
 *
 * Program type: TC.  bpf_skb_ecn_set_ce (helper 97) is a kernel helper of
 * tc programs that waggle lacks: NewCollection must name it, its ID, the
 * program and the instruction.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_ecn(struct __sk_buff *skb)
{
	__u32 mark = skb->mark;

	bpf_skb_ecn_set_ce(skb);
	return mark ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
