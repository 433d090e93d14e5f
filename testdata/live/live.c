/* live: XDP programs for waggle's live path tests (packet/live_test.go,
 * cmd/waggle/attach_test.go) and for the metrics and --watch renderers.
 *
 * Build: make (clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/$(uname -m)-linux-gnu).
 *
 * xdp_reflect: an IPv4 UDP packet goes back where it came from: Ethernet
 *   addresses, IPv4 addresses and UDP ports swapped (the checksums stay
 *   valid), XDP_TX; reflected[0] counts them.  Everything else: XDP_PASS.
 *
 * xdp_redirect_port: an IPv4 UDP packet is redirected with
 *   bpf_redirect_map(&tx_port, 0, XDP_DROP): out of the interface whose
 *   ifindex user space put in the devmap's slot 0, or dropped when the slot
 *   is empty.  Everything else: XDP_PASS.
 *
 * xdp_observe: counts IPv4 flows in flows (HASH, key struct flow_key,
 *   value struct flow_stats), frame lengths in len_hist (ARRAY of 64 u64
 *   log2 slots, bcc's convention: slot 0 holds 0 and 1, slot n holds
 *   [2^n, 2^(n+1))), sends a struct event per IPv4 frame to the events
 *   ring buffer (struct event is in the BTF through fill_event's
 *   signature), and counts runs in the global `runs` (.bss).  XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
	__u8 protocol;
	__u8 pad;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct event {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u32 len;
	char tag[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} reflected SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} len_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

__u64 runs = 0;

/* udp returns the UDP header of an IPv4 UDP frame, or NULL. */
static __always_inline struct udphdr *udp(void *data, void *data_end, struct iphdr **ipp)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *uh;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return NULL;
	uh = (void *)(ip + 1);
	if ((void *)(uh + 1) > data_end)
		return NULL;
	*ipp = ip;
	return uh;
}

SEC("xdp")
int xdp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *uh = udp(data, data_end, &ip);
	unsigned char mac[ETH_ALEN];
	__u32 addr, zero = 0;
	__u16 port;
	__u64 *cnt;

	if (!uh)
		return XDP_PASS;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	port = uh->source;
	uh->source = uh->dest;
	uh->dest = port;
	cnt = bpf_map_lookup_elem(&reflected, &zero);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return XDP_TX;
}

SEC("xdp")
int xdp_redirect_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip;

	if (!udp(data, data_end, &ip))
		return XDP_PASS;
	return bpf_redirect_map(&tx_port, 0, XDP_DROP);
}

/* fill_event is a function of its own so that struct event, which no global
 * or map has as its type (a ring buffer's records have no type in BTF), is
 * in the object's BTF: waggle --watch decodes the records with it. */
static __attribute__((noinline)) void fill_event(struct event *e, __u32 saddr, __u32 daddr, __u16 dport, __u32 len)
{
	e->saddr = saddr;
	e->daddr = daddr;
	e->sport = 0;
	e->dport = dport;
	e->len = len;
	__builtin_memcpy(e->tag, "ipv4\0\0\0", 8);
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	/* bcc's log2l: the index of the highest bit set; 0 and 1 both give 0. */
	for (int i = 0; i < 63; i++) {
		if (v >> 1 == 0)
			break;
		v >>= 1;
		slot++;
	}
	return slot;
}

SEC("xdp")
int xdp_observe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u64 len = data_end - data;
	__u32 slot = log2_slot(len);
	struct flow_key key = {};
	struct flow_stats *st, init = {};
	struct event *e;
	__u64 *bucket;

	__sync_fetch_and_add(&runs, 1);
	bucket = bpf_map_lookup_elem(&len_hist, &slot);
	if (bucket)
		__sync_fetch_and_add(bucket, 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	key.saddr = ip->saddr;
	key.daddr = ip->daddr;
	key.protocol = ip->protocol;
	if (ip->ihl == 5 && ip->protocol == IPPROTO_UDP) {
		struct udphdr *uh = (void *)(ip + 1);

		if ((void *)(uh + 1) <= data_end)
			key.dport = bpf_ntohs(uh->dest);
	}
	st = bpf_map_lookup_elem(&flows, &key);
	if (!st) {
		bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&flows, &key);
	}
	if (st) {
		__sync_fetch_and_add(&st->packets, 1);
		__sync_fetch_and_add(&st->bytes, len);
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return XDP_PASS;
	fill_event(e, key.saddr, key.daddr, key.dport, len);
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
