package packet_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/waggle-ebpf/waggle/packet"
)

// The test traffic: frames built here, independently of the programs that
// run on them, and a deterministic generator of captures.

const (
	etherIPv4  = 0x0800
	etherARP   = 0x0806
	etherVLAN  = 0x8100
	etherIPv6  = 0x86dd
	etherLocal = 0x88b5 // "local experimental": carries a command for testdata/verdicts.c

	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
)

// ether returns an Ethernet frame.
func ether(ethertype uint16, payload []byte) []byte {
	b := append(append(append([]byte{}, macB[:]...), macA[:]...), byte(ethertype>>8), byte(ethertype))
	return append(b, payload...)
}

// vlan returns a frame with one 802.1Q tag.
func vlan(id, ethertype uint16, payload []byte) []byte {
	return ether(etherVLAN, append([]byte{byte(id >> 8), byte(id), byte(ethertype >> 8), byte(ethertype)}, payload...))
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ipv4 returns an IPv4 packet with a correct header checksum.
func ipv4(src, dst string, proto uint8, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	h[8] = 64
	h[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], checksum(h))
	return append(h, payload...)
}

// ipv6 returns an IPv6 packet.
func ipv6(src, dst string, next uint8, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

func tcp(sport, dport uint16, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], 1000)
	h[12] = 5 << 4
	h[13] = 0x18 // PSH, ACK
	binary.BigEndian.PutUint16(h[14:], 65535)
	return append(h, payload...)
}

func udp(sport, dport uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

func icmpEcho(typ uint8, seq uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	h[0] = typ
	binary.BigEndian.PutUint16(h[4:], 1)
	binary.BigEndian.PutUint16(h[6:], seq)
	h = append(h, payload...)
	binary.BigEndian.PutUint16(h[2:], checksum(h))
	return h
}

func arp(sender, target string) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	s, t := netip.MustParseAddr(sender).As4(), netip.MustParseAddr(target).As4()
	b = append(append(b, macA[:]...), s[:]...)
	b = append(append(b, make([]byte, 6)...), t[:]...)
	return b
}

