package kernel

import "github.com/cilium/ebpf"

// sockOpsType: sock_ops programs, run on a cgroup's TCP sockets at the
// events of their life (bpf_sock_ops.op: connection established, RTT
// sample, state change, ...), with struct bpf_sock_ops as
// sock_ops_is_valid_access allows it: they read the connection's
// figures, answer in reply, may set sk_txhash and the callbacks they
// want (bpf_sock_ops_cb_flags_set), and return 1 or 0. The kernel ignores
// their attach type. RunOptions.Data, if any, is the skb's data that
// skb_data to skb_data_end show (skb_len becomes its length). As in the
// kernel, when is_fullsock is 0 the TCP fields (snd_cwnd to
// bpf_sock_ops_cb_flags, rtt_min to bytes_acked) read as 0 (and are 0 in
// the context out), writes of sk_txhash are ignored and sk is NULL.
var sockOpsType = ProgramType{
	Name:     "sock_ops",
	Types:    []ebpf.ProgramType{ebpf.SockOps},
	Sections: []string{"sockops"},
	Context:  CtxDesc{Name: "struct bpf_sock_ops", Size: sockOpsSize, Fields: sockOpsFields()},
	CTypes:   []string{"bpf_sock_ops"},
	Return:   &Range{0, 1},
	helpers:  tSockOps,
	context:  sockKind{name: "sock_ops", size: sockOpsSize, data: true},
}
