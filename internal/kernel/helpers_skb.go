package kernel

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
)

// The helpers of tc programs that read and change the skb (Linux 6.18's
// net/core/filter.c), checked against BPF_PROG_TEST_RUN. A test run's skb
// is linear, not cloned, with ip_summed CHECKSUM_NONE (it can only become
// CHECKSUM_UNNECESSARY, through bpf_csum_level), so the kernel's
// CHECKSUM_COMPLETE and CHECKSUM_PARTIAL paths never run; waggle has the
// same skb.

// skbDefs are the definitions of these helpers, appended to defs.
var skbDefs = []def{
	{
		id: asm.FnSkbStoreBytes, types: tTC, fn: skbStoreBytes, // 9 bpf_skb_store_bytes
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgMem, helper.ArgSize, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "copies len bytes to skb->data + offset; flags other than BPF_F_RECOMPUTE_CSUM (a no-op on the test run's CHECKSUM_NONE skb) and BPF_F_INVALIDATE_HASH (clears skb->hash) → -EINVAL; offset > INT_MAX or past the packet → -EFAULT",
	},
	{
		id: asm.FnL3CsumReplace, types: tTC, fn: l3CsumReplace, // 10 bpf_l3_csum_replace
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "updates the 16-bit checksum at offset: size (flags & 0xf) 0 → adds the diff in to (from must be 0), 2 → csum_replace2, 4 → csum_replace4; other flags or sizes → -EINVAL; odd offset, > 0xffff or past the packet → -EFAULT",
	},
	{
		id: asm.FnL4CsumReplace, types: tTC, fn: l4CsumReplace, // 11 bpf_l4_csum_replace
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "as 10 with inet_proto_csum_replace* (size 2 as a 4-byte replacement of the zero-extended values), BPF_F_PSEUDO_HDR and BPF_F_IPV6 (no effect outside CHECKSUM_COMPLETE/PARTIAL), BPF_F_MARK_MANGLED_0 (a zero checksum stays 0 unless BPF_F_MARK_ENFORCE; a result of 0 becomes 0xffff)",
	},
	{
		id: asm.FnGetCgroupClassid, types: tAll, fn: getCgroupClassid, // 17 bpf_get_cgroup_classid
		proto: helper.Proto{Args: []helper.ArgKind{}, Ret: helper.RetInteger},
		doc:   "0: the net_cls class of the current task, which waggle's tasks do not have (tc programs pass the skb, other types nothing: the kernel's bpf_get_cgroup_classid_curr)",
		diff:  "always 0 (net_cls is a cgroup v1 controller); the verifier does not check that a tc program's r1 is its context",
	},
	{
		id: asm.FnSkbGetTunnelKey, types: tTC, fn: skbGetTunnelKey, // 20 bpf_skb_get_tunnel_key
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgUninitMem, helper.ArgSize, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "the skb's tunnel metadata (`RunOptions.Tunnel`, or what skb_set_tunnel_key set) as struct bpf_tunnel_key (44 bytes, or the old 8-, 22-, 24- and 28-byte layouts); none or flags other than BPF_F_TUNINFO_IPV6/BPF_F_TUNINFO_FLAGS → -EINVAL, wrong family → -EPROTO, other sizes → -EINVAL; errors zero the destination",
	},
	{
		id: asm.FnSkbSetTunnelKey, types: tTC, fn: skbSetTunnelKey, // 21 bpf_skb_set_tunnel_key
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMem, helper.ArgSize, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "sets the tunnel metadata for transmission (remote → destination, local → source, as the kernel's ip_tunnel_info); flags as the kernel's (CSUM unless BPF_F_ZERO_CSUM_TX, KEY unless BPF_F_NO_TUNNEL_KEY, DONT_FRAGMENT, SEQ, NOCACHE); a label without BPF_F_TUNINFO_IPV6 or tunnel_ext ≠ 0 → -EINVAL. `Program.Run` reports it in `RunResult.Tunnel`",
	},
	{
		id: asm.FnSkbGetTunnelOpt, types: tTC, fn: skbGetTunnelOpt, // 29 bpf_skb_get_tunnel_opt
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgUninitMem, helper.ArgSize}, Ret: helper.RetInteger},
		doc:   "copies the tunnel options, returns their length; none → -ENOENT, size too small → -ENOMEM (destination zeroed)",
	},
	{
		id: asm.FnSkbSetTunnelOpt, types: tTC, fn: skbSetTunnelOpt, // 30 bpf_skb_set_tunnel_opt
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMem, helper.ArgSize}, Ret: helper.RetInteger},
		doc:   "sets the options of the metadata skb_set_tunnel_key set in this run (else -EINVAL); size not a multiple of 4 → -EINVAL, > 255 → -ENOMEM",
	},
	{
		id: asm.FnSkbChangeProto, types: tTC, fn: skbChangeProto, // 31 bpf_skb_change_proto
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "IPv4 → IPv6 inserts 20 zero bytes after the MAC header, IPv6 → IPv4 removes 20 (-ENOMEM if the packet is shorter); sets skb->protocol and clears the hash; other pairs → -ENOTSUPP (524), flags → -EINVAL",
	},
	{
		id: asm.FnSkbChangeType, types: tTC, fn: skbChangeType, // 32 bpf_skb_change_type
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "sets pkt_type when the old and the new are ≤ PACKET_OTHERHOST (3), else -EINVAL",
	},
	{
		id: asm.FnGetHashRecalc, types: tTC, fn: getHashRecalc, // 34 bpf_get_hash_recalc
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "skb->hash, computed when not set: a keyed hash of the flow (addresses and ports in a canonical order, protocol), never 0, kept in skb->hash",
		diff:  "the kernel's siphash key is random per boot and its flow dissector's keys are not reproducible: the value differs, its properties (non-zero, the same for a flow and both its directions, in skb->hash) do not",
	},
	{
		id: asm.FnSkbChangeTail, types: tTC, fn: skbChangeTail, // 38 bpf_skb_change_tail
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "grows (zeroed) or trims the packet to new_len; flags, new_len > 16064 (SKB_MAX_ALLOC) or below the network header's offset → -EINVAL; after skb_adjust_room encapsulated → -ENOTSUPP; resets GSO (gso_segs 0)",
	},
	{
		id: asm.FnSkbPullData, types: tTC, fn: skbPullData, // 39 bpf_skb_pull_data
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "the skb is linear: 0 when len (0: the whole packet) ≤ skb->len, else -ENOMEM",
	},
	{
		id: asm.FnSkbChangeHead, types: tTC, fn: skbChangeHead, // 43 bpf_skb_change_head
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "pushes head_room zero bytes before skb->data (the new MAC header); flags, head_room ≥ 2³¹ or a length above 16064 (without GSO) → -EINVAL; an skb buffer above 4 MiB (KMALLOC_MAX_SIZE; with GSO, or pushes repeated by the helpers that insert headers) → -ENOMEM",
	},
	{
		id: asm.FnSetHashInvalid, types: tTC, fn: setHashInvalid, // 41 bpf_set_hash_invalid
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "clears skb->hash",
	},
	{
		id: asm.FnSkbAdjustRoom, types: tTC, fn: skbAdjustRoom, // 50 bpf_skb_adjust_room
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "inserts (zeroed) or removes |len_diff| ≤ 0xfff bytes after the MAC header (BPF_ADJ_ROOM_MAC) or after the base IPv4/IPv6 header (BPF_ADJ_ROOM_NET), with the kernel's checks in its order (unknown flags -EINVAL, size -EFAULT, not IP or unknown mode -ENOTSUPP, lengths -ENOTSUPP, GSO -ENOTSUPP, encap flag conflicts -EINVAL, twice encapsulated -EALREADY); ENCAP_L3 flags set skb->protocol and the network/transport headers, DECAP_L3 flags the protocol; resets CHECKSUM_UNNECESSARY unless BPF_F_ADJ_ROOM_NO_CSUM_RESET",
	},
	{
		id: asm.FnGetSocketCookie, types: tTC | tSock | tCgroupSocks, fn: getSocketCookie, // 46 bpf_get_socket_cookie
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "the cookie of the run's socket: a non-zero number, new for each run, the same within a run (the kernel's test run gives each run's skb a new socket)",
		diff:  "the kernel's cookies count the sockets of the whole system",
	},
	{
		id: asm.FnSetHash, types: tTC, fn: setHash, // 48 bpf_set_hash
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "sets skb->hash (a software L4 hash, which bpf_get_hash_recalc returns as it is)",
	},
	{
		id: asm.FnSkbVlanPush, types: tTC, fn: skbVlanPush, // 18 bpf_skb_vlan_push
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "sets the accelerated VLAN tag (vlan_present, vlan_tci, vlan_proto: 802.1Q unless 802.1ad is asked); a tag already there is first inserted into the packet",
	},
	{
		id: asm.FnSkbVlanPop, types: tTC, fn: skbVlanPop, // 19 bpf_skb_vlan_pop
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "clears the accelerated tag, or removes the packet's outer 802.1Q/802.1ad header; the next header of the packet, if a VLAN header, becomes the accelerated tag",
	},
	{
		id: asm.FnSkbLoadBytesRelative, types: tTC | tSock | tCgSKB, fn: skbLoadBytesRelative, // 68 bpf_skb_load_bytes_relative
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgUninitMem, helper.ArgSize, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "copies from the MAC (BPF_HDR_START_MAC) or network header (BPF_HDR_START_NET) + offset; offset > 0xffff, another start or past the packet → -EFAULT, destination zeroed",
	},
	{
		id: asm.FnSkbCgroupId, types: tTC | tCgSKB, fn: skbCgroupID, // 79 bpf_skb_cgroup_id
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "the cgroup v2 ID of the skb's socket: as in the kernel's test run, whose socket belongs to the process that runs it, the ID of waggle's cgroup (1 for the root, else its directory's inode where cgroup2 is mounted; 0 if it cannot be found)",
	},
	{
		id: asm.FnGetNetnsCookie, types: tTC | tSock | tCgroupSocks, fn: getNetnsCookie, // 122 bpf_get_netns_cookie
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtxOrNull}, Ret: helper.RetInteger},
		doc:   "the cookie of waggle's network namespace (SO_NETNS_COOKIE), as the test run's socket is in the caller's namespace; 0 where the kernel cannot tell it",
	},
	{
		id: asm.FnRedirectNeigh, types: tTC, fn: redirectNeigh, // 152 bpf_redirect_neigh
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgAnything, helper.ArgMemOrNull, helper.ArgSizeOrZero, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "TC_ACT_REDIRECT with the target in `Run.Redirect()`; flags, or params shorter than struct bpf_redir_neigh (20 bytes), → TC_ACT_SHOT",
		diff:  "nothing is sent and no neighbour resolved",
	},
	{
		id: asm.FnRedirectPeer, types: tTC, fn: redirectPeer, // 155 bpf_redirect_peer
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "TC_ACT_REDIRECT with the target in `Run.Redirect()`; flags → TC_ACT_SHOT",
		diff:  "nothing is sent",
	},
	{
		id: asm.FnCsumLevel, types: tTC, fn: csumLevel, // 135 bpf_csum_level
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "BPF_CSUM_LEVEL_INC/DEC/RESET move ip_summed between CHECKSUM_NONE and CHECKSUM_UNNECESSARY with csum_level 0–3; QUERY → the level, or -EACCES when not CHECKSUM_UNNECESSARY; others → -EINVAL",
	},
	{
		id: asm.FnCloneRedirect, types: tTC, fn: cloneRedirect, // 13 bpf_clone_redirect
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetInteger, ChangesPacket: true},
		doc:   "0: a copy of the packet is sent to ifindex (egress, or ingress with BPF_F_INGRESS); other flags, or an ifindex that is not a device of the run's `RunOptions.FIB` (without one: not the loopback device, 1) → -EINVAL; a packet without a MAC header or empty → -ERANGE. The copies are counted in `Run.Clones()`",
		diff:  "nothing is sent",
	},
	fibDef,
	{
		id: asm.FnCsumUpdate, types: tTC, fn: csumUpdate, // 40 bpf_csum_update
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "-ENOTSUPP (524): the skb is never CHECKSUM_COMPLETE",
	},
	{
		id: asm.FnGetRouteRealm, types: tTC, fn: getRouteRealm, // 24 bpf_get_route_realm
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "0: the skb has no route (dst) with a realm",
	},
	{
		id: asm.FnGetSocketUid, types: tTC | tSock | tCgSKB, fn: getSocketUID, // 47 bpf_get_socket_uid
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "0: the uid of the run's socket, which the kernel's test run creates with uid 0",
	},
	{
		id: asm.FnSkbCgroupClassid, types: tTC, fn: getCgroupClassid, // 151 bpf_skb_cgroup_classid
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "0: the net_cls class of the skb's socket",
		diff:  "as 17",
	},
	{
		id: asm.FnSkbAncestorCgroupId, types: tTC | tCgSKB, fn: skbAncestorCgroupID, // 83 bpf_skb_ancestor_cgroup_id
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "the cgroup v2 ID of the ancestor at ancestor_level (0: the root, 1) of the skb's socket's cgroup, waggle's as for 79; 0 past its level",
	},
	{
		id: asm.FnSkbEcnSetCe, types: tTC | tCgSKB, fn: skbEcnSetCe, // 97 bpf_skb_ecn_set_ce
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "marks ECT packets Congestion Experienced in the IPv4 (with the header checksum) or IPv6 header at the network header, as INET_ECN_set_ce; 1 when set (or already CE for IPv4), else 0; not IP (VLAN tags skipped) or too short → 0",
	},
	{
		id: asm.FnXdpGetBuffLen, types: tXDP, fn: xdpGetBuffLen, // 188 bpf_xdp_get_buff_len
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger},
		doc:   "the packet's length: the linear part and the frags",
		diff:  "not for tracing programs (the kernel's BTF variant)",
	},
	{
		id: asm.FnXdpLoadBytes, types: tXDP, fn: xdpLoadBytes, // 189 bpf_xdp_load_bytes
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgUninitMem, helper.ArgSize}, Ret: helper.RetInteger},
		doc:   "copies len bytes at offset of the packet, across the frags; offset or len > 0xffff → -EFAULT, past the packet → -EINVAL (the destination left as it was)",
	},
	{
		id: asm.FnXdpStoreBytes, types: tXDP, fn: xdpStoreBytes, // 190 bpf_xdp_store_bytes
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything, helper.ArgMem, helper.ArgSize}, Ret: helper.RetInteger},
		doc:   "as 189, into the packet",
	},
	{
		id: asm.FnSkLookupTcp, types: tXDP | tTC | tCgSKB | tSockAddr, fn: skLookup, // 84 bpf_sk_lookup_tcp
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMem, helper.ArgSizeOrZero, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetSockOrNull},
		doc:   "NULL: waggle has no sockets for a lookup to find. The verifier tracks the result as the kernel's (a socket or NULL, a reference that bpf_sk_release must release, struct bpf_sock's fields readable)",
		diff:  "the kernel finds the sockets of its network namespace; waggle none",
	},
	{
		id: asm.FnSkLookupUdp, types: tXDP | tTC | tCgSKB | tSockAddr, fn: skLookup, // 85 bpf_sk_lookup_udp
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMem, helper.ArgSizeOrZero, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetSockOrNull},
		doc:   "as 84",
		diff:  "as 84",
	},
	{
		id: asm.FnSkRelease, types: tXDP | tTC | tCgSKB | tSockAddr, fn: skRelease, // 86 bpf_sk_release
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgSockRelease}, Ret: helper.RetInteger},
		doc:   "0; releases the reference of a socket a lookup returned (the verifier refuses a program that leaks one)",
	},
	{
		id: asm.FnSkcLookupTcp, types: tXDP | tTC | tCgSKB | tSockAddr, fn: skLookup, // 99 bpf_skc_lookup_tcp
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgMem, helper.ArgSizeOrZero, helper.ArgAnything, helper.ArgAnything}, Ret: helper.RetSockCommonOrNull},
		doc:   "as 84, the result a sock_common (only the common fields readable)",
		diff:  "as 84",
	},
	{
		id: asm.FnSkAssign, types: tTC, fn: skAssign, // 124 bpf_sk_assign
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgSock, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "flags ≠ 0 → -EINVAL, else -EOPNOTSUPP as for a test run's skb (not at tc ingress); unreachable with a socket, since waggle's lookups find none",
	},
}

