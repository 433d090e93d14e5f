/* skb_progs: socket buffer programs: bpf_skb_load_bytes, __sk_buff fields
 * in and out, and the legacy LD_ABS/LD_IND packet loads.
 *
 * Program types: TC (tc_skb), socket filter (sock_skb, sock_ldabs_oob).
 * Maps: skb_res (ARRAY[16] of u64).
 * Helpers: skb_load_bytes, map_update_elem.
 *
 * tc_skb expects an Ethernet frame and, optionally, a struct __sk_buff
 * context (192 bytes) in which the test sets mark, priority and cb[0].
 * TC programs see the frame from its Ethernet header.
 *   skb_res[0] = skb_load_bytes(skb, 12, &ethertype, 2) (0)
 *   skb_res[1] = the ethertype loaded (network order, as a u16 in memory)
 *   skb_res[2] = skb_load_bytes(skb, len - 2, buf, 4) = -EFAULT
 *   skb_res[3] = skb->len, [4] = skb->protocol (network order),
 *   skb_res[5] = skb->mark, [6] = skb->priority, [7] = skb->cb[0],
 *   skb_res[8] = skb->ifindex (1: BPF_PROG_TEST_RUN uses the loopback
 *                device when the context names none)
 *   skb_res[9] = for IPv4: the sum of the 20 header bytes loaded with
 *                skb_load_bytes(skb, 14, hdr, 20), else 0
 * and writes skb->mark = mark + len, skb->priority = 9, skb->cb[1] =
 * 0xc0ffee, which the context output shows.  Returns TC_ACT_OK (0) for IPv4,
 * TC_ACT_SHOT (2) otherwise.
 *
 * sock_skb: a socket filter sees the packet from its network header
 * (BPF_PROG_TEST_RUN pulls the Ethernet header, and zeroes it in the data
 * it reports back).  For an IPv4 packet:
 *   skb_res[10] = the first byte via skb_load_bytes(skb, 0, ...) (0x45)
 *   skb_res[11] = LD_ABS half at 2 (total length), [12] = LD_ABS byte at 9
 *                 (protocol), [13] = LD_ABS word at 12 (source address,
 *                 host order), [14] = LD_IND word at ihl*4 + 0 (the first
 *                 4 bytes of L4: ports for TCP/UDP)
 * Returns skb->len for TCP (keep), 20 for UDP (truncate), 0 otherwise.
 *
 * sock_ldabs_oob stores skb_res[15] = 1, then does an LD_ABS byte load at
 * offset 10000, beyond any test packet: the kernel ends the program there
 * with return value 0 (so nothing after it runs: no skb_res[15] = 2, no
 * return 77).
 */
#include "common.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} skb_res SEC(".maps");

/* Programs with LD_ABS may not have bpf-to-bpf calls, so this is inlined. */
static __always_inline void put(__u32 idx, __s64 v)
{
	bpf_map_update_elem(&skb_res, &idx, &v, BPF_ANY);
}

SEC("tc")
int tc_skb(struct __sk_buff *skb)
{
	__u16 ethertype = 0;
	__u8 buf[4], hdr[20];
	__u64 sum = 0;
	__u32 len = skb->len;
	int ipv4;

	put(0, bpf_skb_load_bytes(skb, 12, &ethertype, 2));
	put(1, ethertype);
	put(2, bpf_skb_load_bytes(skb, len - 2, buf, 4));
	put(3, len);
	put(4, skb->protocol);
	put(5, skb->mark);
	put(6, skb->priority);
	put(7, skb->cb[0]);
	put(8, skb->ifindex);
	ipv4 = ethertype == bpf_htons(ETH_P_IP);
	if (ipv4 && bpf_skb_load_bytes(skb, 14, hdr, 20) == 0) {
		for (int i = 0; i < 20; i++)
			sum += hdr[i];
	}
	put(9, sum);
	skb->mark = skb->mark + len;
	skb->priority = 9;
	skb->cb[1] = 0xc0ffee;
	return ipv4 ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("socket")
int sock_skb(struct __sk_buff *skb)
{
	__u8 first = 0;
	__u64 proto, ihl;

	put(10, bpf_skb_load_bytes(skb, 0, &first, 1) == 0 ? first : -1);
	if ((first >> 4) != 4)
		return 0;
	put(11, load_half(skb, 2));
	proto = load_byte(skb, 9);
	put(12, proto);
	put(13, load_word(skb, 12));
	ihl = (load_byte(skb, 0) & 0xf) * 4;
	put(14, load_word(skb, ihl));
	if (proto == IPPROTO_TCP)
		return skb->len;
	if (proto == IPPROTO_UDP)
		return 20;
	return 0;
}

SEC("socket")
int sock_ldabs_oob(struct __sk_buff *skb)
{
	put(15, 1);
	if (load_byte(skb, 10000) == 0x42)
		put(15, 2);
	put(15, 2);
	return 77;
}

char LICENSE[] SEC("license") = "GPL";
