package kernel

import (
	"encoding/binary"

	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
)

// sockDefs are the helpers of the cgroup socket programs (see defs).
var sockDefs = []def{
	{
		id: asm.FnSockOpsCbFlagsSet, types: tSockOps, fn: sockOpsCBFlagsSet, // 59 bpf_sock_ops_cb_flags_set
		proto: helper.Proto{Args: []helper.ArgKind{helper.ArgCtx, helper.ArgAnything}, Ret: helper.RetInteger},
		doc:   "sets bpf_sock_ops_cb_flags (which later reads of the context see, and the context out has) to flags & BPF_SOCK_OPS_ALL_CB_FLAGS (0x7f) and returns the bits it does not know; -EINVAL when the context's is_fullsock is 0",
	},
}

// sockOpsAllCBFlags is BPF_SOCK_OPS_ALL_CB_FLAGS (Linux 6.18).
const sockOpsAllCBFlags = 0x7f

// sockOpsCBFlagsSet is bpf_sock_ops_cb_flags_set(bpf_sock, argval).
func sockOpsCBFlagsSet(c *helper.Call) (uint64, error) {
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	if r.kind != kindSock || r.sock.size != sockOpsSize {
		return 0, errNotType(r, "sock_ops")
	}
	s := &r.sock
	if binary.NativeEndian.Uint32(s.ctx[soIsFullsock:]) == 0 {
		return neg(errno.EINVAL), nil
	}
	arg := uint32(c.Args[1])
	binary.NativeEndian.PutUint32(s.ctx[soCBFlags:], arg&sockOpsAllCBFlags)
	return uint64(int64(int32(arg &^ sockOpsAllCBFlags))), nil
}