// Flags and constants of the skb helpers (include/uapi/linux/bpf.h).
const (
	bpfFRecomputeCsum  = 1 << 0
	bpfFInvalidateHash = 1 << 1
	bpfFHdrFieldMask   = 0xf
	bpfFPseudoHdr      = 1 << 4
	bpfFMarkMangled0   = 1 << 5
	bpfFMarkEnforce    = 1 << 6
	bpfFIPv6           = 1 << 7
	csumMangled0       = 0xffff

	adjRoomFixedGSO     = 1 << 0
	adjRoomEncapL3IPv4  = 1 << 1
	adjRoomEncapL3IPv6  = 1 << 2
	adjRoomEncapL4GRE   = 1 << 3
	adjRoomEncapL4UDP   = 1 << 4
	adjRoomNoCsumReset  = 1 << 5
	adjRoomEncapL2Eth   = 1 << 6
	adjRoomDecapL3IPv4  = 1 << 7
	adjRoomDecapL3IPv6  = 1 << 8
	adjRoomEncapL2Shift = 56
	adjRoomEncapL3Mask  = adjRoomEncapL3IPv4 | adjRoomEncapL3IPv6
	adjRoomDecapL3Mask  = adjRoomDecapL3IPv4 | adjRoomDecapL3IPv6
	adjRoomMask         = adjRoomFixedGSO | adjRoomEncapL3Mask | adjRoomEncapL4GRE | adjRoomEncapL4UDP |
		adjRoomEncapL2Eth | 0xff<<adjRoomEncapL2Shift | adjRoomDecapL3Mask
	adjRoomNet = 0
	adjRoomMac = 1

	// skbMaxAlloc is SKB_MAX_ALLOC, the kernel's BPF_SKB_MAX_LEN:
	// 4 pages minus the shared info.
	skbMaxAlloc = 4*pageSize - sharedInfoSize

	csumLevelQuery = 0
	csumLevelInc   = 1
	csumLevelDec   = 2
	csumLevelReset = 3
	maxCsumLevel   = 3 // SKB_MAX_CSUM_LEVEL

	// ENOTSUPP is the kernel's internal 524, which these helpers return.
	enotsupp = errno.ENOTSUPP

	ethP8021Q  = 0x8100
	ethP8021AD = 0x88a8
	ethPIP     = 0x0800
	ethPIPv6   = 0x86dd
	vlanHLen   = 4
)

