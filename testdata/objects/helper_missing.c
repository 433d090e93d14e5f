/* helper_missing: a helper waggle does not implement.
 *
 * Program type: TC.  bpf_skb_get_xfrm_state (helper 66) is a kernel helper
 * of tc programs that waggle lacks: NewCollection must name it, its ID,
 * the program and the instruction.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_xfrm(struct __sk_buff *skb)
{
	struct bpf_xfrm_state x = {};

	if (bpf_skb_get_xfrm_state(skb, 0, &x, sizeof(x), 0) < 0)
		return TC_ACT_SHOT;
	return x.reqid ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
