package kernel

import "github.com/cilium/ebpf"

// socketFilterType: socket filters, on an skb whose data starts at the
// network header, which they read through LD_ABS/LD_IND and helpers only,
// with the socket filter's fields of struct __sk_buff.
var socketFilterType = ProgramType{
	Name:              "socket",
	Types:             []ebpf.ProgramType{ebpf.SocketFilter},
	Sections:          []string{"socket", "socket/"},
	Context:           CtxDesc{Name: "struct __sk_buff", Size: skbSize, Fields: skbFields(false)},
	CTypes:            []string{"__sk_buff"},
	NoSpinLock:        &Refusal{Who: "socket filters", Kernel: "socket filter progs cannot use bpf_spin_lock yet"},
	LegacyPacketLoads: true,
	helpers:           tSock,
	context:           skbKind{l2: false},
}