// be16 is the value a native 16-bit load gives of v in network byte order,
// as skb->protocol and __be16 arguments hold it.
func be16(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// tcRun returns the skb run of a tc program's call.
func tcRun(c *helper.Call) (*Run, *skbState, error) {
	r, err := skbRun(c)
	if err != nil {
		return nil, nil, err
	}
	return r, &r.skb, nil
}

// clearHash is skb_clear_hash.
func (s *skbState) clearHash() { s.hash, s.swHash, s.l4Hash = 0, false, false }

// resetCsumUnnecessary is __skb_reset_checksum_unnecessary.
func (s *skbState) resetCsumUnnecessary() { s.csumUnnecessary, s.csumLevel = false, 0 }

// isGSO is skb_is_gso: the test run's skb is GSO when ctx_in gave a
// gso_size, with gso_type 0 (neither TCP nor UDP GSO).
func (s *skbState) isGSO() bool { return s.gsoSize != 0 }

// writable is skb_ensure_writable on a linear, uncloned skb: n bytes from
// skb->data must be in the packet.
func (s *skbState) writable(n uint64) bool { return n <= uint64(s.len()) }

func skbStoreBytes(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	off, n, flags := uint64(uint32(c.Args[1])), uint64(uint32(c.Args[3])), c.Args[4]
	from, err := c.Read(c.Args[2], n)
	if err != nil {
		return 0, err
	}
	if flags&^(bpfFRecomputeCsum|bpfFInvalidateHash) != 0 {
		return neg(errno.EINVAL), nil
	}
	if off > 1<<31-1 || !s.writable(off+n) {
		r.skbMoved()
		return neg(errno.EFAULT), nil
	}
	copy(s.data()[off:], from)
	if flags&bpfFInvalidateHash != 0 {
		s.clearHash()
	}
	r.skbMoved()
	return 0, nil
}

// One's complement arithmetic, as include/net/checksum.h.
func csumAdd(a, b uint32) uint32 { return add32(a, b) }
func csumSub(a, b uint32) uint32 { return add32(a, ^b) }
func csumFold(sum uint32) uint16 {
	sum = sum&0xffff + sum>>16
	sum = sum&0xffff + sum>>16
	return ^uint16(sum)
}
func csum16Add(c, a uint16) uint16 {
	r := c + a
	if r < a {
		r++
	}
	return r
}

// csumReplace4, csumReplace2 and csumReplaceByDiff update the checksum
// field sum (as loaded from the packet) for a change of from to to.
func csumReplace4(sum uint16, from, to uint32) uint16 {
	return csumFold(csumAdd(csumSub(^uint32(sum), from), to))
}
func csumReplace2(sum, from, to uint16) uint16 {
	return ^csum16Add(csum16Add(^sum, ^from), to)
}
func csumReplaceByDiff(sum uint16, diff uint32) uint16 {
	return csumFold(csumAdd(diff, ^uint32(sum)))
}

// csumField checks a checksum helper's offset and returns the field.
func csumField(s *skbState, off uint32) ([]byte, bool) {
	if off > 0xffff || off&1 != 0 || !s.writable(uint64(off)+2) {
		return nil, false
	}
	return s.data()[off : off+2], true
}

func l3CsumReplace(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	from, to, flags := c.Args[2], c.Args[3], c.Args[4]
	if flags&^bpfFHdrFieldMask != 0 {
		return neg(errno.EINVAL), nil
	}
	p, ok := csumField(s, uint32(c.Args[1]))
	if !ok {
		return neg(errno.EFAULT), nil
	}
	sum := binary.NativeEndian.Uint16(p)
	switch flags & bpfFHdrFieldMask {
	case 0:
		if from != 0 {
			return neg(errno.EINVAL), nil
		}
		sum = csumReplaceByDiff(sum, uint32(to))
	case 2:
		sum = csumReplace2(sum, uint16(from), uint16(to))
	case 4:
		sum = csumReplace4(sum, uint32(from), uint32(to))
	default:
		return neg(errno.EINVAL), nil
	}
	binary.NativeEndian.PutUint16(p, sum)
	return 0, nil
}

func l4CsumReplace(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	from, to, flags := c.Args[2], c.Args[3], c.Args[4]
	mmzero, mforce := flags&bpfFMarkMangled0 != 0, flags&bpfFMarkEnforce != 0
	if flags&^(bpfFMarkMangled0|bpfFMarkEnforce|bpfFPseudoHdr|bpfFHdrFieldMask|bpfFIPv6) != 0 {
		return neg(errno.EINVAL), nil
	}
	p, ok := csumField(s, uint32(c.Args[1]))
	if !ok {
		return neg(errno.EFAULT), nil
	}
	sum := binary.NativeEndian.Uint16(p)
	if mmzero && !mforce && sum == 0 {
		return 0, nil
	}
	// ip_summed is never CHECKSUM_PARTIAL: inet_proto_csum_replace*
	// replace the checksum as csum_replace4 and csum_replace_by_diff do,
	// and the pseudo-header flag changes only skb->csum, which a
	// CHECKSUM_NONE skb does not use.
	switch flags & bpfFHdrFieldMask {
	case 0:
		if from != 0 {
			return neg(errno.EINVAL), nil
		}
		sum = csumReplaceByDiff(sum, uint32(to))
	case 2:
		sum = csumReplace4(sum, uint32(uint16(from)), uint32(uint16(to)))
	case 4:
		sum = csumReplace4(sum, uint32(from), uint32(to))
	default:
		return neg(errno.EINVAL), nil
	}
	if mmzero && sum == 0 {
		sum = csumMangled0
	}
	binary.NativeEndian.PutUint16(p, sum)
	return 0, nil
}

func csumLevel(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	switch c.Args[1] {
	case csumLevelInc:
		if s.csumUnnecessary {
			if s.csumLevel < maxCsumLevel {
				s.csumLevel++
			}
		} else {
			s.csumUnnecessary, s.csumLevel = true, 0
		}
	case csumLevelDec:
		if s.csumUnnecessary {
			if s.csumLevel == 0 {
				s.csumUnnecessary = false
			} else {
				s.csumLevel--
			}
		}
	case csumLevelReset:
		s.resetCsumUnnecessary()
	case csumLevelQuery:
		if s.csumUnnecessary {
			return uint64(s.csumLevel), nil
		}
		return neg(errno.EACCES), nil
	default:
		return neg(errno.EINVAL), nil
	}
	return 0, nil
}

func skbPullData(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	n := uint64(uint32(c.Args[1]))
	if n == 0 {
		n = uint64(s.len())
	}
	if !s.writable(n) {
		return neg(errno.ENOMEM), nil
	}
	return 0, nil
}

// minLen is __bpf_skb_min_len: the packet may not shrink into its
// network (or transport) header.
func (s *skbState) minLen() int {
	m := 0
	if off := s.network - s.head; off > 0 {
		m = off
	}
	if s.transport >= 0 {
		if off := s.transport - s.head; off > 0 {
			m = off
		}
	}
	return m
}

func skbChangeTail(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	newLen, flags := uint64(uint32(c.Args[1])), c.Args[2]
	if flags != 0 || newLen > skbMaxAlloc || newLen < uint64(s.minLen()) {
		return neg(errno.EINVAL), nil
	}
	if s.encap {
		return neg(enotsupp), nil
	}
	if old := uint64(s.len()); newLen > old {
		if !s.grow(0, int(newLen-old)) {
			return neg(errno.ENOMEM), nil
		}
		clear(s.buf[s.n : s.n+int(newLen-old)])
	}
	s.n = s.head + int(newLen)
	if s.isGSO() {
		s.gsoSize, s.gsoSegs = 0, 0 // skb_gso_reset
	}
	return 0, nil
}

func skbChangeHead(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	room, flags := uint32(c.Args[1]), c.Args[2]
	newLen := uint32(s.len()) + room
	if flags != 0 || int32(room) < 0 || (!s.isGSO() && newLen > skbMaxAlloc) || newLen < uint32(s.len()) {
		return neg(errno.EINVAL), nil
	}
	if !s.grow(int(room), 0) {
		return neg(errno.ENOMEM), nil
	}
	s.head -= int(room)
	clear(s.buf[s.head : s.head+int(room)])
	s.mac = s.head
	return 0, nil
}

// netHdrPush is bpf_skb_net_hdr_push: n zero bytes inserted at off from
// skb->data, the MAC and network headers moving with what precedes them;
// false when the skb cannot grow (-ENOMEM).
func (s *skbState) netHdrPush(off, n int) bool {
	transSame := s.transport == s.network
	if !s.grow(n, 0) {
		return false
	}
	s.head -= n
	copy(s.buf[s.head:], s.buf[s.head+n:s.head+n+off])
	clear(s.buf[s.head+off : s.head+off+n])
	s.mac -= n
	s.network -= n
	if transSame {
		s.transport = s.network
	}
	return true
}

// netHdrPop is bpf_skb_net_hdr_pop: n bytes removed at off from
// skb->data; false when the packet is shorter than off + n.
func (s *skbState) netHdrPop(off, n int) bool {
	transSame := s.transport == s.network
	if !s.writable(uint64(off) + uint64(n)) {
		return false
	}
	old := s.head
	s.head += n
	copy(s.buf[s.head:s.head+off], s.buf[old:old+off])
	s.mac += n
	s.network += n
	if transSame {
		s.transport = s.network
	}
	return true
}

// netBaseLen is bpf_skb_net_base_len.
func (s *skbState) netBaseLen() uint32 {
	switch uint16(s.protocol) {
	case be16(ethPIP):
		return 20
	case be16(ethPIPv6):
		return 40
	}
	return ^uint32(0)
}

func (s *skbState) setProtocol(p uint16) { s.protocol = uint32(be16(p)) }

func skbAdjustRoom(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	diff, mode, flags := int32(c.Args[1]), uint32(c.Args[2]), c.Args[3]
	abs := uint32(diff)
	if diff < 0 {
		abs = uint32(-diff)
	}
	shrink := diff < 0
	lenMin := s.netBaseLen()
	if flags&^(adjRoomMask|adjRoomNoCsumReset) != 0 {
		return neg(errno.EINVAL), nil
	}
	if abs > 0xfff {
		return neg(errno.EFAULT), nil
	}
	proto := uint16(s.protocol)
	if proto != be16(ethPIP) && proto != be16(ethPIPv6) {
		return neg(enotsupp), nil
	}
	off := uint32(s.network - s.mac)
	switch mode {
	case adjRoomNet:
		off += s.netBaseLen()
	case adjRoomMac:
	default:
		return neg(enotsupp), nil
	}
	if flags&adjRoomDecapL3Mask != 0 {
		if !shrink {
			return neg(errno.EINVAL), nil
		}
		switch flags & adjRoomDecapL3Mask {
		case adjRoomDecapL3IPv4:
			lenMin = 20
		case adjRoomDecapL3IPv6:
			lenMin = 40
		default:
			return neg(errno.EINVAL), nil
		}
	}
	lenCur := uint32(s.len() - (s.network - s.head))
	if (shrink && (abs >= lenCur || lenCur-abs < lenMin)) ||
		(!shrink && uint32(s.len())+abs > skbMaxAlloc && !s.isGSO()) {
		return neg(enotsupp), nil
	}
	var e errno.Errno
	if shrink {
		e = s.netShrink(int(off), int(abs), flags)
	} else {
		e = s.netGrow(int(off), int(abs), flags)
	}
	if e != 0 {
		return neg(e), nil
	}
	if flags&adjRoomNoCsumReset == 0 {
		s.resetCsumUnnecessary()
	}
	return 0, nil
}

// netShrink is bpf_skb_net_shrink.
func (s *skbState) netShrink(off, n int, flags uint64) errno.Errno {
	if flags&^(adjRoomFixedGSO|adjRoomDecapL3Mask|adjRoomNoCsumReset) != 0 {
		return errno.EINVAL
	}
	if s.isGSO() {
		return enotsupp // gso_type is neither TCP nor UDP_L4
	}
	if !s.netHdrPop(off, n) {
		return errno.ENOMEM
	}
	switch {
	case uint16(s.protocol) == be16(ethPIP) && flags&adjRoomDecapL3IPv6 != 0:
		s.setProtocol(ethPIPv6)
	case uint16(s.protocol) == be16(ethPIPv6) && flags&adjRoomDecapL3IPv4 != 0:
		s.setProtocol(ethPIP)
	}
	return 0
}

// netGrow is bpf_skb_net_grow.
func (s *skbState) netGrow(off, n int, flags uint64) errno.Errno {
	innerMacLen := int(flags >> adjRoomEncapL2Shift & 0xff)
	encap := flags&adjRoomEncapL3Mask != 0
	if s.isGSO() {
		return enotsupp
	}
	macLen := 0
	if encap {
		switch {
		case flags&adjRoomEncapL3IPv4 != 0 && flags&adjRoomEncapL3IPv6 != 0,
			flags&adjRoomEncapL4GRE != 0 && flags&adjRoomEncapL4UDP != 0,
			flags&adjRoomEncapL2Eth != 0 && innerMacLen < ethHLen:
			return errno.EINVAL
		case s.encap:
			return errno.EALREADY
		case innerMacLen > n:
			return errno.EINVAL
		}
		macLen = s.network - s.mac
	}
	if !s.netHdrPush(off, n) {
		return errno.ENOMEM
	}
	if !encap {
		return 0
	}
	s.encap = true
	s.network = s.head + macLen
	if flags&(adjRoomEncapL4GRE|adjRoomEncapL4UDP) != 0 {
		nh := 20
		if flags&adjRoomEncapL3IPv6 != 0 {
			nh = 40
		}
		s.transport = s.head + macLen + nh
	}
	switch {
	case uint16(s.protocol) == be16(ethPIP) && flags&adjRoomEncapL3IPv6 != 0:
		s.setProtocol(ethPIPv6)
	case uint16(s.protocol) == be16(ethPIPv6) && flags&adjRoomEncapL3IPv4 != 0:
		s.setProtocol(ethPIP)
	}
	return 0
}

func skbChangeProto(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	to, flags := uint16(c.Args[1]), c.Args[2]
	if flags != 0 {
		return neg(errno.EINVAL), nil
	}
	from := uint16(s.protocol)
	off := s.network - s.mac
	switch {
	case from == be16(ethPIP) && to == be16(ethPIPv6):
		if !s.netHdrPush(off, 20) {
			return neg(errno.ENOMEM), nil
		}
		s.setProtocol(ethPIPv6)
	case from == be16(ethPIPv6) && to == be16(ethPIP):
		if !s.netHdrPop(off, 20) {
			return neg(errno.ENOMEM), nil
		}
		s.setProtocol(ethPIP)
	default:
		return neg(enotsupp), nil
	}
	s.clearHash()
	return 0, nil
}

func skbChangeType(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	t := uint32(c.Args[1])
	if s.pktType > 3 || t > 3 { // skb_pkt_type_ok: up to PACKET_OTHERHOST
		return neg(errno.EINVAL), nil
	}
	s.pktType = t
	return 0, nil
}

// hashSeed keys the flow hash of bpf_get_hash_recalc, once per process as
// the kernel's hashrnd once per boot.
var hashSeed = maphash.MakeSeed()

// flowHash is __skb_get_hash: a keyed hash of the packet's flow, the
// addresses and ports in a canonical order so that both directions hash
// alike, never 0; l4 tells whether ports were found.
func (s *skbState) flowHash() (hash uint32, l4 bool) {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	pkt := s.buf[s.network:s.n]
	if s.network > s.n {
		pkt = nil
	}
	var src, dst []byte
	var proto byte
	var rest []byte
	switch uint16(s.protocol) {
	case be16(ethPIP):
		if len(pkt) >= 20 && pkt[0]>>4 == 4 {
			ihl := int(pkt[0]&0xf) * 4
			src, dst, proto = pkt[12:16], pkt[16:20], pkt[9]
			fragmented := binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0
			if ihl >= 20 && len(pkt) >= ihl && !fragmented {
				rest = pkt[ihl:]
			}
		}
	case be16(ethPIPv6):
		if len(pkt) >= 40 && pkt[0]>>4 == 6 {
			src, dst, proto = pkt[8:24], pkt[24:40], pkt[6]
			rest = pkt[40:]
		}
	}
	var ports []byte
	if (proto == ipprotoTCP || proto == ipprotoUDP || proto == ipprotoSCTP || proto == ipprotoUDPLite) && len(rest) >= 4 {
		ports = rest[:4]
	}
	var sp, dp []byte
	if ports != nil {
		sp, dp = ports[:2], ports[2:4]
	}
	if string(dst) < string(src) || (string(dst) == string(src) && string(dp) < string(sp)) {
		src, dst, sp, dp = dst, src, dp, sp
	}
	h.Write(src)
	h.Write(dst)
	h.Write(sp)
	h.Write(dp)
	h.WriteByte(proto)
	var p [2]byte
	binary.NativeEndian.PutUint16(p[:], uint16(s.protocol))
	h.Write(p[:])
	hash = uint32(h.Sum64())
	if hash == 0 {
		hash = 1
	}
	return hash, ports != nil
}

func getHashRecalc(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	if !s.l4Hash && !s.swHash {
		s.hash, s.l4Hash = s.flowHash()
		s.swHash = true
	}
	return uint64(s.hash), nil
}

func setHash(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	s.hash, s.swHash, s.l4Hash = uint32(c.Args[1]), true, true
	return 0, nil
}

func setHashInvalid(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	s.clearHash()
	return 0, nil
}

func skbVlanPush(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	proto, tci := uint16(c.Args[1]), uint16(c.Args[2])
	if proto != be16(ethP8021Q) && proto != be16(ethP8021AD) {
		proto = be16(ethP8021Q)
	}
	if s.vlanPresent {
		if s.head != s.mac {
			return neg(errno.EINVAL), nil
		}
		// __vlan_insert_tag: the tag goes between the MAC addresses and
		// the EtherType.
		if !s.grow(vlanHLen, 0) {
			return neg(errno.ENOMEM), nil
		}
		s.head -= vlanHLen
		d := s.buf[s.head:]
		copy(d[:12], d[vlanHLen:vlanHLen+12])
		s.mac -= vlanHLen
		binary.NativeEndian.PutUint16(d[12:], s.vlanProto)
		binary.BigEndian.PutUint16(d[14:], s.vlanTCI)
		s.protocol = uint32(s.vlanProto)
		s.network -= vlanHLen
	}
	s.vlanPresent, s.vlanProto, s.vlanTCI = true, proto, tci
	return 0, nil
}

// isVLAN is eth_type_vlan of skb->protocol.
func (s *skbState) isVLAN() bool {
	p := uint16(s.protocol)
	return p == be16(ethP8021Q) || p == be16(ethP8021AD)
}

// vlanPopHeader is __skb_vlan_pop: removes the packet's outer VLAN header
// and returns its TCI.
func (s *skbState) vlanPopHeader() (uint16, errno.Errno) {
	if s.head != s.mac {
		return 0, errno.EINVAL
	}
	if !s.writable(ethHLen + vlanHLen) {
		return 0, errno.ENOMEM
	}
	d := s.buf[s.head:s.n]
	tci := binary.BigEndian.Uint16(d[14:])
	encap := binary.BigEndian.Uint16(d[16:])
	switch {
	case encap >= 0x600:
		s.setProtocol(encap)
	case len(d) >= 20 && binary.BigEndian.Uint16(d[18:]) == 0xffff:
		s.setProtocol(0x0001) // ETH_P_802_3
	default:
		s.setProtocol(0x0004) // ETH_P_802_2
	}
	copy(d[vlanHLen:vlanHLen+12], d[:12])
	s.head += vlanHLen
	s.mac += vlanHLen
	if s.network-s.head < ethHLen {
		s.network = s.head + ethHLen
	}
	return tci, 0
}

func skbVlanPop(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	if s.vlanPresent {
		s.vlanPresent, s.vlanProto, s.vlanTCI = false, 0, 0
	} else {
		if !s.isVLAN() {
			return 0, nil
		}
		if _, e := s.vlanPopHeader(); e != 0 {
			return neg(e), nil
		}
	}
	if !s.isVLAN() {
		return 0, nil
	}
	proto := uint16(s.protocol)
	tci, e := s.vlanPopHeader()
	if e != 0 {
		return neg(e), nil
	}
	s.vlanPresent, s.vlanProto, s.vlanTCI = true, proto, tci
	return 0, nil
}

func skbLoadBytesRelative(c *helper.Call) (uint64, error) {
	r, err := skbRun(c)
	if err != nil {
		return 0, err
	}
	s := &r.skb
	off, n, start := uint64(uint32(c.Args[1])), uint64(uint32(c.Args[3])), uint32(c.Args[4])
	to, err := c.Write(c.Args[2], n)
	if err != nil {
		return 0, err
	}
	var base int
	switch start {
	case 0: // BPF_HDR_START_MAC
		base = s.mac
	case 1: // BPF_HDR_START_NET
		base = s.network
	default:
		clear(to)
		return neg(errno.EFAULT), nil
	}
	if off > 0xffff || uint64(base)+off+n > uint64(s.n) {
		clear(to)
		return neg(errno.EFAULT), nil
	}
	copy(to, s.buf[uint64(base)+off:])
	return 0, nil
}

func getCgroupClassid(c *helper.Call) (uint64, error) { return 0, nil }

// netnsCookie is the cookie of waggle's network namespace (0 where the
// host has none).
var netnsCookie = sync.OnceValue(hostNetnsCookie)

func getNetnsCookie(c *helper.Call) (uint64, error) {
	if _, err := runOf(c); err != nil {
		return 0, err
	}
	return netnsCookie(), nil
}

// socketCookies numbers the runs' sockets.
var socketCookies atomic.Uint64

func getSocketCookie(c *helper.Call) (uint64, error) {
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	if r.cookie == 0 {
		r.cookie = socketCookies.Add(1)
	}
	return r.cookie, nil
}

// cgroupPath is waggle's cgroup v2 path (from /proc/self/cgroup) and the
// mount point of the cgroup2 file system whose root is the root of that
// path (from /proc/self/mountinfo); "" for what cannot be found.
var cgroupPath = sync.OnceValues(func() (path, mount string) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			path = p
		}
	}
	if path == "" {
		return "", ""
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return path, ""
	}
	for _, line := range strings.Split(string(mi), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if ok && len(f) >= 5 && strings.HasPrefix(post, "cgroup2 ") && f[3] == "/" {
			return path, strings.TrimSuffix(f[4], "/")
		}
	}
	return path, ""
})

