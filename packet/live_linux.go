package packet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
)

// Live runs a program on the packets of one or two network interfaces, as
// if it were attached to them: it receives every packet with AF_PACKET
// sockets (a TPACKET_V3 receive ring each, spread across workers with
// PACKET_FANOUT), runs the program on it, and acts on the verdict:
//
//   - pass (XDP_PASS; TC_ACT_OK and the other tc actions that let a
//     packet continue; a socket filter's non-zero result, which cuts the
//     packet to the Ethernet header and that many bytes): in bridge mode,
//     sent out of the other interface; in monitor mode, counted;
//   - tx (XDP_TX): sent back out of the interface it came from;
//   - redirect (XDP_REDIRECT, TC_ACT_REDIRECT): sent out of the interface
//     that bpf_redirect named, or that the devmap entry of
//     bpf_redirect_map holds, if it is one of the attached interfaces;
//     else (another interface, no target, a broadcast, tc's
//     BPF_F_INGRESS) it is dropped and counted as a bad redirect;
//   - drop (and XDP_ABORTED, invalid actions, failed runs): dropped.
//
// The packets are the program's to change: it sees, and waggle sends, the
// packet as the program left it. XDP programs get an xdp_md whose
// ingress_ifindex is the receiving interface; tc and socket filter
// programs a __sk_buff with ifindex and ingress_ifindex set.
//
// AF_PACKET receives a copy of each packet: the kernel also delivers it to
// its own stack, whatever the verdict. Bridge mode therefore suits
// interfaces that have no addresses and are in no kernel bridge, such as
// one end of a veth pair or a port dedicated to waggle. Waggle's own sockets
// do not receive what it sends (PACKET_IGNORE_OUTGOING, and outgoing
// packets are skipped). Before the run, a VLAN tag that the kernel took
// out of the frame (TP_STATUS_VLAN_VALID) is put back, and the TCP, UDP or
// ICMPv6 checksum of a packet whose checksum was left to offload
// (TP_STATUS_CSUMNOTREADY: sent from this host, e.g. through a veth) is
// computed, so that the program and the receiver see a valid packet.
// Packets larger than a ring block are counted as truncated and dropped.
type Live struct {
	prog     *waggle.Program
	kind     Kind
	ifaces   []liveIface // Iface, then Peer
	observer LiveObserver
	budget   uint64
	timeout  time.Duration
	workers  []*liveWorker

	mu        sync.Mutex // protects the fields below
	ringDrops uint64     // the kernel's drops, accumulated: reading them resets them
	running   bool
	closed    bool
	stop      context.CancelFunc // ends Run
	finished  chan struct{}      // closed when Run has returned
}

// liveIface is an attached interface.
type liveIface struct {
	name  string
	index int
}

// Defaults of LiveConfig.
const (
	liveDefaultBlockSize    = 1 << 18
	liveDefaultBlocks       = 8
	liveDefaultBlockTimeout = 2 * time.Millisecond
	// liveOutRoom is how much an XDP program may grow a packet.
	liveOutRoom = 4096
	// liveXDPMDSize and liveSkbCtxSize are the contexts waggle gives: struct
	// xdp_md, and struct __sk_buff up to ifindex.
	liveXDPMDSize  = 24
	liveSkbCtxSize = 44
	// livePollTimeout bounds how long a worker takes to notice that Run's
	// context is done.
	livePollTimeout = 100 // ms
)

