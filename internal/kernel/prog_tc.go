package kernel

import "github.com/cilium/ebpf"

// tcType: tc classifiers and actions (sched_cls, sched_act), on an skb
// whose data starts at the Ethernet header, with struct __sk_buff.
var tcType = ProgramType{
	Name:              "tc",
	Types:             []ebpf.ProgramType{ebpf.SchedCLS, ebpf.SchedACT},
	Sections:          []string{"tc", "tc/", "tcx/", "classifier", "classifier/", "action", "action/"},
	Context:           CtxDesc{Name: "struct __sk_buff", Size: skbSize, Fields: skbFields(true)},
	CTypes:            []string{"__sk_buff"},
	WritesPacket:      true,
	LegacyPacketLoads: true,
	helpers:           tTC,
	context:           skbKind{l2: true},
}
