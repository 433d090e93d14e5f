package packet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
)

// liveUDP builds an Ethernet IPv4 UDP frame from 02:..:01 to 02:..:02 with
// valid IP and UDP checksums.
func liveUDP(src, dst string, sport, dport uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8], ip[9] = 64, 17
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], ^liveFold(liveOnesSum(ip[:20], 0)))
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(udp[8:], payload)
	liveFixChecksum(f)
	return f
}

func liveFold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// udpChecksumOK verifies the UDP checksum of an IPv4 frame without VLAN
// tags.
func udpChecksumOK(f []byte) bool {
	ip := f[14:]
	l4 := ip[20:binary.BigEndian.Uint16(ip[2:])]
	sum := liveOnesSum(ip[12:20], 0) + 17 + uint32(len(l4))
	return liveFold(liveOnesSum(l4, sum)) == 0xffff
}

func TestLiveFixChecksum(t *testing.T) {
	f := liveUDP("10.0.0.1", "10.0.0.2", 1000, 2000, []byte("hello, world"))
	if !udpChecksumOK(f) {
		t.Fatal("liveUDP's checksum is wrong")
	}
	// A known value: computed by hand over the pseudo-header and segment.
	want := binary.BigEndian.Uint16(f[14+20+6:])
	// A partial checksum, as offload leaves it.
	binary.BigEndian.PutUint16(f[14+20+6:], 0x1234)
	liveFixChecksum(f)
	if got := binary.BigEndian.Uint16(f[14+20+6:]); got != want {
		t.Errorf("checksum %#x, want %#x", got, want)
	}

	// With a VLAN tag.
	tagged := append(append(append([]byte{}, f[:12]...), 0x81, 0x00, 0x00, 0x05), f[12:]...)
	binary.BigEndian.PutUint16(tagged[18+20+6:], 0)
	liveFixChecksum(tagged)
	if got := binary.BigEndian.Uint16(tagged[18+20+6:]); got != want {
		t.Errorf("tagged: checksum %#x, want %#x", got, want)
	}

	// TCP over IPv6: the checksum verifies afterwards.
	v6 := make([]byte, 14+40+20+3)
	binary.BigEndian.PutUint16(v6[12:], 0x86dd)
	ip := v6[14:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], 23)
	ip[6], ip[7] = 6, 64
	copy(ip[8:], netip.MustParseAddr("fe80::1").AsSlice())
	copy(ip[24:], netip.MustParseAddr("fe80::2").AsSlice())
	tcp := ip[40:]
	tcp[12] = 5 << 4
	copy(tcp[20:], "abc")
	liveFixChecksum(v6)
	sum := liveOnesSum(ip[8:40], 0) + 23 + 6
	if liveFold(liveOnesSum(tcp, sum)) != 0xffff {
		t.Error("IPv6 TCP checksum does not verify")
	}

	// Fragments, other protocols and short frames are left alone.
	for _, g := range [][]byte{
		func() []byte { g := bytes.Clone(f); g[14+6] = 0x20; return g }(), // MF set
		func() []byte { g := bytes.Clone(f); g[14+9] = 1; return g }(),    // ICMP
		f[:20],
		nil,
	} {
		before := bytes.Clone(g)
		liveFixChecksum(g)
		if !bytes.Equal(before, g) {
			t.Errorf("changed a frame it should leave: % x", before)
		}
	}
}

// liveBlock builds a TPACKET_V3 block holding packets.
func liveBlock(pkts []livePacket) []byte {
	b := make([]byte, 8192)
	binary.NativeEndian.PutUint32(b[liveBlkNumPkts:], uint32(len(pkts)))
	binary.NativeEndian.PutUint32(b[liveBlkFirstPkt:], liveBlkHeaderBytes)
	off := liveBlkHeaderBytes
	for i, p := range pkts {
		h := b[off:]
		mac := liveSllPkttype + 30 // past the header and sockaddr_ll, as the kernel places it
		binary.NativeEndian.PutUint32(h[livePktSnaplen:], uint32(len(p.data)))
		binary.NativeEndian.PutUint32(h[livePktLen:], uint32(p.wireLen))
		binary.NativeEndian.PutUint32(h[livePktStatus:], p.status)
		binary.NativeEndian.PutUint16(h[livePktMac:], uint16(mac))
		binary.NativeEndian.PutUint32(h[livePktVlanTCI:], uint32(p.vlanTCI))
		binary.NativeEndian.PutUint16(h[livePktVlanTPID:], p.vlanTPID)
		h[liveSllPkttype] = p.pkttype
		copy(h[mac:], p.data)
		next := (mac + len(p.data) + 15) &^ 15
		if i < len(pkts)-1 {
			binary.NativeEndian.PutUint32(h[livePktNextOffset:], uint32(next))
		}
		off += next
	}
	return b
}