// NewLive opens the sockets and rings on the interfaces of cfg. Run runs
// the program until its context ends; Close releases the sockets. It needs
// CAP_NET_RAW (root).
func NewLive(cfg LiveConfig) (_ *Live, err error) {
	if cfg.Program == nil {
		return nil, errors.New("live: no program")
	}
	kind, err := KindOf(cfg.Program)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	if cfg.Iface == "" {
		return nil, errors.New("live: no interface")
	}
	if cfg.Peer == cfg.Iface {
		return nil, fmt.Errorf("live: the peer is the interface itself (%s)", cfg.Iface)
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rc := liveRingConfig{blockSize: cfg.RingBlockSize, blocks: cfg.RingBlocks, timeout: cfg.RingBlockTimeout}
	if rc.blockSize == 0 {
		rc.blockSize = liveDefaultBlockSize
	}
	if rc.blocks == 0 {
		rc.blocks = liveDefaultBlocks
	}
	if rc.timeout == 0 {
		rc.timeout = liveDefaultBlockTimeout
	}
	if page := unix.Getpagesize(); rc.blockSize <= 0 || rc.blockSize%page != 0 || rc.blocks <= 0 {
		return nil, fmt.Errorf("live: ring of %d blocks of %d bytes: need at least one block, a multiple of %d bytes", rc.blocks, rc.blockSize, page)
	}

	l := &Live{prog: cfg.Program, kind: kind, observer: cfg.Observer, budget: cfg.Budget, timeout: cfg.Timeout}
	for _, name := range []string{cfg.Iface, cfg.Peer} {
		if name == "" {
			continue
		}
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("live: interface %s: %w", name, err)
		}
		l.ifaces = append(l.ifaces, liveIface{name: name, index: ifi.Index})
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	for i := range workers {
		w := &liveWorker{l: l, id: i}
		l.workers = append(l.workers, w)
		w.in = make([]byte, 0, rc.blockSize+8)
		w.out = make([]byte, rc.blockSize+liveOutRoom)
		w.ctx = make([]byte, liveSkbCtxSize)
		if kind == XDP {
			w.ctx = w.ctx[:liveXDPMDSize]
		}
		// Boxed once: a slice put into an interface at each run would
		// allocate.
		w.ctxAny, w.ctxOutAny = w.ctx, w.ctxOut[:]
	}
	for _, ifc := range l.ifaces {
		var group uint16
		for _, w := range l.workers {
			r, err := liveOpenRX(ifc.index, rc, &group, w.id == 0)
			if err != nil {
				return nil, fmt.Errorf("live: %s: %w", ifc.name, err)
			}
			w.rings = append(w.rings, r)
			w.pfds = append(w.pfds, unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN | unix.POLLERR})
			fd, err := liveOpenTX(ifc.index)
			if err != nil {
				return nil, fmt.Errorf("live: %s: %w", ifc.name, err)
			}
			w.tx = append(w.tx, fd)
		}
	}
	return l, nil
}

// Interfaces returns the names of the attached interfaces: Iface, then
// Peer if set.
func (l *Live) Interfaces() []string {
	names := make([]string, len(l.ifaces))
	for i, ifc := range l.ifaces {
		names[i] = ifc.name
	}
	return names
}

// Run processes packets until ctx is done (it then returns nil) or a
// socket fails. It may be called once.
func (l *Live) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.running || l.closed {
		l.mu.Unlock()
		return errors.New("live: Run called twice, or after Close")
	}
	l.running = true
	ctx, cancel := context.WithCancel(ctx)
	l.stop, l.finished = cancel, make(chan struct{})
	l.mu.Unlock()
	defer close(l.finished)
	defer cancel()
	errs := make(chan error, len(l.workers))
	var wg sync.WaitGroup
	for _, w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.loop(ctx); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// Close releases the sockets and rings; if Run is running, it stops it
// first and waits for it to return.
func (l *Live) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	stop, finished := l.stop, l.finished
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-finished
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.workers {
		for _, r := range w.rings {
			l.ringDrops += liveRingDrops(r)
			r.close()
		}
		for _, fd := range w.tx {
			unix.Close(fd)
		}
		w.rings, w.tx = nil, nil
	}
	return nil
}

func liveRingDrops(r *liveRing) uint64 {
	_, d := r.ringStats()
	return d
}

// Stats returns the counts so far. It is safe to call while Run runs.
func (l *Live) Stats() LiveStats {
	var s LiveStats
	var counts [numActions]uint64
	for _, w := range l.workers {
		c := &w.c
		s.Packets += c.packets.Load()
		s.Bytes += c.bytes.Load()
		for i := range counts {
			counts[i] += c.verdicts[i].Load()
		}
		s.Passed += c.passed.Load()
		s.Forwarded += c.forwarded.Load()
		s.Transmitted += c.transmitted.Load()
		s.Redirected += c.redirected.Load()
		s.Dropped += c.dropped.Load()
		s.RunErrors += c.runErrors.Load()
		s.TxErrors += c.txErrors.Load()
		s.Truncated += c.truncated.Load()
		s.BadRedirects += c.badRedirects.Load()
	}
	for i, n := range counts {
		if n > 0 {
			s.Verdicts = append(s.Verdicts, LiveVerdictCount{Name: Action(i).String(), Count: n})
		}
	}
	l.mu.Lock()
	if !l.closed {
		for _, w := range l.workers {
			for _, r := range w.rings {
				l.ringDrops += liveRingDrops(r)
			}
		}
	}
	s.RingDrops = l.ringDrops
	l.mu.Unlock()
	return s
}

// liveWorker is one goroutine's sockets, buffers and counters.
type liveWorker struct {
	l     *Live
	id    int
	rings []*liveRing // one per attached interface
	tx    []int       // this worker's sending socket on each attached interface
	pfds  []unix.PollFd

	in     []byte // the packet, when it must be changed before the run
	out    []byte // the packet as the program left it
	ctx    []byte // xdp_md or __sk_buff
	ctxOut [liveXDPMDSize]byte
	// ctx and ctxOut as RunOptions takes them.
	ctxAny, ctxOutAny any
	opts              waggle.RunOptions
	redirect          waggle.Redirect
	cancel            context.Context // Run's: stops a run in progress

	c liveCounters
}

