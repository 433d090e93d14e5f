/* Shared definitions for waggle's C test programs.
 *
 * Every program is built with
 *   clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/$(uname -m)-linux-gnu -c X.c -o X.o
 * and must behave identically in the Linux kernel (BPF_PROG_TEST_RUN) and in
 * waggle: results that depend on time, randomness, the current task or CPU
 * are reduced to properties before they are stored.
 */
#ifndef WAGGLE_TEST_COMMON_H
#define WAGGLE_TEST_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define NOINLINE static __attribute__((noinline))

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
/* An IPv4 address a.b.c.d as a __u32 in network byte order. */
#define IP4(a, b, c, d) bpf_htonl(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#endif
#ifndef ETH_P_ARP
#define ETH_P_ARP 0x0806
/* An IPv4 address a.b.c.d as a __u32 in network byte order. */
#define IP4(a, b, c, d) bpf_htonl(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#endif

/* An 802.1Q tag as it follows the Ethernet addresses. */
struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* An IPv4 address a.b.c.d as a __u32 in network byte order. */
#define IP4(a, b, c, d) bpf_htonl(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#endif