func TestLiveForEachPacket(t *testing.T) {
	in := []livePacket{
		{data: []byte("first frame...."), wireLen: 15, status: unix.TP_STATUS_CSUMNOTREADY, pkttype: unix.PACKET_HOST},
		{data: []byte("second"), wireLen: 1500, status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID,
			vlanTCI: 7, vlanTPID: 0x88a8, pkttype: unix.PACKET_OUTGOING},
	}
	b := liveBlock(in)
	var got []livePacket
	liveForEachPacket(b, func(p *livePacket) {
		q := *p
		q.data = bytes.Clone(p.data)
		got = append(got, q)
	})
	if len(got) != 2 {
		t.Fatalf("%d packets, want 2", len(got))
	}
	for i := range in {
		if !bytes.Equal(got[i].data, in[i].data) || got[i].wireLen != in[i].wireLen || got[i].status != in[i].status ||
			got[i].vlanTCI != in[i].vlanTCI || got[i].vlanTPID != in[i].vlanTPID || got[i].pkttype != in[i].pkttype {
			t.Errorf("packet %d: %+v, want %+v", i, got[i], in[i])
		}
	}
	// Offsets that leave the block end the walk without a panic.
	for _, corrupt := range []func(b []byte){
		func(b []byte) { binary.NativeEndian.PutUint32(b[liveBlkFirstPkt:], 1<<30) },
		func(b []byte) { binary.NativeEndian.PutUint32(b[liveBlkFirstPkt:], 3) },
		func(b []byte) { binary.NativeEndian.PutUint32(b[liveBlkHeaderBytes+livePktSnaplen:], 1<<30) },
		func(b []byte) { binary.NativeEndian.PutUint32(b[liveBlkHeaderBytes+livePktNextOffset:], 8000) },
		func(b []byte) { binary.NativeEndian.PutUint32(b[liveBlkNumPkts:], 1000) },
	} {
		b := liveBlock(in)
		corrupt(b)
		n := 0
		liveForEachPacket(b, func(*livePacket) { n++ })
		if n > 2 {
			t.Errorf("a corrupt block gave %d packets", n)
		}
	}
}

// liveHarness is a Live with two fake interfaces (ifindex 10 and 11, or
// only 10) whose sending sockets are SOCK_SEQPACKET pairs: what the
// worker sends can be read back.
type liveHarness struct {
	l     *Live
	w     *liveWorker
	sent  []int // the read ends, per interface
	stats func() LiveStats
}