// liveCounters are a worker's counts, updated atomically so that Stats
// can read them while it runs.
type liveCounters struct {
	packets, bytes                                      atomic.Uint64
	verdicts                                            [numActions]atomic.Uint64 // by Action
	passed, forwarded, transmitted, redirected, dropped atomic.Uint64
	runErrors, txErrors, truncated, badRedirects        atomic.Uint64
	_                                                   [64]byte // keeps workers' counters on separate cache lines
}

// loop processes the worker's rings until ctx is done.
func (w *liveWorker) loop(ctx context.Context) error {
	w.cancel = ctx
	for ctx.Err() == nil {
		busy := false
		for i, r := range w.rings {
			if b := r.block(); b != nil {
				liveForEachPacket(b, func(p *livePacket) { w.handle(i, p) })
				r.release(b)
				busy = true
			}
		}
		if busy {
			continue
		}
		for i := range w.pfds {
			w.pfds[i].Revents = 0
		}
		n, err := unix.Poll(w.pfds, livePollTimeout)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("live: poll: %w", err)
		}
		for i, pfd := range w.pfds {
			if n != 0 && pfd.Revents&unix.POLLERR == 0 {
				continue
			}
			// When idle, or when the interface went down (ENETDOWN) or
			// away: reading the error clears it, and a socket whose
			// interface was removed is bound to none (ifindex -1) and
			// will receive nothing again.
			if pfd.Revents&unix.POLLERR != 0 {
				_, _ = unix.GetsockoptInt(int(pfd.Fd), unix.SOL_SOCKET, unix.SO_ERROR)
			}
			if sa, err := unix.Getsockname(int(pfd.Fd)); err == nil {
				if ll, ok := sa.(*unix.SockaddrLinklayer); ok && ll.Ifindex != w.l.ifaces[i].index {
					return fmt.Errorf("live: interface %s was removed: %w", w.l.ifaces[i].name, unix.ENODEV)
				}
			}
		}
	}
	return nil
}

// handle runs the program on a packet received on attached interface in
// and acts on the verdict.
func (w *liveWorker) handle(in int, p *livePacket) {
	if p.pkttype == unix.PACKET_OUTGOING {
		return
	}
	c := &w.c
	c.packets.Add(1)
	c.bytes.Add(uint64(p.wireLen))
	if len(p.data) < p.wireLen {
		c.truncated.Add(1)
		c.dropped.Add(1)
		return
	}
	data := p.data
	if p.status&(unix.TP_STATUS_VLAN_VALID|unix.TP_STATUS_CSUMNOTREADY) != 0 {
		data = w.prepare(p)
	}
	l := w.l
	ifindex := uint32(l.ifaces[in].index)
	w.opts = waggle.RunOptions{Data: data, Context: w.ctxAny, Budget: l.budget, Timeout: l.timeout, Cancel: w.cancel}
	switch l.kind {
	case XDP:
		// struct xdp_md: data 0, data_end, data_meta 0, ingress_ifindex.
		binary.NativeEndian.PutUint32(w.ctx[4:], uint32(len(data)))
		binary.NativeEndian.PutUint32(w.ctx[12:], ifindex)
		w.opts.DataOut = w.out
		w.opts.ContextOut = w.ctxOutAny
	case SocketFilter:
		// The program cannot change the packet.
		binary.NativeEndian.PutUint32(w.ctx[36:], ifindex) // ingress_ifindex
		binary.NativeEndian.PutUint32(w.ctx[40:], ifindex) // ifindex
	default:
		binary.NativeEndian.PutUint32(w.ctx[36:], ifindex)
		binary.NativeEndian.PutUint32(w.ctx[40:], ifindex)
		w.opts.DataOut = w.out
	}

	var start time.Time
	if l.observer != nil {
		start = time.Now()
	}
	res, redirected, err := l.prog.RunRedirect(&w.opts, &w.redirect)
	if err != nil {
		c.runErrors.Add(1)
		c.dropped.Add(1)
		if l.observer != nil {
			l.observer.ObserveError(time.Since(start))
		}
		return
	}
	seen := len(data)
	if l.kind == SocketFilter {
		seen -= 14 // a socket filter sees the packet from its network header
	}
	v := liveVerdict(l.kind, uint32(res.ReturnValue), seen)
	c.verdicts[v].Add(1)
	if l.observer != nil {
		l.observer.ObserveRun(v.String(), time.Since(start))
	}

	frame := data
	switch l.kind {
	case XDP:
		// Leave out the metadata the program put before the packet.
		frame = w.opts.DataOut
		if meta := int(binary.NativeEndian.Uint32(w.ctxOut[:])); meta <= len(frame) {
			frame = frame[meta:]
		}
	case TC:
		frame = w.opts.DataOut
	case SocketFilter:
		// The packet is cut to the Ethernet header and what the program
		// keeps of the rest.
		frame = data[:14+int(min(res.ReturnValue, uint64(seen)))]
	}

	switch liveActionOf(v) {
	case liveActPass:
		if len(l.ifaces) < 2 {
			c.passed.Add(1)
			return
		}
		w.send(1-in, frame, &c.forwarded)
	case liveActTX:
		w.send(in, frame, &c.transmitted)
	case liveActRedirect:
		r := &w.redirect
		// BPF_F_INGRESS (tc's bpf_redirect to a receive path) cannot be
		// done with AF_PACKET; for bpf_redirect_map the low bits of the
		// flags are the fallback action instead.
		ingress := r.Map == "" && r.Flags&waggle.RedirectIngress != 0
		if !redirected || r.Ifindex == 0 || ingress {
			c.badRedirects.Add(1)
			c.dropped.Add(1)
			return
		}
		for i, ifc := range l.ifaces {
			if uint32(ifc.index) == r.Ifindex {
				w.send(i, frame, &c.redirected)
				return
			}
		}
		c.badRedirects.Add(1)
		c.dropped.Add(1)
	default:
		c.dropped.Add(1)
	}
}

