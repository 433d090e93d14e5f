package packet

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
)

// Kind is the family of a packet program: how its return value is read.
type Kind uint8

// The packet program kinds.
const (
	// XDP programs (ebpf.XDP) return an enum xdp_action.
	XDP Kind = iota + 1
	// TC programs (ebpf.SchedCLS, ebpf.SchedACT) return a TC_ACT_* action,
	// as in direct-action mode.
	TC
	// SocketFilter programs (ebpf.SocketFilter) return how many bytes of
	// the packet to keep.
	SocketFilter
)

// String returns "xdp", "tc" or "socket filter".
func (k Kind) String() string {
	switch k {
	case XDP:
		return "xdp"
	case TC:
		return "tc"
	case SocketFilter:
		return "socket filter"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// KindOf returns the kind of a program, or an error naming its type when
// it is not an XDP, tc or socket filter program.
func KindOf(prog *waggle.Program) (Kind, error) {
	switch prog.Type() {
	case ebpf.XDP:
		return XDP, nil
	case ebpf.SchedCLS, ebpf.SchedACT:
		return TC, nil
	case ebpf.SocketFilter:
		return SocketFilter, nil
	}
	name := prog.Type().String()
	if prog.Type() == waggle.RawMemory {
		name = "RawMemory"
	}
	return 0, fmt.Errorf("program %q is of type %s: packets run through XDP, tc (sched_cls, sched_act) and socket filter programs", prog.Name(), name)
}

// Action is what a verdict does to the packet, named after the kernel's
// constants. The names (Action.String) are shared between the kinds where
// the meaning is the same — "pass", "drop", "redirect" — so that
// Stats.Verdicts reads alike for every kind.
type Action uint8

// The actions. Skipped is not a return value: it is a packet that the
// program's type cannot take (see ErrRefused).
const (
	// XDPAborted is XDP_ABORTED (0): the program failed; the packet is
	// dropped.
	XDPAborted Action = iota + 1
	// XDPDrop is XDP_DROP (1).
	XDPDrop
	// XDPPass is XDP_PASS (2): the packet goes on to the network stack.
	XDPPass
	// XDPTx is XDP_TX (3): the packet goes back out of the interface it
	// came in on, as the program left it.
	XDPTx
	// XDPRedirect is XDP_REDIRECT (4): the packet goes to another
	// interface, CPU or socket (bpf_redirect, bpf_redirect_map).
	XDPRedirect
	// XDPUnknown is any other value. The kernel warns about it and treats
	// it as XDP_ABORTED: the packet is dropped.
	XDPUnknown

	// TCUnspec is TC_ACT_UNSPEC (-1): go on with the next program or the
	// default action; the packet continues.
	TCUnspec
	// TCOK is TC_ACT_OK (0), named "pass" as iproute2 names it: the packet
	// continues.
	TCOK
	// TCReclassify is TC_ACT_RECLASSIFY (1); the packet continues.
	TCReclassify
	// TCShot is TC_ACT_SHOT (2), named "drop" as iproute2 names it.
	TCShot
	// TCPipe is TC_ACT_PIPE (3); the packet continues.
	TCPipe
	// TCStolen is TC_ACT_STOLEN (4): the packet is consumed.
	TCStolen
	// TCQueued is TC_ACT_QUEUED (5): the packet is consumed.
	TCQueued
	// TCRepeat is TC_ACT_REPEAT (6); the packet continues.
	TCRepeat
	// TCRedirect is TC_ACT_REDIRECT (7): the packet goes to another
	// device (bpf_redirect).
	TCRedirect
	// TCTrap is TC_ACT_TRAP (8): the packet is consumed.
	TCTrap
	// TCUnknown is any other value; as in the kernel's ingress hook, the
	// packet continues.
	TCUnknown

	// SocketDrop is a socket filter's 0: the packet is dropped.
	SocketDrop
	// SocketKeep is a return value at least the packet's length: the
	// whole packet is kept. Named "pass".
	SocketKeep
	// SocketTruncate is a return value between 0 and the packet's length:
	// the packet is cut to that many bytes.
	SocketTruncate

	// Skipped is a packet the program's type cannot take, which the
	// program did not see (ErrRefused).
	Skipped

	numActions
)

var actionNames = [numActions]string{
	XDPAborted:     "aborted",
	XDPDrop:        "drop",
	XDPPass:        "pass",
	XDPTx:          "tx",
	XDPRedirect:    "redirect",
	XDPUnknown:     "unknown",
	TCUnspec:       "unspec",
	TCOK:           "pass",
	TCReclassify:   "reclassify",
	TCShot:         "drop",
	TCPipe:         "pipe",
	TCStolen:       "stolen",
	TCQueued:       "queued",
	TCRepeat:       "repeat",
	TCRedirect:     "redirect",
	TCTrap:         "trap",
	TCUnknown:      "unknown",
	SocketDrop:     "drop",
	SocketKeep:     "pass",
	SocketTruncate: "truncate",
	Skipped:        "skipped",
}

// String is the action's name: "aborted", "drop", "pass", "tx",
// "redirect", "unknown" for XDP; "unspec", "pass" (TC_ACT_OK),
// "reclassify", "drop" (TC_ACT_SHOT), "pipe", "stolen", "queued",
// "repeat", "redirect", "trap", "unknown" for tc; "drop", "pass",
// "truncate" for socket filters; and "skipped".
func (a Action) String() string {
	if a == 0 || a >= numActions {
		return fmt.Sprintf("Action(%d)", uint8(a))
	}
	return actionNames[a]
}

// Passes reports whether the packet goes on after the verdict: XDP_PASS
// and XDP_TX; for tc every action but drop, stolen, queued, trap and
// redirect (as the kernel's ingress hook does: unspec, pipe, reclassify
// and repeat end with the packet continuing when the program is the last
// one); for socket filters a kept or truncated packet. These are the
// packets ProcessPcap writes.
func (a Action) Passes() bool {
	switch a {
	case XDPPass, XDPTx,
		TCUnspec, TCOK, TCReclassify, TCPipe, TCRepeat, TCUnknown,
		SocketKeep, SocketTruncate:
		return true
	}
	return false
}

// Verdict is a program's decision on one packet.
type Verdict struct {
	// Return is the program's return value, 32 bits as the kernel reads
	// it (a tc action of -1 is 0xffffffff).
	Return uint32
	// Action is what the return value means for the program's kind.
	Action Action
}

// String is the action's name.
func (v Verdict) String() string { return v.Action.String() }

// xdpAction reads an XDP program's return value.
func xdpAction(ret uint32) Action {
	if ret <= 4 {
		return XDPAborted + Action(ret)
	}
	return XDPUnknown
}

// tcAction reads a tc program's return value.
func tcAction(ret uint32) Action {
	v := int32(ret)
	if v >= -1 && v <= 8 {
		return TCUnspec + Action(v+1)
	}
	return TCUnknown
}

// socketAction reads a socket filter's return value for a packet of which
// the program saw seen bytes (from the network header).
func socketAction(ret uint32, seen int) Action {
	switch {
	case ret == 0:
		return SocketDrop
	case uint64(ret) >= uint64(seen):
		return SocketKeep
	}
	return SocketTruncate
}