// command is a frame for testdata/verdicts.c: ethertype 0x88b5, the
// command byte, then n more bytes.
func command(cmd byte, n int) []byte {
	return ether(etherLocal, append([]byte{cmd}, pattern(n)...))
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// flow is a 5-tuple that the generator sends packets of.
type flow struct {
	v6         bool
	src, dst   string
	proto      uint8
	sport, dpt uint16
}

func (f flow) frame(payload []byte) []byte {
	var l4 []byte
	switch f.proto {
	case protoTCP:
		l4 = tcp(f.sport, f.dpt, payload)
	case protoUDP:
		l4 = udp(f.sport, f.dpt, payload)
	case protoICMP:
		l4 = icmpEcho(8, f.sport, payload)
	case protoICMPv6:
		l4 = icmpEcho(128, f.sport, payload)
	}
	if f.v6 {
		return ether(etherIPv6, ipv6(f.src, f.dst, f.proto, l4))
	}
	return ether(etherIPv4, ipv4(f.src, f.dst, f.proto, l4))
}

// genPacket is a packet of a generated capture.
type genPacket struct {
	ts   time.Time
	data []byte
}

// epoch is the time of the first generated packet.
var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// generate returns n packets chosen with a fixed seed from flows (with
// payloads of 0 to 200 bytes) and, one time in extra, from the frames of
// extras; timestamps start at epoch and advance by whole microseconds.
func generate(seed uint64, n int, flows []flow, extras [][]byte, extra int) []genPacket {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ts := epoch
	out := make([]genPacket, 0, n)
	for range n {
		ts = ts.Add(time.Duration(1+rng.IntN(5000)) * time.Microsecond)
		var data []byte
		if len(extras) > 0 && rng.IntN(extra) == 0 {
			data = extras[rng.IntN(len(extras))]
		} else {
			data = flows[rng.IntN(len(flows))].frame(pattern(rng.IntN(201)))
		}
		out = append(out, genPacket{ts: ts, data: data})
	}
	return out
}

// The traffic of the examples' committed captures.
var (
	exampleFlows = []flow{
		{src: "10.1.2.3", dst: "192.168.1.1", proto: protoTCP, sport: 40000, dpt: 80},
		{src: "192.168.1.1", dst: "10.1.2.3", proto: protoTCP, sport: 80, dpt: 40000},
		{src: "10.1.9.9", dst: "10.0.0.1", proto: protoUDP, sport: 5353, dpt: 53},
		{src: "172.16.0.1", dst: "10.0.0.1", proto: protoUDP, sport: 41000, dpt: 53},
		{src: "192.168.7.7", dst: "10.1.2.3", proto: protoICMP, sport: 1},
		{src: "198.51.100.20", dst: "192.168.1.1", proto: protoTCP, sport: 51000, dpt: 443},
		{v6: true, src: "2001:db8:1::1", dst: "2001:db8::2", proto: protoTCP, sport: 1234, dpt: 443},
		{v6: true, src: "2001:db8:ffff::5", dst: "fd00::9", proto: protoUDP, sport: 5000, dpt: 6000},
		{v6: true, src: "fd00::9", dst: "2001:db8::2", proto: protoICMPv6, sport: 7},
	}
	exampleExtras = [][]byte{
		ether(etherARP, arp("10.1.2.3", "10.0.0.1")),
		vlan(100, etherIPv4, ipv4("10.1.2.3", "192.168.1.1", protoTCP, tcp(40000, 80, []byte("hello")))),
		// IHL 4: malformed.
		func() []byte {
			f := ether(etherIPv4, ipv4("10.7.7.7", "10.0.0.1", protoUDP, udp(1, 2, nil)))
			f[14] = 0x44
			return f
		}(),
		// An IPv4 header cut after 10 bytes.
		ether(etherIPv4, ipv4("10.1.9.9", "10.0.0.1", protoUDP, udp(5353, 53, nil)))[:24],
	}
)

// exampleTraffic is the capture committed as examples/*/traffic.pcap.
func exampleTraffic() []genPacket {
	return generate(1, 64, exampleFlows, exampleExtras, 6)
}

// pcapBytes writes packets as a microsecond pcap.
func pcapBytes(pkts []genPacket) []byte {
	return pcapBytesWith(pkts, packet.WriterOptions{})
}

func pcapBytesWith(pkts []genPacket, opts packet.WriterOptions) []byte {
	var buf bytes.Buffer
	w, err := packet.NewWriter(&buf, opts)
	if err != nil {
		panic(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(p.ts, p.data, len(p.data)); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// pcapngBytes writes packets as pcapng, written here by hand from the
// format's specification (not with package packet): a section header, an
// Ethernet interface with nanosecond timestamps, and enhanced packet
// blocks, in the byte order given.
func pcapngBytes(pkts []genPacket, order binary.AppendByteOrder) []byte {
	var b []byte
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		total := uint32(12 + len(body))
		b = order.AppendUint32(b, typ)
		b = order.AppendUint32(b, total)
		b = append(b, body...)
		b = order.AppendUint32(b, total)
	}
	shb := order.AppendUint32(nil, 0x1a2b3c4d)
	shb = order.AppendUint16(shb, 1)
	shb = order.AppendUint16(shb, 0)
	shb = order.AppendUint64(shb, ^uint64(0)) // section length not given
	block(0x0a0d0d0a, shb)
	idb := order.AppendUint16(nil, 1) // Ethernet
	idb = order.AppendUint16(idb, 0)
	idb = order.AppendUint32(idb, 0) // no snaplen
	idb = order.AppendUint16(idb, 9) // if_tsresol
	idb = order.AppendUint16(idb, 1) // 1 byte
	idb = append(idb, 9, 0, 0, 0)    // 10^-9 s, padding
	idb = order.AppendUint32(idb, 0) // opt_endofopt
	block(1, idb)
	for _, p := range pkts {
		ns := uint64(p.ts.UnixNano())
		epb := order.AppendUint32(nil, 0)
		epb = order.AppendUint32(epb, uint32(ns>>32))
		epb = order.AppendUint32(epb, uint32(ns))
		epb = order.AppendUint32(epb, uint32(len(p.data)))
		epb = order.AppendUint32(epb, uint32(len(p.data)))
		epb = append(epb, p.data...)
		block(6, epb)
	}
	return b
}
