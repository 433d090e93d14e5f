package kerneltest

import (
	"encoding/binary"
	"net/netip"
)

// Ethertypes and IP protocol numbers used by the test packets.
const (
	EtherTypeIPv4  = 0x0800
	EtherTypeARP   = 0x0806
	EtherTypeVLAN  = 0x8100
	EtherTypeIPv6  = 0x86dd
	EtherTypeLocal = 0x88b5 // IEEE "local experimental": no program parses it

	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// MAC is an Ethernet address.
type MAC [6]byte

// The addresses the test frames use.
var (
	MACSrc = MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	MACDst = MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// Ethernet returns an Ethernet II frame: dst, src, ethertype, payload.
func Ethernet(dst, src MAC, ethertype uint16, payload []byte) []byte {
	b := make([]byte, 0, 14+len(payload))
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	b = binary.BigEndian.AppendUint16(b, ethertype)
	return append(b, payload...)
}

// VLAN returns an Ethernet frame with one 802.1Q tag (TPID 0x8100, the
// given tag control information) in front of ethertype.
func VLAN(dst, src MAC, tci, ethertype uint16, payload []byte) []byte {
	inner := binary.BigEndian.AppendUint16(nil, tci)
	inner = binary.BigEndian.AppendUint16(inner, ethertype)
	return Ethernet(dst, src, EtherTypeVLAN, append(inner, payload...))
}

// Checksum is the Internet checksum (RFC 1071) of b.
func Checksum(b []byte) uint16 {
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

// IPv4 returns an IPv4 packet with a 20-byte header (ID 0, don't-fragment
// clear, TTL 64) and a correct header checksum.
func IPv4(src, dst netip.Addr, proto uint8, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], Checksum(h))
	return append(h, payload...)
}

// IPv6 returns an IPv6 packet (hop limit 64, no extension headers).
func IPv6(src, dst netip.Addr, nextHeader uint8, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = nextHeader
	h[7] = 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

// TCP returns a 20-byte TCP header (sequence 1, no options, window 65535,
// checksum left 0: no test program checks it) followed by payload.
func TCP(sport, dport uint16, flags uint8, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], 1)
	h[12] = 5 << 4
	h[13] = flags
	binary.BigEndian.PutUint16(h[14:], 0xffff)
	return append(h, payload...)
}

// TCP flags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPAck = 0x10
)

// UDP returns a UDP header (checksum 0: none) followed by payload.
func UDP(sport, dport uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

// ICMPEcho returns an ICMP (typ 8) or ICMPv6 (typ 128) echo request with a
// checksum over the ICMP message (correct for ICMPv4; ICMPv6 would also need
// the pseudo-header, which no test program checks).
func ICMPEcho(typ uint8, id, seq uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	h[0] = typ
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], seq)
	h = append(h, payload...)
	binary.BigEndian.PutUint16(h[2:], Checksum(h))
	return h
}

// ARPRequest returns an ARP request (Ethernet/IPv4, 28 bytes) asking for
// target from sender (senderMAC, senderIP).
func ARPRequest(senderMAC MAC, senderIP, target netip.Addr) []byte {
	b := make([]byte, 0, 28)
	b = binary.BigEndian.AppendUint16(b, 1)      // hardware type: Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800) // protocol type: IPv4
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, 1) // request
	b = append(b, senderMAC[:]...)
	s, t := senderIP.As4(), target.As4()
	b = append(b, s[:]...)
	b = append(b, make([]byte, 6)...)
	return append(b, t[:]...)
}

// Pattern returns n bytes 0, 1, 2, ... (mod 256), a recognisable payload.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