// cgroupAt is the ID of the cgroup at the first level components of
// waggle's cgroup path (level 0: the root, whose ID is always 1), 0 past
// the path's end or when it cannot be found.
func cgroupAt(level int) uint64 {
	path, mount := cgroupPath()
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	switch {
	case path == "" || level < 0 || level > len(parts):
		return 0
	case level == 0:
		return 1
	case mount == "":
		return 0
	}
	return cgroupInode(mount + "/" + strings.Join(parts[:level], "/"))
}

// cgroupID is the cgroup v2 ID of waggle's cgroup.
func cgroupID() uint64 {
	path, _ := cgroupPath()
	return cgroupAt(len(strings.FieldsFunc(path, func(r rune) bool { return r == '/' })))
}

// cgroupAncestor is the ID of the ancestor at level of waggle's cgroup.
func cgroupAncestor(level int32) uint64 { return cgroupAt(int(level)) }

func skbCgroupID(c *helper.Call) (uint64, error) {
	if _, err := skbRun(c); err != nil {
		return 0, err
	}
	return cgroupID(), nil
}

func redirectNeigh(c *helper.Call) (uint64, error) {
	r, err := skbRun(c)
	if err != nil {
		return 0, err
	}
	ifindex, plen, flags := uint32(c.Args[0]), uint32(c.Args[2]), c.Args[3]
	if flags != 0 || (plen != 0 && plen < 20) { // sizeof(struct bpf_redir_neigh)
		return tcActShot, nil
	}
	r.redirect, r.redirectSet = Redirect{Ifindex: ifindex, Flags: flags}, true
	return tcActRedirect, nil
}