func newLiveHarness(t *testing.T, prog *waggle.Program, bridge bool) *liveHarness {
	t.Helper()
	kind, err := KindOf(prog)
	if err != nil {
		t.Fatal(err)
	}
	l := &Live{prog: prog, kind: kind, ifaces: []liveIface{{"a", 10}}}
	if bridge {
		l.ifaces = append(l.ifaces, liveIface{"b", 11})
	}
	w := &liveWorker{l: l, in: make([]byte, 0, 1<<16), out: make([]byte, 1<<16+liveOutRoom), ctx: make([]byte, liveSkbCtxSize)}
	if kind == XDP {
		w.ctx = w.ctx[:liveXDPMDSize]
	}
	w.ctxAny, w.ctxOutAny = w.ctx, w.ctxOut[:]
	l.workers = []*liveWorker{w}
	h := &liveHarness{l: l, w: w, stats: l.Stats}
	for range l.ifaces {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
		w.tx = append(w.tx, fds[0])
		h.sent = append(h.sent, fds[1])
		if err := unix.SetNonblock(fds[1], true); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// received returns what was sent out of interface i.
func (h *liveHarness) received(i int) [][]byte {
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Read(h.sent[i], buf)
		if err != nil || n < 0 {
			return out
		}
		out = append(out, bytes.Clone(buf[:n]))
	}
}

func loadLive(t testing.TB, path string) (*waggle.Collection, *ebpf.CollectionSpec) {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll, spec
}

func host(f []byte) *livePacket {
	return &livePacket{data: f, wireLen: len(f), pkttype: unix.PACKET_OTHERHOST}
}

func TestLiveHandleFirewall(t *testing.T) {
	coll, _ := loadLive(t, "../examples/firewall/firewall.o")
	blocked := netip.MustParseAddr("10.0.0.66").As4()
	if err := coll.Maps["blocked_addrs"].Put(blocked[:], uint32(1)); err != nil {
		t.Fatal(err)
	}
	h := newLiveHarness(t, coll.Programs["firewall"], true)
	ok := liveUDP("10.0.0.1", "10.0.0.2", 1, 2, []byte("ok"))
	bad := liveUDP("10.0.0.66", "10.0.0.2", 1, 2, []byte("bad"))
	h.w.handle(0, host(ok))
	h.w.handle(0, host(bad))
	h.w.handle(1, host(ok)) // the other way
	// Waggle's own packets, and packets larger than the ring's snapshot.
	h.w.handle(0, &livePacket{data: ok, wireLen: len(ok), pkttype: unix.PACKET_OUTGOING})
	h.w.handle(0, &livePacket{data: ok, wireLen: 9000, pkttype: unix.PACKET_HOST})
	// Too short for the program's type: the run fails.
	h.w.handle(0, host(ok[:10]))

	if got := h.received(1); len(got) != 1 || !bytes.Equal(got[0], ok) {
		t.Errorf("out of b: %q, want the allowed packet", got)
	}
	if got := h.received(0); len(got) != 1 || !bytes.Equal(got[0], ok) {
		t.Errorf("out of a: %q, want the allowed packet", got)
	}
	s := h.stats()
	want := LiveStats{Packets: 5, Bytes: uint64(2*len(ok) + len(bad) + 9000 + 10),
		Verdicts:  []LiveVerdictCount{{"drop", 1}, {"pass", 2}},
		Forwarded: 2, Dropped: 3, RunErrors: 1, Truncated: 1}
	if s.String() != want.String() {
		t.Errorf("stats:\n%s\nwant\n%s", s, want)
	}
	var counts [4]uint64
	if err := coll.Maps["drop_counts"].Lookup(uint32(1), &counts[1]); err != nil || counts[1] != 1 {
		t.Errorf("drop_counts[1] = %d, %v", counts[1], err)
	}
}

func TestLiveHandleReflectAndRedirect(t *testing.T) {
	coll, _ := loadLive(t, "../testdata/live/live.o")
	frame := liveUDP("10.0.0.1", "10.0.0.2", 1111, 2222, []byte("ping"))

	// XDP_TX: back out of a, addresses and ports swapped, checksum valid.
	h := newLiveHarness(t, coll.Programs["xdp_reflect"], false)
	h.w.handle(0, host(frame))
	got := h.received(0)
	if len(got) != 1 {
		t.Fatalf("reflected %d packets", len(got))
	}
	want := liveUDP("10.0.0.2", "10.0.0.1", 2222, 1111, []byte("ping"))
	copy(want[0:6], frame[6:12])
	copy(want[6:12], frame[0:6])
	if !bytes.Equal(got[0], want) || !udpChecksumOK(got[0]) {
		t.Errorf("reflected\n% x\nwant\n% x", got[0], want)
	}
	if s := h.stats(); s.Transmitted != 1 || len(s.Verdicts) != 1 || s.Verdicts[0] != (LiveVerdictCount{"tx", 1}) {
		t.Errorf("stats: %s", s)
	}

	// A frame whose VLAN tag the kernel took out, and whose checksum was
	// left to offload: the program sees the tag (so it passes the frame,
	// which is not IPv4 for it), and the frame goes out with the tag and
	// a valid checksum.
	h = newLiveHarness(t, coll.Programs["xdp_reflect"], true)
	partial := bytes.Clone(frame)
	binary.BigEndian.PutUint16(partial[14+20+6:], 0xbeef)
	h.w.handle(0, &livePacket{data: partial, wireLen: len(partial), status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_CSUMNOTREADY,
		vlanTCI: 0x2005, pkttype: unix.PACKET_HOST})
	got = h.received(1)
	tagged := append(append(append([]byte{}, frame[:12]...), 0x81, 0x00, 0x20, 0x05), frame[12:]...)
	if len(got) != 1 || !bytes.Equal(got[0], tagged) {
		t.Errorf("forwarded %q, want\n% x", got, tagged)
	}

	// XDP_REDIRECT through the devmap: to b (ifindex 11) when slot 0
	// holds it; a bad redirect for an interface that is not attached;
	// XDP_DROP (the fallback) when the slot is empty.
	h = newLiveHarness(t, coll.Programs["xdp_redirect_port"], true)
	ports := coll.Maps["tx_port"]
	if err := ports.Put(uint32(0), uint32(11)); err != nil {
		t.Fatal(err)
	}
	h.w.handle(0, host(frame))
	if err := ports.Put(uint32(0), uint32(99)); err != nil {
		t.Fatal(err)
	}
	h.w.handle(0, host(frame))
	if err := ports.Delete(uint32(0)); err != nil {
		t.Fatal(err)
	}
	h.w.handle(0, host(frame))
	if got := h.received(1); len(got) != 1 || !bytes.Equal(got[0], frame) {
		t.Errorf("redirected to b: %q", got)
	}
	if got := h.received(0); len(got) != 0 {
		t.Errorf("sent out of a: %q", got)
	}
	s := h.stats()
	if s.Redirected != 1 || s.BadRedirects != 1 || s.Dropped != 2 || s.Errors() != 1 ||
		!strings.Contains(s.String(), "verdicts: drop 1, redirect 2\n") {
		t.Errorf("stats:\n%s", s)
	}
}

func TestLiveHandleMonitorAndObserver(t *testing.T) {
	coll, _ := loadLive(t, "../examples/firewall/firewall.o")
	h := newLiveHarness(t, coll.Programs["firewall"], false)
	obs := &countingObserver{}
	h.l.observer = obs
	frame := liveUDP("10.0.0.1", "10.0.0.2", 1, 2, nil)
	h.w.handle(0, host(frame))
	h.w.handle(0, host(frame[:3]))
	if s := h.stats(); s.Passed != 1 || s.Forwarded != 0 || s.RunErrors != 1 {
		t.Errorf("stats: %s", s)
	}
	if got := h.received(0); len(got) != 0 {
		t.Errorf("monitor mode sent %q", got)
	}
	if obs.runs["pass"] != 1 || obs.errors != 1 {
		t.Errorf("observer: %+v", obs)
	}
}

type countingObserver struct {
	runs   map[string]int
	errors int
}

func (o *countingObserver) ObserveRun(v string, d time.Duration) {
	if o.runs == nil {
		o.runs = map[string]int{}
	}
	o.runs[v]++
}

func (o *countingObserver) ObserveError(time.Duration) { o.errors++ }

// TestLiveHandleAllocs checks that the per-packet path allocates nothing:
// received, run, forwarded, counted.
func TestLiveHandleAllocs(t *testing.T) {
	if liveRace {
		t.Skip("skipped: allocations are not counted under the race detector (sync.Pool drops items at random)")
	}
	coll, _ := loadLive(t, "../testdata/live/live.o")
	fw, _ := loadLive(t, "../examples/firewall/firewall.o")
	for _, tc := range []struct {
		prog   *waggle.Program
		status uint32
	}{
		{coll.Programs["xdp_reflect"], 0},
		{coll.Programs["xdp_reflect"], unix.TP_STATUS_CSUMNOTREADY | unix.TP_STATUS_VLAN_VALID},
		{fw.Programs["firewall"], unix.TP_STATUS_CSUMNOTREADY},
	} {
		h := newLiveHarness(t, tc.prog, true)
		frame := liveUDP("10.0.0.1", "10.0.0.2", 1, 2, []byte("payload"))
		p := &livePacket{data: frame, wireLen: len(frame), status: tc.status, pkttype: unix.PACKET_HOST}
		allocs := testing.AllocsPerRun(50, func() {
			h.w.handle(0, p)
			for _, fd := range h.sent { // keep the socket buffers from filling
				var buf [2048]byte
				for {
					if n, err := unix.Read(fd, buf[:]); err != nil || n <= 0 {
						break
					}
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%s (status %#x): %v allocations per packet", tc.prog.Name(), tc.status, allocs)
		}
		if s := h.stats(); s.Errors() != 0 || s.Packets < 50 {
			t.Errorf("%s: %s", tc.prog.Name(), s)
		}
	}
}

func TestLiveVerdicts(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		ret  uint32
		n    int
		name string
		act  liveAction
	}{
		{XDP, 0, 0, "aborted", liveActDrop},
		{XDP, 1, 0, "drop", liveActDrop},
		{XDP, 2, 0, "pass", liveActPass},
		{XDP, 3, 0, "tx", liveActTX},
		{XDP, 4, 0, "redirect", liveActRedirect},
		{XDP, 77, 0, "unknown", liveActDrop},
		{TC, 0xffffffff, 0, "unspec", liveActPass},
		{TC, 0, 0, "pass", liveActPass},
		{TC, 2, 0, "drop", liveActDrop},
		{TC, 4, 0, "stolen", liveActDrop},
		{TC, 7, 0, "redirect", liveActRedirect},
		{TC, 8, 0, "trap", liveActDrop},
		{TC, 100, 0, "unknown", liveActPass},
		{SocketFilter, 0, 50, "drop", liveActDrop},
		{SocketFilter, 50, 50, "pass", liveActPass},
		{SocketFilter, 0xffff, 50, "pass", liveActPass},
		{SocketFilter, 20, 50, "truncate", liveActPass},
	} {
		a := liveVerdict(tc.kind, tc.ret, tc.n)
		if a.String() != tc.name || liveActionOf(a) != tc.act {
			t.Errorf("%s %d: %s %d, want %s %d", tc.kind, tc.ret, a, liveActionOf(a), tc.name, tc.act)
		}
	}
	for kind, want := range map[Kind]string{
		XDP:          "aborted,drop,pass,tx,redirect,unknown",
		TC:           "unspec,pass,reclassify,drop,pipe,stolen,queued,repeat,redirect,trap,unknown",
		SocketFilter: "drop,pass,truncate",
	} {
		if got := strings.Join(LiveVerdictNames(kind), ","); got != want {
			t.Errorf("LiveVerdictNames(%s) = %s, want %s", kind, got, want)
		}
	}
	if LiveVerdictNames(0) != nil {
		t.Error("names for kind 0")
	}
}

func TestNewLiveErrors(t *testing.T) {
	coll, _ := loadLive(t, "../testdata/live/live.o")
	prog := coll.Programs["xdp_reflect"]
	for _, tc := range []struct {
		cfg  LiveConfig
		want string
	}{
		{LiveConfig{Iface: "lo"}, "no program"},
		{LiveConfig{Program: prog}, "no interface"},
		{LiveConfig{Program: prog, Iface: "lo", Peer: "lo"}, "the peer is the interface itself"},
		{LiveConfig{Program: prog, Iface: "waggle-nonexistent0"}, "waggle-nonexistent0"},
		{LiveConfig{Program: prog, Iface: "lo", RingBlockSize: 1000}, "multiple of"},
	} {
		if _, err := NewLive(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
	spec, err := waggle.LoadCollectionSpec("../testdata/progs/ringbuf.o")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := NewLive(LiveConfig{Program: c2.Programs["sys_ringbuf_fill"], Iface: "lo"}); err == nil || !strings.Contains(err.Error(), "packets run through XDP") {
		t.Errorf("a syscall program: %v", err)
	}
}

// TestLiveHandleTCAndSocket: tc and socket filter programs get a
// __sk_buff with the receiving interface's ifindex; TC_ACT_OK passes,
// TC_ACT_SHOT drops, a redirect with BPF_F_INGRESS cannot be done; a
// socket filter's result cuts the packet.
func TestLiveHandleTCAndSocket(t *testing.T) {
	coll, _ := loadLive(t, "../testdata/progs/skb_progs.o")
	frame := liveUDP("10.0.0.1", "10.0.0.2", 1, 2, []byte("0123456789"))
	arp := bytes.Clone(frame)
	arp[12], arp[13], arp[14] = 0x08, 0x06, 0x00

	h := newLiveHarness(t, coll.Programs["tc_skb"], true)
	h.w.handle(0, host(frame))
	h.w.handle(0, host(arp))
	if got := h.received(1); len(got) != 1 || !bytes.Equal(got[0], frame) {
		t.Errorf("tc: forwarded %q", got)
	}
	var ifindex uint64
	if err := coll.Maps["skb_res"].Lookup(uint32(8), &ifindex); err != nil || ifindex != 10 {
		t.Errorf("tc: skb->ifindex %d, %v; want 10, the receiving interface", ifindex, err)
	}
	if s := h.stats(); !strings.Contains(s.String(), "verdicts: pass 1, drop 1\n") || s.Forwarded != 1 || s.Dropped != 1 {
		t.Errorf("tc stats:\n%s", s)
	}

	h = newLiveHarness(t, coll.Programs["sock_skb"], true)
	h.w.handle(1, host(frame))
	h.w.handle(1, host(arp))
	if got := h.received(0); len(got) != 1 || !bytes.Equal(got[0], frame[:14+20]) {
		t.Errorf("socket filter: forwarded %q, want the frame cut to 14+20 bytes", got)
	}
	if s := h.stats(); !strings.Contains(s.String(), "verdicts: drop 1, truncate 1\n") {
		t.Errorf("socket filter stats:\n%s", s)
	}

	rc, _ := loadLive(t, "../testdata/progs/redirect.o")
	h = newLiveHarness(t, rc.Programs["tc_redirect"], true)
	h.w.handle(0, host(frame))
	if s := h.stats(); s.BadRedirects != 1 || s.Dropped != 1 || !strings.Contains(s.String(), "verdicts: redirect 1") {
		t.Errorf("tc redirect to a receive path:\n%s", s)
	}
}
