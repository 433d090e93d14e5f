package kernel

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// HostFIB reads the forwarding information of the calling thread's
// network namespace through netlink (rtnetlink dumps of links,
// addresses, routes of every table, and neighbours in a valid state) and
// /proc/sys (each device's forwarding setting).
func HostFIB() (*FIB, error) {
	f := &FIB{ForwardUsePMTU: sysctlOn("/proc/sys/net/ipv4/ip_forward_use_pmtu")}
	links, err := dump(unix.RTM_GETLINK, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("read the host's network devices: %w", err)
	}
	for _, m := range links {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		ifi := (*unix.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
		d := FIBDevice{Ifindex: uint32(ifi.Index), Down: ifi.Flags&unix.IFF_UP == 0}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("read the host's network devices: %w", err)
		}
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFLA_IFNAME:
				d.Name = strings.TrimRight(string(a.Value), "\x00")
			case unix.IFLA_MTU:
				if len(a.Value) >= 4 {
					d.MTU = binary.NativeEndian.Uint32(a.Value)
				}
			case unix.IFLA_ADDRESS:
				copy(d.MAC[:], a.Value)
			}
		}
		d.Forwarding = sysctlOn("/proc/sys/net/ipv4/conf/" + d.Name + "/forwarding")
		d.Forwarding6 = sysctlOn("/proc/sys/net/ipv6/conf/" + d.Name + "/forwarding")
		f.Devices = append(f.Devices, d)
	}
	addrs, err := dump(unix.RTM_GETADDR, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("read the host's addresses: %w", err)
	}
	for _, m := range addrs {
		if m.Header.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg {
			continue
		}
		ifa := (*unix.IfAddrmsg)(unsafe.Pointer(&m.Data[0]))
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("read the host's addresses: %w", err)
		}
		var addr netip.Addr
		for _, a := range attrs {
			if a.Attr.Type == unix.IFA_LOCAL || (a.Attr.Type == unix.IFA_ADDRESS && !addr.IsValid()) {
				addr, _ = netip.AddrFromSlice(a.Value)
			}
		}
		if d := f.device(ifa.Index); d != nil && addr.IsValid() {
			d.Addrs = append(d.Addrs, netip.PrefixFrom(addr, int(ifa.Prefixlen)))
		}
	}
	routes, err := dump(unix.RTM_GETROUTE, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("read the host's routes: %w", err)
	}
	for _, m := range routes {
		if m.Header.Type != unix.RTM_NEWROUTE || len(m.Data) < unix.SizeofRtMsg {
			continue
		}
		rtm := (*unix.RtMsg)(unsafe.Pointer(&m.Data[0]))
		if rtm.Family != unix.AF_INET && rtm.Family != unix.AF_INET6 {
			continue
		}
		rt := FIBRoute{Table: uint32(rtm.Table), Type: rtm.Type, TOS: rtm.Tos}
		var dst netip.Addr
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("read the host's routes: %w", err)
		}
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.RTA_TABLE:
				rt.Table = binary.NativeEndian.Uint32(a.Value)
			case unix.RTA_DST:
				dst, _ = netip.AddrFromSlice(a.Value)
			case unix.RTA_GATEWAY:
				rt.Gateway, _ = netip.AddrFromSlice(a.Value)
			case unix.RTA_OIF:
				rt.Ifindex = binary.NativeEndian.Uint32(a.Value)
			case unix.RTA_PRIORITY:
				rt.Priority = binary.NativeEndian.Uint32(a.Value)
			case unix.RTA_PREFSRC:
				rt.PrefSrc, _ = netip.AddrFromSlice(a.Value)
			case unix.RTA_METRICS:
				rt.MTU, rt.MTULocked = metricMTU(a.Value)
			case unix.RTA_MULTIPATH:
				// The first next hop (struct rtnexthop, then its attributes).
				if len(a.Value) >= unix.SizeofRtNexthop {
					nh := (*unix.RtNexthop)(unsafe.Pointer(&a.Value[0]))
					rt.Ifindex = uint32(nh.Ifindex)
					rt.Gateway = nexthopGateway(a.Value[unix.SizeofRtNexthop:min(int(nh.Len), len(a.Value))])
				}
			}
		}
		if !dst.IsValid() {
			dst = netip.IPv4Unspecified()
			if rtm.Family == unix.AF_INET6 {
				dst = netip.IPv6Unspecified()
			}
		}
		rt.Dst = netip.PrefixFrom(dst, int(rtm.Dst_len))
		f.Routes = append(f.Routes, rt)
	}
	neighs, err := dump(unix.RTM_GETNEIGH, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("read the host's neighbours: %w", err)
	}
	for _, m := range neighs {
		if m.Header.Type != unix.RTM_NEWNEIGH || len(m.Data) < unix.SizeofNdMsg {
			continue
		}
		nd := (*unix.NdMsg)(unsafe.Pointer(&m.Data[0]))
		const nudValid = unix.NUD_PERMANENT | unix.NUD_NOARP | unix.NUD_REACHABLE | unix.NUD_PROBE | unix.NUD_STALE | unix.NUD_DELAY
		if nd.State&nudValid == 0 {
			continue
		}
		n := FIBNeighbour{Ifindex: uint32(nd.Ifindex)}
		// syscall.ParseNetlinkRouteAttr does not know neighbour messages.
		forAttrs(m.Data[(unix.SizeofNdMsg+3)&^3:], func(typ uint16, v []byte) {
			switch typ {
			case unix.NDA_DST:
				n.Addr, _ = netip.AddrFromSlice(v)
			case unix.NDA_LLADDR:
				copy(n.MAC[:], v)
			}
		})
		if n.Addr.IsValid() {
			f.Neighbours = append(f.Neighbours, n)
		}
	}
	return f, nil
}

// dump is an rtnetlink dump request of type typ.
func dump(typ, family int) ([]syscall.NetlinkMessage, error) {
	b, err := syscall.NetlinkRIB(typ, family)
	if err != nil {
		return nil, err
	}
	return syscall.ParseNetlinkMessage(b)
}

// sysctlOn reads a 0/1 setting of /proc/sys.
func sysctlOn(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.TrimSpace(string(b)) != "0"
}

// forAttrs calls fn with each netlink attribute of b (struct rtattr:
// length, type, value, aligned to 4 bytes), stopping at a malformed one.
func forAttrs(b []byte, fn func(typ uint16, v []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:]), b[4:l])
		step := min((l+3)&^3, len(b))
		b = b[step:]
	}
}

// metricMTU finds RTAX_MTU, and whether RTAX_LOCK locks it, in the
// nested attributes of RTA_METRICS.
func metricMTU(b []byte) (mtu uint32, locked bool) {
	forAttrs(b, func(typ uint16, v []byte) {
		switch {
		case typ == unix.RTAX_MTU && len(v) >= 4:
			mtu = binary.NativeEndian.Uint32(v)
		case typ == unix.RTAX_LOCK && len(v) >= 4:
			locked = binary.NativeEndian.Uint32(v)&(1<<unix.RTAX_MTU) != 0
		}
	})
	return mtu, locked
}

// nexthopGateway finds RTA_GATEWAY in a next hop's attributes.
func nexthopGateway(b []byte) (gw netip.Addr) {
	forAttrs(b, func(typ uint16, v []byte) {
		if typ == unix.RTA_GATEWAY {
			gw, _ = netip.AddrFromSlice(v)
		}
	})
	return gw
}
