package link

import (
	"strings"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/packet"
)

// PacketOptions say where AttachPacket attaches a packet program.
type PacketOptions struct {
	// Iface is the network interface whose packets the program sees.
	Iface string
	// Peer, if set, makes a bridge: the program also sees Peer's packets,
	// and the packets it passes go out of the other interface. Without
	// Peer, passed packets are only counted (monitor mode).
	Peer string
	// Workers is the number of goroutines, each with its own socket and
	// ring on every interface, among which the flows are spread; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// Runs bound the program's runs and observe them (the verdicts are
	// named by packet.LiveVerdictNames). A run that fails drops its
	// packet.
	Runs
}

// PacketLink is an XDP, tc or socket filter program attached to the
// packets of one network interface, or of two that it bridges; see
// AttachPacket.
type PacketLink struct {
	prog *waggle.Program
	live *packet.Live
	r    runner
}

var _ Link = (*PacketLink)(nil)

// AttachPacket attaches prog, an XDP, tc (sched_cls, sched_act) or socket
// filter program, to the packets of opts.Iface (and opts.Peer): it opens
// an AF_PACKET socket and receive ring per interface and worker and starts
// running the program on every packet received, acting on its verdicts,
// until Close. packet.Live describes what the verdicts do (pass, XDP_TX,
// redirects, drops) and what the kernel still sees. It needs CAP_NET_RAW
// (root); an error names the program whose type cannot take packets, or
// the interface that is missing.
func AttachPacket(prog *waggle.Program, opts PacketOptions) (*PacketLink, error) {
	live, err := packet.NewLive(packet.LiveConfig{Program: prog, Iface: opts.Iface, Peer: opts.Peer, Workers: opts.Workers,
		Budget: opts.Budget, Timeout: opts.Timeout, Observer: opts.Observer})
	if err != nil {
		return nil, err
	}
	l := &PacketLink{prog: prog, live: live}
	l.r.start(live.Run, live.Close)
	return l, nil
}

// Close stops the program, waits for the runs in progress and releases
// the sockets and rings. Later calls return the first one's result.
func (l *PacketLink) Close() error { return l.r.Close() }

// Wait blocks until the link is closed, or until it fails (an attached
// interface was removed, a socket failed), and returns the failure.
func (l *PacketLink) Wait() error { return l.r.Wait() }

// Info describes the link: hook "packet", the target "IFACE" or
// "IFACE <-> PEER", the program's runs, and the counts packets, dropped
// and errors (packet.LiveStats.Errors).
func (l *PacketLink) Info() Info {
	s := l.live.Stats()
	var runs uint64
	for _, v := range s.Verdicts {
		runs += v.Count
	}
	return Info{
		Hook:      "packet",
		Target:    strings.Join(l.live.Interfaces(), " <-> "),
		Programs:  []*waggle.Program{l.prog},
		Attached:  l.r.attached,
		Duration:  l.r.duration(),
		Runs:      runs,
		RunErrors: s.RunErrors,
		Counts:    []Count{{"packets", s.Packets}, {"dropped", s.Dropped}, {"errors", s.Errors()}},
	}
}

// Stats returns the packet hook's counts so far: packets, verdicts, what
// was done with the packets, the kernel's ring drops, errors. It is safe
// to call at any time, also after Close.
func (l *PacketLink) Stats() packet.LiveStats { return l.live.Stats() }

func (l *PacketLink) isLink() {}