func cloneRedirect(c *helper.Call) (uint64, error) {
	r, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	defer r.skbMoved()
	ifindex, flags := uint32(c.Args[1]), c.Args[2]
	if flags&^bpfFIngress != 0 {
		return neg(errno.EINVAL), nil
	}
	if (r.fib == nil && ifindex != 1) || (r.fib != nil && r.fib.device(ifindex) == nil) {
		return neg(errno.EINVAL), nil
	}
	if s.mac >= s.network || s.len() == 0 {
		return neg(errno.ERANGE), nil
	}
	r.clones++
	return 0, nil
}

// Clones is how many copies of the packet the run sent with
// bpf_clone_redirect.
func (r *Run) Clones() int { return r.clones }

// skLookup is bpf_sk_lookup_tcp/udp and bpf_skc_lookup_tcp: there are no
// sockets to find.
func skLookup(c *helper.Call) (uint64, error) {
	if _, err := runOf(c); err != nil {
		return 0, err
	}
	return 0, nil
}

func skRelease(c *helper.Call) (uint64, error) { return 0, nil }

func skAssign(c *helper.Call) (uint64, error) {
	if _, err := skbRun(c); err != nil {
		return 0, err
	}
	if c.Args[1] == 0 || c.Args[2] != 0 {
		return neg(errno.EINVAL), nil
	}
	return neg(errno.EOPNOTSUPP), nil
}

