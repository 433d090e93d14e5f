package kernel

import "github.com/cilium/ebpf"

// cgroupSKBType: cgroup_skb programs, on the packets a cgroup's sockets
// receive (ingress) or send (egress), with struct __sk_buff as
// cg_skb_is_valid_access allows it. The kernel's test run gives them the
// skb from the network header, as socket filters; they read the packet
// directly, may not write it, and return 0 (drop) or 1 (pass), egress
// also 2 or 3 (the same, with congestion notification).
var cgroupSKBType = ProgramType{
	Name:     "cgroup_skb",
	Types:    []ebpf.ProgramType{ebpf.CGroupSKB},
	Sections: []string{"cgroup_skb/ingress", "cgroup_skb/egress", "cgroup/skb"},
	Context:  cgroupSKBContext,
	CTypes:   []string{"__sk_buff"},
	Attach: []Attach{
		{Type: ebpf.AttachCGroupInetIngress, Name: "ingress", Sections: []string{"cgroup_skb/ingress", "cgroup/skb"}, Context: cgroupSKBContext},
		{Type: ebpf.AttachCGroupInetEgress, Name: "egress", Sections: []string{"cgroup_skb/egress"}, Context: cgroupSKBContext, Return: &Range{0, 3}},
	},
	ZeroAttach: ebpf.AttachCGroupInetIngress,
	Return:     &Range{0, 1},
	helpers:    tCgSKB,
	context:    skbKind{cg: true},
}

// cgroupSKBContext is struct __sk_buff for cgroup_skb programs.
var cgroupSKBContext = CtxDesc{Name: "struct __sk_buff", Size: skbSize, Fields: cgroupSKBFields()}

// cgroupSKBFields lists struct __sk_buff as cg_skb_is_valid_access allows
// it: the socket filter's fields, data and data_end (read-only packet),
// the socket's family to local_port (4-byte reads; narrower of family
// and the ports), tstamp and hwtstamp;
// writes of mark, priority, cb and tstamp.
func cgroupSKBFields() []CtxField {
	var f []CtxField
	for _, x := range skbFields(false) {
		switch x.Off {
		case skbMark, skbPriority:
			x.Write = Size4
		case skbNapiID:
			f = append(f,
				CtxField{Name: "data", Off: skbData, Size: 4, Read: Size4, Kind: CtxPacket, PrivRead: true},
				CtxField{Name: "data_end", Off: skbDataEnd, Size: 4, Read: Size4, Kind: CtxPacketEnd, PrivRead: true},
			)
		case skbGSOSegs:
			f = append(f, CtxField{Name: "tstamp", Off: skbTstamp, Size: 8, Read: Size8, Write: Size8, PrivWrite: true})
		}
		f = append(f, x)
		if x.Off == skbNapiID {
			f = append(f,
				CtxField{Name: "family", Off: skbFamily, Size: 4, Read: Narrow},
				CtxField{Name: "remote_ip4", Off: skbFamily + 4, Size: 4, Read: Size4},
				CtxField{Name: "local_ip4", Off: skbFamily + 8, Size: 4, Read: Size4},
				CtxField{Name: "remote_ip6", Off: skbFamily + 12, Size: 16, Read: Size4},
				CtxField{Name: "local_ip6", Off: skbFamily + 28, Size: 16, Read: Size4},
				CtxField{Name: "remote_port", Off: skbFamily + 44, Size: 4, Read: Narrow},
				CtxField{Name: "local_port", Off: skbFamily + 48, Size: 4, Read: Narrow},
			)
		}
	}
	return append(f, CtxField{Name: "hwtstamp", Off: skbHwtstamp, Size: 8, Read: Size8})
}
