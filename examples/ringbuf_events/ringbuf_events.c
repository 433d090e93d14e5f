/* ringbuf_events: an XDP program that sends one event per packet to user
 * space through a ring buffer.
 *
 * Map: events, a RINGBUF of 16 KiB.  Each record is a 20-byte struct event:
 *   __u32 saddr, daddr   IPv4 addresses, network byte order (0 if not IPv4)
 *   __u16 sport, dport   TCP/UDP ports, host byte order (0 otherwise)
 *   __u8  protocol       IPv4 protocol (0 if not IPv4)
 *   __u8  pad[3]         zero
 *   __u32 len            frame length in bytes
 * When the ring is full the event is lost and the frame still passes.
 * Returns XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct event {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 protocol;
	__u8 pad[3];
	__u32 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16384);
} events SEC(".maps");

/* fill_event is a function of its own so that struct event, the type of the
 * ring buffer's records, is in the object's BTF (a ring buffer has no value
 * type, and a type that only local variables use is left out): waggle run
 * --dump-maps and --watch decode the records with it. */
static __attribute__((noinline)) void fill_event(struct event *e, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	__builtin_memset(e, 0, sizeof(*e));
	e->len = data_end - data;

	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP)) {
		void *l4 = (void *)ip + ip->ihl * 4;

		e->saddr = ip->saddr;
		e->daddr = ip->daddr;
		e->protocol = ip->protocol;
		if (ip->protocol == IPPROTO_TCP) {
			struct tcphdr *tcp = l4;

			if ((void *)(tcp + 1) <= data_end) {
				e->sport = bpf_ntohs(tcp->source);
				e->dport = bpf_ntohs(tcp->dest);
			}
		} else if (ip->protocol == IPPROTO_UDP) {
			struct udphdr *udp = l4;

			if ((void *)(udp + 1) <= data_end) {
				e->sport = bpf_ntohs(udp->source);
				e->dport = bpf_ntohs(udp->dest);
			}
		}
	}
}

SEC("xdp")
int ringbuf_events(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return XDP_PASS;
	fill_event(e, data, data_end);
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