var (
	addrA    = netip.MustParseAddr("10.1.2.3")
	addrB    = netip.MustParseAddr("192.168.1.1")
	addrC    = netip.MustParseAddr("10.1.9.9")
	addrD    = netip.MustParseAddr("10.0.0.1")
	addrE    = netip.MustParseAddr("192.168.7.7")
	addrF    = netip.MustParseAddr("172.16.0.1")
	addr6A   = netip.MustParseAddr("2001:db8:1::1")
	addr6B   = netip.MustParseAddr("2001:db8::2")
	addr6C   = netip.MustParseAddr("2001:db8:ffff::5")
	addr6Far = netip.MustParseAddr("fd00::9")
)

// The frames of the test cases. Each function returns a new slice.

// FrameTCP4 is 59 bytes: 10.1.2.3:40000 -> 192.168.1.1:80, TCP SYN, payload
// "hello".
func FrameTCP4() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv4,
		IPv4(addrA, addrB, ProtoTCP, TCP(40000, 80, TCPSyn, []byte("hello"))))
}

// FrameUDP4 is 50 bytes: 10.1.9.9:5353 -> 10.0.0.1:53, UDP, 8-byte payload
// 0..7.
func FrameUDP4() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv4, IPv4(addrC, addrD, ProtoUDP, UDP(5353, 53, Pattern(8))))
}

// FrameICMP4 is 58 bytes: 192.168.7.7 -> 10.1.2.3, ICMP echo request id 1
// seq 1 with 16 bytes of payload.
func FrameICMP4() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv4, IPv4(addrE, addrA, ProtoICMP, ICMPEcho(8, 1, 1, Pattern(16))))
}

// FrameUnrouted4 is 50 bytes: like FrameUDP4 but from 172.16.0.1.
func FrameUnrouted4() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv4, IPv4(addrF, addrD, ProtoUDP, UDP(5353, 53, Pattern(8))))
}

// FrameTCP6 is 74 bytes: [2001:db8:1::1]:1234 -> [2001:db8::2]:443, TCP ACK.
func FrameTCP6() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv6, IPv6(addr6A, addr6B, ProtoTCP, TCP(1234, 443, TCPAck, nil)))
}

// FrameUDP6 is 66 bytes: [2001:db8:ffff::5]:5000 -> [fd00::9]:6000, 4-byte
// payload.
func FrameUDP6() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv6, IPv6(addr6C, addr6Far, ProtoUDP, UDP(5000, 6000, Pattern(4))))
}

// FrameICMP6 is 62 bytes: fd00::9 -> 2001:db8::2, ICMPv6 echo request.
func FrameICMP6() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv6, IPv6(addr6Far, addr6B, ProtoICMPv6, ICMPEcho(128, 7, 1, nil)))
}

// FrameARP is 42 bytes: who has 10.0.0.1, tell 10.1.2.3 (broadcast).
func FrameARP() []byte {
	return Ethernet(MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, MACSrc, EtherTypeARP, ARPRequest(MACSrc, addrA, addrD))
}

// FrameVLANTCP4 is 63 bytes: FrameTCP4's IPv4 packet behind an 802.1Q tag
// with VLAN id 100.
func FrameVLANTCP4() []byte {
	return VLAN(MACDst, MACSrc, 100, EtherTypeIPv4,
		IPv4(addrA, addrB, ProtoTCP, TCP(40000, 80, TCPSyn, []byte("hello"))))
}

// FrameShortIPv4 is 24 bytes: an Ethernet header announcing IPv4 followed
// by only 10 bytes of an IPv4 header.
func FrameShortIPv4() []byte {
	full := FrameUDP4()
	return full[:24]
}

// FrameMinimal is 14 bytes: an Ethernet header alone, ethertype 0x88b5.
func FrameMinimal() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeLocal, nil)
}

// FrameOther is 44 bytes: ethertype 0x88b5 with 30 bytes of payload.
func FrameOther() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeLocal, Pattern(30))
}

// FrameBigUDP4 is 642 bytes: like FrameUDP4 with a 600-byte payload.
func FrameBigUDP4() []byte {
	return Ethernet(MACDst, MACSrc, EtherTypeIPv4, IPv4(addrC, addrD, ProtoUDP, UDP(5353, 53, Pattern(600))))
}