// send writes a frame to attached interface out and counts it in done,
// or as a transmit error.
func (w *liveWorker) send(out int, frame []byte, done *atomic.Uint64) {
	if _, err := unix.Write(w.tx[out], frame); err != nil {
		w.c.txErrors.Add(1)
		w.c.dropped.Add(1)
		return
	}
	done.Add(1)
}

// prepare copies a packet into w.in, putting back the VLAN tag that the
// kernel took out and computing a checksum left to offload.
func (w *liveWorker) prepare(p *livePacket) []byte {
	b := w.in[:0]
	d := p.data
	if p.status&unix.TP_STATUS_VLAN_VALID != 0 && len(d) >= 12 {
		tpid := uint16(0x8100)
		if p.status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && p.vlanTPID != 0 {
			tpid = p.vlanTPID
		}
		b = append(b, d[:12]...)
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, p.vlanTCI)
		b = append(b, d[12:]...)
	} else {
		b = append(b, d...)
	}
	if p.status&unix.TP_STATUS_CSUMNOTREADY != 0 {
		liveFixChecksum(b)
	}
	w.in = b
	return b
}

// liveFixChecksum computes the TCP or UDP checksum of an IPv4 or IPv6 packet
// (and ICMPv6's) in an Ethernet frame with at most two VLAN tags. Other
// packets, IPv4 fragments and IPv6 packets with extension headers are left
// as they are.
func liveFixChecksum(f []byte) {
	if len(f) < 14 {
		return
	}
	off := 14
	et := binary.BigEndian.Uint16(f[12:])
	for range 2 {
		if (et != 0x8100 && et != 0x88a8) || len(f) < off+4 {
			break
		}
		et = binary.BigEndian.Uint16(f[off+2:])
		off += 4
	}
	ip := f[off:]
	switch et {
	case 0x0800:
		if len(ip) < 20 {
			return
		}
		ihl := int(ip[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return
		}
		proto := ip[9]
		if proto != 6 && proto != 17 {
			return
		}
		l4 := ip[ihl:total]
		sum := liveOnesSum(ip[12:20], 0) + uint32(proto) + uint32(len(l4))
		liveSetL4Checksum(proto, l4, sum)
	case 0x86dd:
		if len(ip) < 40 {
			return
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return
		}
		proto := ip[6]
		l4 := ip[40 : 40+plen]
		sum := liveOnesSum(ip[8:40], 0) + uint32(plen) + uint32(proto)
		liveSetL4Checksum(proto, l4, sum)
	}
}

// liveSetL4Checksum stores the checksum of a TCP, UDP or ICMPv6 segment whose
// pseudo-header sums to sum.
func liveSetL4Checksum(proto uint8, l4 []byte, sum uint32) {
	var at int
	switch proto {
	case 6:
		at = 16
	case 17:
		at = 6
	case 58:
		at = 2
	default:
		return
	}
	if len(l4) < at+2 {
		return
	}
	l4[at], l4[at+1] = 0, 0
	sum = liveOnesSum(l4, sum)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if proto == 17 && c == 0 {
		c = 0xffff // a computed UDP checksum of 0 is sent as all ones
	}
	binary.BigEndian.PutUint16(l4[at:], c)
}

// liveOnesSum adds b to sum as 16-bit big-endian words (the Internet
// checksum's sum, not yet folded).
func liveOnesSum(b []byte, sum uint32) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
		if sum >= 1<<31 {
			sum = sum&0xffff + sum>>16
		}
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}
