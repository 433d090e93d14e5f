package kernel

import "github.com/cilium/ebpf"

// xdpType: XDP programs, on a frame as BPF_PROG_TEST_RUN builds it (256
// bytes of headroom, the packet, the tailroom of a page), with struct
// xdp_md.
var xdpType = ProgramType{
	Name:     "xdp",
	Types:    []ebpf.ProgramType{ebpf.XDP},
	Sections: []string{"xdp", "xdp.frags", "xdp/", "xdp.frags/"},
	Context: CtxDesc{
		Name: "struct xdp_md",
		Size: xdpMDSize,
		Fields: []CtxField{
			{Name: "data", Off: 0, Size: 4, Read: Size4, Kind: CtxPacket},
			{Name: "data_end", Off: 4, Size: 4, Read: Size4, Kind: CtxPacketEnd},
			{Name: "data_meta", Off: 8, Size: 4, Read: Size4, Kind: CtxPacketMeta},
			{Name: "ingress_ifindex", Off: 12, Size: 4, Read: Size4},
			{Name: "rx_queue_index", Off: 16, Size: 4, Read: Size4},
			// egress_ifindex (20) only for devmap programs.
		},
	},
	CTypes:       []string{"xdp_md"},
	WritesPacket: true,
	helpers:      tXDP,
	context:      xdpKind{},
}