func csumUpdate(c *helper.Call) (uint64, error) {
	if _, err := skbRun(c); err != nil {
		return 0, err
	}
	return neg(enotsupp), nil
}

func getRouteRealm(c *helper.Call) (uint64, error) {
	if _, err := skbRun(c); err != nil {
		return 0, err
	}
	return 0, nil
}

func getSocketUID(c *helper.Call) (uint64, error) {
	if _, err := skbRun(c); err != nil {
		return 0, err
	}
	return 0, nil
}

func skbAncestorCgroupID(c *helper.Call) (uint64, error) {
	if _, err := skbRun(c); err != nil {
		return 0, err
	}
	return cgroupAncestor(int32(c.Args[1])), nil
}

// skbEcnSetCe is bpf_skb_ecn_set_ce.
func skbEcnSetCe(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	// skb_protocol(skb, true): the protocol behind any VLAN headers, which
	// __vlan_get_protocol reads from skb->data + the MAC header's length.
	proto := binary.BigEndian.Uint16(binary.NativeEndian.AppendUint16(nil, uint16(s.protocol)))
	depth := s.network - s.mac
	if depth == 0 {
		depth = ethHLen
	}
	for proto == ethP8021Q || proto == ethP8021AD {
		if s.head+depth+vlanHLen > s.n {
			return 0, nil
		}
		proto = binary.BigEndian.Uint16(s.buf[s.head+depth+2:])
		depth += vlanHLen
	}
	var hlen int
	switch proto {
	case ethPIP:
		hlen = 20
	case ethPIPv6:
		hlen = 40
	default:
		return 0, nil
	}
	if s.len() < hlen || s.network+hlen > s.n {
		return 0, nil
	}
	h := s.buf[s.network:]
	if proto == ethPIP {
		// IP_ECN_set_ce.
		ecn := uint32(h[1]+1) & 3
		if ecn&2 == 0 {
			if ecn == 0 {
				return 1, nil
			}
			return 0, nil
		}
		add := be16(0xfffb) + be16(uint16(ecn))
		check := binary.NativeEndian.Uint16(h[10:])
		binary.NativeEndian.PutUint16(h[10:], csum16Add(check, add))
		h[1] |= 3
		return 1, nil
	}
	// IP6_ECN_set_ce: the traffic class is bits 20-27 of the first word.
	w := binary.BigEndian.Uint32(h)
	if (w>>20)&3 == 0 {
		return 0, nil
	}
	binary.BigEndian.PutUint32(h, w|3<<20)
	return 1, nil
}

