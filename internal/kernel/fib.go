package kernel

import (
	"encoding/binary"
	"net/netip"

	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
)

// FIB is the forwarding information that bpf_fib_lookup consults in
// place of the kernel's: network devices, routes in routing tables, and
// neighbours. Give one to a run (RunOptions.FIB), built by hand or read
// from the host with HostFIB. A run without one has no devices: every
// lookup answers -ENODEV, as the kernel does for an unknown ifindex.
type FIB struct {
	Devices    []FIBDevice
	Routes     []FIBRoute
	Neighbours []FIBNeighbour
	// ForwardUsePMTU is net.ipv4.ip_forward_use_pmtu: IPv4 lookups
	// then use a route's MTU even when it is not locked.
	ForwardUsePMTU bool
}

// FIBDevice is a network device.
type FIBDevice struct {
	Ifindex uint32
	Name    string
	MTU     uint32
	MAC     [6]byte
	// Down is set for a device that is not up (!IFF_UP): packets are not
	// forwardable through it.
	Down bool
	// Forwarding and Forwarding6 are net.ipv4.conf.DEV.forwarding and
	// net.ipv6.conf.DEV.forwarding.
	Forwarding, Forwarding6 bool
	// Addrs are the device's addresses with their prefixes.
	Addrs []netip.Prefix
}

// Route types (the kernel's RTN_*).
const (
	RouteUnicast     = 1
	RouteLocal       = 2
	RouteBroadcast   = 3
	RouteAnycast     = 4
	RouteMulticast   = 5
	RouteBlackhole   = 6
	RouteUnreachable = 7
	RouteProhibit    = 8
	RouteThrow       = 9
)

// Routing tables.
const (
	TableDefault = 253
	TableMain    = 254
	TableLocal   = 255
)

// FIBRoute is a route.
type FIBRoute struct {
	// Table is the routing table; 0 means the main table (254).
	Table uint32
	Dst   netip.Prefix
	// Type is one of the Route* constants; 0 means RouteUnicast.
	Type uint8
	// TOS, when not 0, is the IPv4 TOS the route is for.
	TOS uint8
	// Gateway is the next hop; invalid for a directly connected route.
	Gateway netip.Addr
	// Ifindex is the output device.
	Ifindex uint32
	// Priority is the route's metric: the lowest wins among routes of
	// the same prefix.
	Priority uint32
	// PrefSrc is the preferred source address (BPF_FIB_LOOKUP_SRC).
	PrefSrc netip.Addr
	// MTU is the route's MTU metric; 0 means the device's. Lookups use
	// it only when MTULocked (ip route ... mtu lock N) or, for IPv4,
	// FIB.ForwardUsePMTU, as the kernel's ip_mtu_from_fib_result and
	// ip6_mtu_from_fib6.
	MTU       uint32
	MTULocked bool
}

// FIBNeighbour is a resolved neighbour (NUD_VALID).
type FIBNeighbour struct {
	Ifindex uint32
	Addr    netip.Addr
	MAC     [6]byte
}

// bpf_fib_lookup's flags and results (include/uapi/linux/bpf.h).
const (
	fibLookupDirect    = 1 << 0
	fibLookupOutput    = 1 << 1
	fibLookupSkipNeigh = 1 << 2
	fibLookupTBID      = 1 << 3
	fibLookupSrc       = 1 << 4
	fibLookupMark      = 1 << 5
	fibLookupMask      = 0x3f

	fibRetSuccess     = 0
	fibRetBlackhole   = 1
	fibRetUnreachable = 2
	fibRetProhibit    = 3
	fibRetNotFwded    = 4
	fibRetFwdDisabled = 5
	fibRetNoNeigh     = 7
	fibRetFragNeeded  = 8
	fibRetNoSrcAddr   = 9

	fibParamsSize = 64 // sizeof(struct bpf_fib_lookup)
)

// fibDef is bpf_fib_lookup's definition, appended to skbDefs.
var fibDef = def{
	id: asm.FnFibLookup, types: tXDP | tTC, fn: fibLookup, // 69 bpf_fib_lookup
	proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgWritableMemOrNull, helper.ArgSize, helper.ArgAnything}, Ret: helper.RetInteger},
	doc:   "looks the destination up in the run's `RunOptions.FIB` (devices, routes in tables, neighbours; `HostFIB` reads the host's) as the kernel's bpf_ipv4/ipv6_fib_lookup does: IPv4: the local and main tables (merged, as the kernel does without rules of its own) then the default table; IPv6: local then main (BPF_FIB_LOOKUP_DIRECT: the main table, or params->tbid with BPF_FIB_LOOKUP_TBID), the longest prefix then the lowest metric; the kernel's return codes (BLACKHOLE, UNREACHABLE, PROHIBIT, NOT_FWDED for local/broadcast/no route, FWD_DISABLED, NO_NEIGH, FRAG_NEEDED with mtu_result) and fields (ifindex, rt_metric, the gateway as destination, smac/dmac, the source with BPF_FIB_LOOKUP_SRC); plen < 64 or unknown flags → -EINVAL, an unknown family → -EAFNOSUPPORT, an unknown ifindex → -ENODEV",
	diff:  "no policy routing rules beyond the default ones, no multipath selection (the first next hop), no lightweight tunnels; the FIB is the one given, read once, not live",
}

