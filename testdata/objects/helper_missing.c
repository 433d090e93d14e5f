/* helper_missing: a helper waggle does not implement.
 *
 * Program type: TC.  bpf_skb_vlan_push (helper 18) is a kernel helper of
 * tc programs that waggle lacks: NewCollection must name it, its ID, the
 * program and the instruction.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("tc")
int tc_vlan_push(struct __sk_buff *skb)
{
	bpf_skb_vlan_push(skb, bpf_htons(0x8100), 42);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
