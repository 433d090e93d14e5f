package packet

import (
	"fmt"
	"strings"
	"time"

	"github.com/waggle-ebpf/waggle"
)

// LiveConfig says which program runs on which interfaces; see NewLive.
type LiveConfig struct {
	// Program runs on every packet: an XDP, tc (sched_cls, sched_act) or
	// socket filter program.
	Program *waggle.Program
	// Iface is the interface whose packets the program sees.
	Iface string
	// Peer, if set, makes a bridge: the program also sees Peer's packets,
	// and packets it passes go out of the other interface. Without Peer,
	// passed packets are only counted (monitor mode).
	Peer string
	// Workers is the number of goroutines, each with its own socket and
	// ring on every interface, among which PACKET_FANOUT_HASH spreads the
	// flows; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Observer, if not nil, is told the verdict and the run time of every
	// run (metrics.Program implements it). It is called from every worker
	// at once.
	Observer LiveObserver
	// Budget is the most instructions one run may execute (0:
	// waggle.DefaultBudget); a run that exhausts it fails and its packet
	// is dropped. Runs also stop when Run's context ends.
	Budget uint64
	// Timeout, if not 0, is how long one run may take
	// (waggle.RunOptions.Timeout); a run that takes longer fails and its
	// packet is dropped.
	Timeout time.Duration

	// RingBlockSize is the size in bytes of a ring block, a multiple of
	// the page size and larger than the largest packet (0: 256 KiB).
	RingBlockSize int
	// RingBlocks is the number of blocks of each ring (0: 8).
	RingBlocks int
	// RingBlockTimeout is how long the kernel fills a block before it
	// hands it over even if not full: the latency at low rates (0: 2ms;
	// the kernel counts whole milliseconds).
	RingBlockTimeout time.Duration
}

// LiveObserver receives the outcome of every run of the live path. It has
// the methods of link.Observer, which every hook takes (package link
// builds on this one and so cannot be imported here): a link.Observer is
// a LiveObserver.
type LiveObserver interface {
	// ObserveRun is a run that returned the verdict named (one of the
	// LiveVerdictNames of the program's kind) after d.
	ObserveRun(verdict string, d time.Duration)
	// ObserveError is a run that failed after d.
	ObserveError(d time.Duration)
}

// LiveStats are the counts of a Live so far.
type LiveStats struct {
	// Packets and Bytes count the packets received (wire length).
	Packets, Bytes uint64
	// Verdicts counts the runs by verdict, in the order of the program
	// type's return values; verdicts that never occurred are left out.
	Verdicts []LiveVerdictCount
	// What was done with the packets.
	Passed      uint64 // passed in monitor mode: counted only
	Forwarded   uint64 // passed in bridge mode: sent out of the other interface
	Transmitted uint64 // XDP_TX: sent back out of their interface
	Redirected  uint64 // sent out of the interface of a redirect
	Dropped     uint64 // dropped by the verdict, failed runs, truncated packets and bad redirects
	// RingDrops counts the packets the kernel dropped because a ring was
	// full (PACKET_STATISTICS).
	RingDrops uint64
	// Errors.
	RunErrors    uint64 // runs that failed (the packet is dropped)
	TxErrors     uint64 // packets that could not be sent
	Truncated    uint64 // packets larger than a ring block
	BadRedirects uint64 // redirects to no attached interface, without a target, or to a receive path
}

// LiveVerdictCount is the number of runs that returned a verdict.
type LiveVerdictCount struct {
	Name  string
	Count uint64
}

// Errors is the number of packets that met an error.
func (s LiveStats) Errors() uint64 {
	return s.RunErrors + s.TxErrors + s.Truncated + s.BadRedirects
}

// String gives the counts on four lines, as waggle attach prints them.
func (s LiveStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "packets %d (%d bytes), ring drops %d, errors %d\n", s.Packets, s.Bytes, s.RingDrops, s.Errors())
	b.WriteString("verdicts:")
	if len(s.Verdicts) == 0 {
		b.WriteString(" none")
	}
	for i, v := range s.Verdicts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %d", v.Name, v.Count)
	}
	fmt.Fprintf(&b, "\nactions: passed %d, forwarded %d, transmitted %d, redirected %d, dropped %d\n",
		s.Passed, s.Forwarded, s.Transmitted, s.Redirected, s.Dropped)
	fmt.Fprintf(&b, "errors: run %d, transmit %d, truncated %d, bad redirect %d\n",
		s.RunErrors, s.TxErrors, s.Truncated, s.BadRedirects)
	return b.String()
}

// liveActions lists the actions of a kind's return values, in order.
func liveActions(k Kind) []Action {
	var first, last Action
	switch k {
	case XDP:
		first, last = XDPAborted, XDPUnknown
	case TC:
		first, last = TCUnspec, TCUnknown
	case SocketFilter:
		first, last = SocketDrop, SocketTruncate
	default:
		return nil
	}
	var out []Action
	for a := first; a <= last; a++ {
		out = append(out, a)
	}
	return out
}

// LiveVerdictNames lists the verdict names (Action.String) that programs
// of kind k can produce on the live path (LiveObserver.ObserveRun,
// LiveStats.Verdicts), in the order of their return values: for XDP
// aborted, drop, pass, tx, redirect, unknown; for tc unspec, pass,
// reclassify, drop, pipe, stolen, queued, repeat, redirect, trap, unknown;
// for socket filters drop, pass, truncate.
func LiveVerdictNames(k Kind) []string {
	var names []string
	for _, a := range liveActions(k) {
		names = append(names, a.String())
	}
	return names
}