// fibLookup is bpf_fib_lookup(ctx, params, plen, flags).
func fibLookup(c *helper.Call) (uint64, error) {
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	if r.kind != kindSKB && r.kind != kindXDP {
		return 0, errNotType(r, "tc or XDP")
	}
	plen := int32(c.Args[2])
	if plen < fibParamsSize {
		return neg(errno.EINVAL), nil
	}
	p, err := c.Write(c.Args[1], fibParamsSize)
	if err != nil {
		return 0, err
	}
	flags := uint32(c.Args[3])
	if flags&^fibLookupMask != 0 {
		return neg(errno.EINVAL), nil
	}
	checkMTU := r.kind == kindXDP || binary.NativeEndian.Uint16(p[6:]) != 0
	fib := r.fib
	var rc int64
	switch p[0] {
	case afInet:
		rc = fib.lookup(p, flags, checkMTU, false)
	case afInet6:
		rc = fib.lookup(p, flags, checkMTU, true)
	default:
		return neg(errno.EAFNOSUPPORT), nil
	}
	if rc == fibRetSuccess && !checkMTU {
		// The skb against the MTU of the device found
		// (is_skb_forwardable).
		dev := fib.device(binary.NativeEndian.Uint32(p[8:]))
		s := &r.skb
		if dev.Down || (uint32(s.len()) > dev.MTU+ethHLen+vlanHLen && !s.isGSO()) {
			rc = fibRetFragNeeded
		}
		binary.NativeEndian.PutUint16(p[6:], uint16(dev.MTU))
	}
	return uint64(rc), nil
}

// device returns the device of ifindex, or nil.
func (f *FIB) device(ifindex uint32) *FIBDevice {
	if f == nil {
		return nil
	}
	for i := range f.Devices {
		if f.Devices[i].Ifindex == ifindex {
			return &f.Devices[i]
		}
	}
	return nil
}

// tableOf is the table a route is in; with merge (IPv4), the local and
// main tables are one, as in a kernel without policy routing rules of its
// own, which merges them (IPv6 keeps them apart).
func tableOf(t uint32, merge bool) uint32 {
	if t == 0 || (merge && t == TableLocal) {
		return TableMain
	}
	return t
}

// match returns the route of table that the lookup of dst (with tos and
// the output device oif, 0 for any) finds: the longest prefix, then the
// lowest priority; nil for none.
func (f *FIB) match(table uint32, dst netip.Addr, tos uint8, oif uint32) *FIBRoute {
	var best *FIBRoute
	merge := dst.Is4()
	table = tableOf(table, merge)
	for i := range f.Routes {
		rt := &f.Routes[i]
		if tableOf(rt.Table, merge) != table || rt.Dst.Addr().Is4() != dst.Is4() || !rt.Dst.Contains(dst) {
			continue
		}
		if rt.TOS != 0 && rt.TOS != tos {
			continue
		}
		if oif != 0 && rt.Ifindex != oif && (rt.Type == 0 || rt.Type == RouteUnicast) {
			continue
		}
		if best == nil || rt.Dst.Bits() > best.Dst.Bits() ||
			(rt.Dst.Bits() == best.Dst.Bits() && rt.Priority < best.Priority) {
			best = rt
		}
	}
	return best
}