func xdpGetBuffLen(c *helper.Call) (uint64, error) {
	r, err := xdpRun(c)
	if err != nil {
		return 0, err
	}
	return uint64(r.xdp.xdpLen()), nil
}

// xdpCopy copies between b and the packet from off, across the frags
// (bpf_xdp_pointer and bpf_xdp_copy_buf): store writes b into the packet.
func xdpCopy(c *helper.Call, store bool) (uint64, error) {
	r, err := xdpRun(c)
	if err != nil {
		return 0, err
	}
	x := &r.xdp
	off, n := uint64(uint32(c.Args[1])), uint64(uint32(c.Args[3]))
	var b []byte
	if store {
		b, err = c.Read(c.Args[2], n)
	} else {
		b, err = c.Write(c.Args[2], n)
	}
	if err != nil {
		return 0, err
	}
	if off > 0xffff || n > 0xffff {
		return neg(errno.EFAULT), nil
	}
	if off+n > uint64(x.xdpLen()) {
		return neg(errno.EINVAL), nil
	}
	parts := append(make([][]byte, 0, 1+len(x.frags)), x.frame[x.data:x.end])
	parts = append(parts, x.frags...)
	for _, p := range parts {
		if n == 0 {
			break
		}
		if off >= uint64(len(p)) {
			off -= uint64(len(p))
			continue
		}
		k := min(n, uint64(len(p))-off)
		if store {
			copy(p[off:off+k], b[:k])
		} else {
			copy(b[:k], p[off:off+k])
		}
		b, n, off = b[k:], n-k, 0
	}
	return 0, nil
}

func xdpLoadBytes(c *helper.Call) (uint64, error)  { return xdpCopy(c, false) }
func xdpStoreBytes(c *helper.Call) (uint64, error) { return xdpCopy(c, true) }

func redirectPeer(c *helper.Call) (uint64, error) {
	r, err := skbRun(c)
	if err != nil {
		return 0, err
	}
	ifindex, flags := uint32(c.Args[0]), c.Args[1]
	if flags != 0 {
		return tcActShot, nil
	}
	r.redirect, r.redirectSet = Redirect{Ifindex: ifindex, Flags: flags}, true
	return tcActRedirect, nil
}

// TunnelKey is an skb's tunnel metadata, the kernel's ip_tunnel_info as
// the tunnel helpers see it. For a received packet (RunOptions.Tunnel)
// Src is the remote end and Dst the local one: bpf_skb_get_tunnel_key
// reports Src as remote_ipv4/6 and Dst as local_ipv4/6. For a packet to
// send (what bpf_skb_set_tunnel_key set), Dst is the remote end.
type TunnelKey struct {
	// ID is the tunnel ID (VNI, GRE key); bpf_tunnel_key carries its
	// low 32 bits.
	ID uint64
	// Src and Dst are the outer addresses, both IPv4 or both IPv6.
	Src, Dst netip.Addr
	// TOS and TTL are the outer header's.
	TOS, TTL uint8
	// Label is the IPv6 flow label.
	Label uint32
	// Flags are the TUNNEL_* flags (TUNNEL_CSUM 0x1, TUNNEL_KEY 0x4,
	// TUNNEL_SEQ 0x8, TUNNEL_DONT_FRAGMENT 0x100, TUNNEL_NOCACHE 0x2000,
	// the *_OPT bits when Options are present), in host byte order.
	Flags uint16
	// Options are the tunnel options (Geneve, VXLAN GBP, ERSPAN), at most
	// 255 bytes; set Flags' option bit for bpf_skb_get_tunnel_opt to see
	// them.
	Options []byte
	// TX is set on metadata that bpf_skb_set_tunnel_key set.
	TX bool
}

// Tunnel flags (the kernel's IP_TUNNEL_*_BIT as TUNNEL_* values).
const (
	tunnelCsum         = 0x0001
	tunnelKey          = 0x0004
	tunnelSeq          = 0x0008
	tunnelDontFragment = 0x0100
	tunnelGeneveOpt    = 0x0800
	tunnelVxlanOpt     = 0x1000
	tunnelNocache      = 0x2000
	tunnelErspanOpt    = 0x4000
	tunnelGTPOpt       = 0x8000
	tunnelOptsPresent  = tunnelGeneveOpt | tunnelVxlanOpt | tunnelErspanOpt | tunnelGTPOpt

	tunInfoIPv6      = 1 << 0
	tunInfoFlags     = 1 << 4 // BPF_F_TUNINFO_FLAGS (get)
	tunZeroCsumTX    = 1 << 1
	tunDontFragment  = 1 << 2
	tunSeqNumber     = 1 << 3
	tunNoTunnelKey   = 1 << 4
	tunnelKeySize    = 44 // sizeof(struct bpf_tunnel_key)
	tunnelOptsMax    = 255
	tunnelKeyLabel   = 24 // offsetof(struct bpf_tunnel_key, tunnel_label)
	tunnelKeyExt     = 22
	tunnelKeyLocal   = 28
	tunnelKeyRemote1 = 8 // offsetof(remote_ipv6[1])
)

// Tunnel returns the skb's tunnel metadata after a run of a tc program,
// and whether it has any.
func (r *Run) Tunnel() (TunnelKey, bool) {
	if r.kind != kindSKB || r.skb.tunnel == nil {
		return TunnelKey{}, false
	}
	return *r.skb.tunnel, true
}

func skbGetTunnelKey(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	size, flags := uint64(uint32(c.Args[2])), c.Args[3]
	to, err := c.Write(c.Args[1], size)
	if err != nil {
		return 0, err
	}
	fail := func(e errno.Errno) (uint64, error) {
		clear(to)
		return neg(e), nil
	}
	t := s.tunnel
	if t == nil || flags&^(tunInfoIPv6|tunInfoFlags) != 0 {
		return fail(errno.EINVAL)
	}
	v6 := t.Src.Is6() && !t.Src.Is4In6()
	if v6 != (flags&tunInfoIPv6 != 0) {
		return fail(errno.EPROTO)
	}
	if size != tunnelKeySize {
		switch size {
		case tunnelKeyLocal, tunnelKeyLabel, tunnelKeyExt:
		case tunnelKeyRemote1:
			if v6 {
				return fail(errno.EINVAL)
			}
		default:
			return fail(errno.EINVAL)
		}
	}
	var k [tunnelKeySize]byte
	binary.NativeEndian.PutUint32(k[0:], uint32(t.ID))
	k[20], k[21] = t.TOS, t.TTL
	if flags&tunInfoFlags != 0 {
		binary.BigEndian.PutUint16(k[22:], t.Flags)
	}
	if v6 {
		src, dst := t.Src.As16(), t.Dst.As16()
		copy(k[4:20], src[:])
		copy(k[28:44], dst[:])
		binary.NativeEndian.PutUint32(k[24:], t.Label)
	} else {
		src, dst := t.Src.As4(), t.Dst.As4()
		binary.NativeEndian.PutUint32(k[4:], binary.BigEndian.Uint32(src[:]))
		binary.NativeEndian.PutUint32(k[28:], binary.BigEndian.Uint32(dst[:]))
	}
	copy(to, k[:])
	return 0, nil
}

func skbSetTunnelKey(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	size, flags := uint64(uint32(c.Args[2])), c.Args[3]
	from, err := c.Read(c.Args[1], size)
	if err != nil {
		return 0, err
	}
	if flags&^(tunInfoIPv6|tunZeroCsumTX|tunDontFragment|tunSeqNumber|tunNoTunnelKey) != 0 {
		return neg(errno.EINVAL), nil
	}
	var k [tunnelKeySize]byte
	switch size {
	case tunnelKeySize, tunnelKeyLocal, tunnelKeyLabel, tunnelKeyExt, tunnelKeyRemote1:
		copy(k[:], from)
	default:
		return neg(errno.EINVAL), nil
	}
	label := binary.NativeEndian.Uint32(k[24:])
	if (flags&tunInfoIPv6 == 0 && label != 0) || binary.NativeEndian.Uint16(k[22:]) != 0 {
		return neg(errno.EINVAL), nil
	}
	t := &s.tunnelSet
	opts := t.Options[:0]
	*t = TunnelKey{ID: uint64(binary.NativeEndian.Uint32(k[0:])), TOS: k[20], TTL: k[21], TX: true, Options: opts}
	t.Flags = tunnelNocache
	if flags&tunDontFragment != 0 {
		t.Flags |= tunnelDontFragment
	}
	if flags&tunZeroCsumTX == 0 {
		t.Flags |= tunnelCsum
	}
	if flags&tunSeqNumber != 0 {
		t.Flags |= tunnelSeq
	}
	if flags&tunNoTunnelKey == 0 {
		t.Flags |= tunnelKey
	}
	if flags&tunInfoIPv6 != 0 {
		t.Dst = netip.AddrFrom16([16]byte(k[4:20]))
		t.Src = netip.AddrFrom16([16]byte(k[28:44]))
		t.Label = label & 0xfffff
	} else {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], binary.NativeEndian.Uint32(k[4:]))
		t.Dst = netip.AddrFrom4(a)
		binary.BigEndian.PutUint32(a[:], binary.NativeEndian.Uint32(k[28:]))
		t.Src = netip.AddrFrom4(a)
	}
	s.tunnel = t
	return 0, nil
}

func skbGetTunnelOpt(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	size := uint64(uint32(c.Args[2]))
	to, err := c.Write(c.Args[1], size)
	if err != nil {
		return 0, err
	}
	t := s.tunnel
	if t == nil || t.Flags&tunnelOptsPresent == 0 {
		clear(to)
		return neg(errno.ENOENT), nil
	}
	if size < uint64(len(t.Options)) {
		clear(to)
		return neg(errno.ENOMEM), nil
	}
	n := copy(to, t.Options)
	clear(to[n:])
	return uint64(n), nil
}

func skbSetTunnelOpt(c *helper.Call) (uint64, error) {
	_, s, err := tcRun(c)
	if err != nil {
		return 0, err
	}
	size := uint64(uint32(c.Args[2]))
	from, err := c.Read(c.Args[1], size)
	if err != nil {
		return 0, err
	}
	if s.tunnel != &s.tunnelSet || size%4 != 0 {
		return neg(errno.EINVAL), nil
	}
	if size > tunnelOptsMax {
		return neg(errno.ENOMEM), nil
	}
	t := s.tunnel
	t.Options = append(t.Options[:0], from...)
	if size > 0 {
		t.Flags |= tunnelOptsPresent
	}
	return 0, nil
}