// lookup is bpf_ipv4_fib_lookup and bpf_ipv6_fib_lookup on params p.
func (f *FIB) lookup(p []byte, flags uint32, checkMTU, v6 bool) int64 {
	ifindex := binary.NativeEndian.Uint32(p[8:])
	dev := f.device(ifindex)
	if dev == nil {
		return -int64(errno.ENODEV)
	}
	if (!v6 && !dev.Forwarding) || (v6 && !dev.Forwarding6) {
		return fibRetFwdDisabled
	}
	var dst, src netip.Addr
	var tos uint8
	if v6 {
		dst = netip.AddrFrom16([16]byte(p[32:48]))
		src = netip.AddrFrom16([16]byte(p[16:32]))
	} else {
		dst = netip.AddrFrom4([4]byte(p[32:36]))
		src = netip.AddrFrom4([4]byte(p[16:20]))
		tos = p[12]
	}
	_ = src
	oif := uint32(0)
	if flags&fibLookupOutput != 0 {
		oif = ifindex
	}
	var rt *FIBRoute
	if flags&fibLookupDirect != 0 {
		table := uint32(TableMain)
		if flags&fibLookupTBID != 0 {
			table = binary.NativeEndian.Uint32(p[48:])
			binary.NativeEndian.PutUint32(p[48:], 0)
		}
		if !f.hasTable(table, !v6) {
			return fibRetNotFwded
		}
		rt = f.match(table, dst, tos, oif)
	} else {
		// IPv4: the local and main tables (merged), then the default
		// one; IPv6 (fib6_lookup without rules): local, then main.
		tables := []uint32{TableMain, TableDefault}
		if v6 {
			tables = []uint32{TableLocal, TableMain}
		}
		for _, table := range tables {
			rt = f.match(table, dst, tos, oif)
			if rt != nil && rt.Type == RouteThrow {
				rt = nil
				continue
			}
			if rt != nil {
				break
			}
		}
	}
	if rt == nil {
		if v6 {
			return fibRetNotFwded
		}
		return fibRetNotFwded // -ENETUNREACH from fib_lookup
	}
	switch rt.Type {
	case 0, RouteUnicast:
	case RouteBlackhole:
		return fibRetBlackhole
	case RouteUnreachable:
		return fibRetUnreachable
	case RouteProhibit:
		return fibRetProhibit
	default:
		return fibRetNotFwded
	}
	out := f.device(rt.Ifindex)
	if out == nil {
		return fibRetNotFwded
	}
	var mtu uint32
	if checkMTU {
		// ip_mtu_from_fib_result, ip6_mtu_from_fib6: the route's MTU
		// when locked (IPv4 also with ip_forward_use_pmtu), else the
		// device's.
		if rt.MTULocked || (!v6 && f.ForwardUsePMTU) {
			mtu = rt.MTU
		}
		if mtu == 0 {
			mtu = out.MTU
		}
		if uint32(binary.NativeEndian.Uint16(p[6:])) > mtu {
			binary.NativeEndian.PutUint16(p[6:], uint16(mtu))
			return fibRetFragNeeded
		}
	}
	binary.NativeEndian.PutUint32(p[12:], rt.Priority)
	binary.NativeEndian.PutUint32(p[8:], out.Ifindex)
	if flags&fibLookupSrc != 0 {
		s := rt.PrefSrc
		if !s.IsValid() {
			s = out.source(dst, rt.Gateway, v6)
		}
		if !s.IsValid() {
			if v6 {
				return fibRetNoSrcAddr
			}
			s = netip.IPv4Unspecified()
		}
		if v6 {
			a := s.As16()
			copy(p[16:32], a[:])
		} else {
			a := s.As4()
			copy(p[16:20], a[:])
		}
	}
	next := dst
	if rt.Gateway.IsValid() {
		next = rt.Gateway
		if next.Is4() {
			a := next.As4()
			copy(p[32:36], a[:])
		} else {
			if !v6 {
				p[0] = afInet6
			}
			a := next.As16()
			copy(p[32:48], a[:])
		}
	}
	if flags&fibLookupSkipNeigh == 0 {
		n := f.neighbour(out.Ifindex, next)
		if n == nil {
			return fibRetNoNeigh
		}
		copy(p[58:64], n.MAC[:])
		copy(p[52:58], out.MAC[:])
	}
	// bpf_fib_set_fwd_params.
	binary.NativeEndian.PutUint32(p[48:], 0)
	if mtu != 0 {
		binary.NativeEndian.PutUint16(p[6:], uint16(mtu))
	}
	return fibRetSuccess
}

// hasTable reports whether table exists: some route is in it, or it is
// the main or local table.
func (f *FIB) hasTable(table uint32, merge bool) bool {
	for _, rt := range f.Routes {
		if tableOf(rt.Table, merge) == tableOf(table, merge) {
			return true
		}
	}
	return tableOf(table, merge) == TableMain || table == TableLocal
}

// neighbour returns the neighbour addr on ifindex, or nil.
func (f *FIB) neighbour(ifindex uint32, addr netip.Addr) *FIBNeighbour {
	for i := range f.Neighbours {
		n := &f.Neighbours[i]
		if n.Ifindex == ifindex && n.Addr == addr {
			return n
		}
	}
	return nil
}

// source chooses the device's address to send to dst through gw, as
// inet_select_addr: one in the gateway's (or destination's) subnet, else
// the first of the family.
func (d *FIBDevice) source(dst, gw netip.Addr, v6 bool) netip.Addr {
	near := dst
	if gw.IsValid() {
		near = gw
	}
	var first netip.Addr
	for _, a := range d.Addrs {
		if a.Addr().Is4() == v6 {
			continue
		}
		if a.Contains(near) {
			return a.Addr()
		}
		if !first.IsValid() {
			first = a.Addr()
		}
	}
	return first
}
