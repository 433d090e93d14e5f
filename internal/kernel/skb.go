package kernel

import (
	"encoding/binary"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// skbSize is sizeof(struct __sk_buff).
const skbSize = 192

// Offsets of struct __sk_buff fields.
const (
	skbLen            = 0
	skbPktType        = 4
	skbMark           = 8
	skbQueueMapping   = 12
	skbProtocol       = 16
	skbVlanPresent    = 20
	skbVlanTCI        = 24
	skbVlanProto      = 28
	skbPriority       = 32
	skbIngressIfindex = 36
	skbIfindex        = 40
	skbTCIndex        = 44
	skbCB             = 48
	skbCBEnd          = 68
	skbHash           = 68
	skbTCClassid      = 72
	skbData           = 76
	skbDataEnd        = 80
	skbNapiID         = 84
	skbFamily         = 88  // family to local_port: sk_skb programs only
	skbLocalPortEnd   = 140 // offsetofend(local_port)
	skbDataMeta       = 140
	skbFlowKeys       = 144
	skbTstamp         = 152
	skbWireLen        = 160
	skbGSOSegs        = 164
	skbSk             = 168
	skbGSOSize        = 176
	skbTstampType     = 180
	skbHwtstamp       = 184
)

// skbState is the sk_buff of a tc or socket filter run. buf holds the
// skb's linear data with room before it (the head) and after it: the
// packet is buf[head:n], skb->data is buf[head] — the Ethernet header for
// tc programs (l2) and the network header for socket filters, whose test
// run pulls the Ethernet header as a socket's receive path does. mac,
// network and transport are the header offsets in buf (transport -1 when
// not set, as in the test run). Helpers that change the packet's size or
// start (skb_change_head/tail, skb_adjust_room, skb_change_proto,
// skb_vlan_push/pop) move head and n and, when the room runs out,
// reallocate buf (grow).
type skbState struct {
	buf       []byte
	head, n   int
	mac       int
	network   int
	transport int
	l2        bool
	cg        bool // cgroup_skb: cg_skb_is_valid_access's fields
	// sk is the socket that skb->sk points to, as the kernel's test run
	// gives one (fillSock), read-only.
	sk       [bpfSockSize]byte
	skRegion memory.Region

	pktType      uint32
	protocol     uint32 // skb->protocol as a load sees it: the EtherType's two bytes
	mark         uint32
	priority     uint32
	ingress      uint32
	ifindex      uint32
	tcIndex      uint16
	tcClassid    uint16
	queueMapping uint16
	cb           [20]byte
	tstamp       uint64
	hwtstamp     uint64
	wireLen      uint32
	gsoSegs      uint32
	gsoSize      uint32
	ctxIn        [skbSize]byte

	// hash is skb->hash; swHash and l4Hash its flags (skb_set_sw_hash).
	hash           uint32
	swHash, l4Hash bool
	// csumUnnecessary and csumLevel are ip_summed (CHECKSUM_NONE or
	// CHECKSUM_UNNECESSARY: the only states a test run's skb can reach)
	// and csum_level.
	csumUnnecessary bool
	csumLevel       uint8
	// encap is skb->encapsulation, set by skb_adjust_room's encap flags.
	encap bool
	// The hardware-accelerated VLAN tag: vlanProto as a load sees it
	// (network byte order), vlanTCI.
	vlanPresent bool
	vlanProto   uint16
	vlanTCI     uint16
	// tunnel is the tunnel metadata (skb_set_tunnel_key), nil for none.
	tunnel *TunnelKey
	// tunnelSet holds the metadata that skb_set_tunnel_key wrote, so
	// that a run allocates nothing.
	tunnelSet TunnelKey
	// retired are the buffers grow replaced during the run, kept until
	// the next run: a packet pointer into one, which the verifier makes
	// the program drop after the helper, could never reach freed memory.
	retired [][]byte
}

// skbPad is where a run's packet starts in buf: the kernel's test run
// reserves NET_SKB_PAD (64) bytes; waggle leaves more, so that helpers
// that push headers rarely need to reallocate.
const skbPad = 256

// dataOff is the offset of skb->data in buf.
func (s *skbState) dataOff() int { return s.head }

// len is skb->len.
func (s *skbState) len() int { return s.n - s.head }

// data is the packet from skb->data.
func (s *skbState) data() []byte { return s.buf[s.head:s.n] }

// skbMaxBuf is the most an skb's buffer may grow to: KMALLOC_MAX_SIZE
// (4 MiB), past which the kernel's pskb_expand_head fails.
const skbMaxBuf = 4 << 20

// grow makes room for headroom bytes before skb->data and tailroom bytes
// after its end, reallocating buf (and moving every offset) when it must.
// It returns false, changing nothing, when the buffer would be larger
// than skbMaxBuf (the helper then returns -ENOMEM, as the kernel's).
func (s *skbState) grow(headroom, tailroom int) bool {
	if s.head >= headroom && len(s.buf)-s.n >= tailroom {
		return true
	}
	if headroom < 0 || tailroom < 0 || headroom+tailroom+s.n-min(s.mac, s.head) > skbMaxBuf-skbPad-sharedInfoSize {
		return false
	}
	// The MAC header may be before skb->data (socket filters).
	lo := min(s.mac, s.head)
	newHead := max(headroom, skbPad) + s.head - lo
	size := newHead + s.len() + max(tailroom, sharedInfoSize)
	nb := make([]byte, size)
	copy(nb[newHead-(s.head-lo):], s.buf[lo:s.n])
	delta := newHead - s.head
	s.retired = append(s.retired, s.buf)
	s.buf = nb
	s.head += delta
	s.n += delta
	s.mac += delta
	s.network += delta
	if s.transport >= 0 {
		s.transport += delta
	}
	return true
}

// The fields of __sk_buff that ctx_in may set (convert___skb_to_skb).
var skbCtxInAllowed = [][2]int{
	{skbMark, skbMark + 4},
	{skbPriority, skbIfindex + 4}, // priority, ingress_ifindex, ifindex
	{skbCB, skbCBEnd},
	{skbTstamp, skbGSOSegs + 4}, // tstamp, wire_len, gso_segs
	{skbGSOSize, skbGSOSize + 4},
	{skbHwtstamp, skbHwtstamp + 8},
}

// setupSKB is bpf_prog_test_run_skb's preparation. waggle behaves as the
// kernel does when ctx_out is requested: a missing ctx_in is a zero
// __sk_buff (so wire_len starts as skb->len).
func (r *Run) setupSKB(data, ctxIn []byte) error {
	s := &r.skb
	n := len(data)
	if n < ethHLen {
		return errnof(errno.EINVAL, "a packet of %d bytes is shorter than an Ethernet header", n)
	}
	if n > skbMaxData {
		return errnof(errno.EINVAL, "a packet of %d bytes is larger than the %d bytes an skb test run takes", n, skbMaxData)
	}
	if err := checkTailZero(ctxIn, skbSize); err != nil {
		return err
	}
	ctx := &s.ctxIn
	*ctx = [skbSize]byte{}
	copy(ctx[:], ctxIn)
	for i := 0; i < skbSize; i++ {
		if ctx[i] == 0 {
			continue
		}
		ok := false
		for _, a := range skbCtxInAllowed {
			if i >= a[0] && i < a[1] {
				ok = true
			}
		}
		if !ok {
			return errnof(errno.EINVAL, "__sk_buff: byte %d is set, but ctx_in may set only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size and hwtstamp", i)
		}
	}
	u32 := func(off int) uint32 { return binary.NativeEndian.Uint32(ctx[off:]) }

	clear(s.retired)
	s.retired = s.retired[:0]
	// A buffer that a helper grew past 64 KiB is not kept for the next
	// runs.
	if len(s.buf) < skbPad+n+sharedInfoSize || len(s.buf) > 64<<10 {
		s.buf = make([]byte, skbPad+skbMaxData+sharedInfoSize)
	}
	s.mac = skbPad
	s.network = skbPad + ethHLen
	s.transport = -1
	s.head = s.network
	if s.l2 {
		s.head = s.mac
	}
	copy(s.buf[skbPad:], data)
	s.n = skbPad + n
	s.hash, s.swHash, s.l4Hash = 0, false, false
	s.csumUnnecessary, s.csumLevel, s.encap = false, 0, false
	s.vlanPresent, s.vlanProto, s.vlanTCI = false, 0, 0
	s.tunnel = nil
	if r.tunnelIn != nil {
		s.tunnelSet = *r.tunnelIn
		s.tunnelSet.Options = append([]byte(nil), r.tunnelIn.Options...)
		s.tunnelSet.TX = false
		s.tunnel = &s.tunnelSet
	}
	s.ifindex = 1 // the loopback device
	if ix := u32(skbIfindex); ix > 1 {
		s.ifindex = ix
	}
	// eth_type_trans, on a device whose address and broadcast address are
	// zero, as the loopback device's.
	dst := s.buf[s.mac : s.mac+6]
	switch {
	case dst[0]|dst[1]|dst[2]|dst[3]|dst[4]|dst[5] == 0:
		s.pktType = 0 // PACKET_HOST
	case dst[0]&1 != 0:
		s.pktType = 2 // PACKET_MULTICAST
	default:
		s.pktType = 3 // PACKET_OTHERHOST
	}
	et := binary.BigEndian.Uint16(s.buf[s.mac+12:])
	switch {
	case et >= 0x600:
	case binary.BigEndian.Uint16(s.buf[s.mac+14:]) == 0xffff && n >= 16:
		et = 0x0001 // ETH_P_802_3
	default:
		et = 0x0004 // ETH_P_802_2
	}
	var be [2]byte
	binary.BigEndian.PutUint16(be[:], et)
	s.protocol = uint32(binary.NativeEndian.Uint16(be[:]))
	switch et {
	case 0x0800:
		if n < ethHLen+20 {
			return errnof(errno.EINVAL, "an IPv4 packet of %d bytes is shorter than its headers", n)
		}
	case 0x86dd:
		if n < ethHLen+40 {
			return errnof(errno.EINVAL, "an IPv6 packet of %d bytes is shorter than its headers", n)
		}
	}

	s.mark = u32(skbMark)
	s.priority = u32(skbPriority)
	s.ingress = u32(skbIngressIfindex)
	copy(s.cb[:], ctx[skbCB:skbCBEnd])
	s.tstamp = binary.NativeEndian.Uint64(ctx[skbTstamp:])
	s.hwtstamp = binary.NativeEndian.Uint64(ctx[skbHwtstamp:])
	s.tcIndex, s.tcClassid, s.queueMapping = 0, 0, 0
	s.wireLen = u32(skbWireLen)
	if s.wireLen == 0 {
		s.wireLen = uint32(s.len())
	} else if s.wireLen < uint32(s.len()) || s.wireLen > 65536 {
		return errnof(errno.EINVAL, "__sk_buff: wire_len %d is not between the packet's length %d and 65536", s.wireLen, s.len())
	}
	s.gsoSegs = u32(skbGSOSegs)
	if s.gsoSegs > 65535 {
		return errnof(errno.EINVAL, "__sk_buff: gso_segs %d is above 65535", s.gsoSegs)
	}
	s.gsoSize = u32(skbGSOSize)
	return nil
}

// finishSKB fills data_out (for socket filters the test run pushes back a
// zeroed Ethernet header) and ctx_out (ctx_in with the fields the kernel
// writes back).
func (r *Run) finishSKB(out *Output) {
	s := &r.skb
	if !s.l2 {
		out.Data = append(out.Data, make([]byte, ethHLen)...)
	}
	out.Data = append(out.Data, s.data()...)
	ctx := s.ctxIn
	put := func(off int, v uint32) { binary.NativeEndian.PutUint32(ctx[off:], v) }
	put(skbMark, s.mark)
	put(skbPriority, s.priority)
	put(skbIngressIfindex, s.ingress)
	put(skbIfindex, s.ifindex)
	binary.NativeEndian.PutUint64(ctx[skbTstamp:], s.tstamp)
	copy(ctx[skbCB:skbCBEnd], s.cb[:])
	put(skbWireLen, s.wireLen)
	put(skbGSOSegs, s.gsoSegs)
	binary.NativeEndian.PutUint64(ctx[skbHwtstamp:], s.hwtstamp)
	out.Context = append(out.Context, ctx[:]...)
}

// skbContext serves struct __sk_buff with the access rules of the kernel's
// sk_filter_is_valid_access and tc_cls_act_is_valid_access.
type skbContext Run

func in(off, start, end uint64) bool { return off >= start && off < end }

// Load implements memory.Virtual.
func (c *skbContext) Load(off, size uint64) (uint64, bool) {
	r := (*Run)(c)
	s := &r.skb
	if off >= skbSize || off%size != 0 {
		return 0, false
	}
	if s.cg {
		// cgroup_skb: no tc_classid, data_meta, wire_len or
		// tstamp_type; the socket's addresses.
		if in(off, skbTCClassid, skbData) || in(off, skbDataMeta, skbFlowKeys) ||
			in(off, skbWireLen, skbGSOSegs) || in(off, skbTstampType, skbHwtstamp) {
			return 0, false
		}
		if in(off, skbFamily, skbLocalPortEnd) {
			return s.sockField(off, size)
		}
	} else if in(off, skbFamily, skbLocalPortEnd) {
		return 0, false
	} else if !s.l2 {
		// Socket filters.
		if in(off, skbTCClassid, skbTCClassid+4) || in(off, skbData, skbNapiID) ||
			in(off, skbDataMeta, skbDataMeta+4) || in(off, skbTstamp, skbWireLen+4) ||
			in(off, skbHwtstamp, skbSize) {
			return 0, false
		}
	} else if off == skbTstampType {
		if size != 1 {
			return 0, false
		}
		return 0, true
	}
	switch {
	case in(off, skbCB, skbCBEnd):
		if off+size > skbCBEnd {
			return 0, false
		}
		return loadLE(s.cb[off-skbCB:], size), true
	case in(off, skbData, skbDataEnd+4) || in(off, skbDataMeta, skbDataMeta+4):
		if size != 4 {
			return 0, false
		}
		base := addrOf(s.buf)
		if off == skbDataEnd {
			return base + uint64(s.n), true
		}
		return base + uint64(s.dataOff()), true
	case in(off, skbFlowKeys, skbFlowKeys+8):
		return 0, false
	case in(off, skbHwtstamp, skbSize):
		if size != 8 {
			return 0, false
		}
		return s.hwtstamp, true
	case in(off, skbTstamp, skbTstamp+8):
		if size != 8 {
			return 0, false
		}
		return s.tstamp, true
	case in(off, skbSk, skbSk+8):
		// A pointer to the socket (the verifier has the program test
		// it against NULL).
		if size != 8 {
			return 0, false
		}
		return addrOf(s.sk[:]), true
	case in(off, skbTstampType, skbHwtstamp):
		return 0, false
	}
	// The other fields are u32; narrow reads take their low bytes first.
	if size > 4 {
		return 0, false
	}
	var v uint32
	switch off &^ 3 {
	case skbLen:
		v = uint32(s.len())
	case skbPktType:
		v = s.pktType
	case skbMark:
		v = s.mark
	case skbQueueMapping:
		v = uint32(s.queueMapping)
	case skbProtocol:
		v = s.protocol
	case skbVlanPresent:
		if s.vlanPresent {
			v = 1
		}
	case skbVlanTCI:
		v = uint32(s.vlanTCI)
	case skbVlanProto:
		v = uint32(s.vlanProto)
	case skbHash:
		v = s.hash
	case skbNapiID:
		v = 0
	case skbPriority:
		v = s.priority
	case skbIngressIfindex:
		v = s.ingress
	case skbIfindex:
		v = s.ifindex
	case skbTCIndex:
		v = uint32(s.tcIndex)
	case skbTCClassid:
		v = uint32(s.tcClassid)
	case skbWireLen:
		v = s.wireLen
	case skbGSOSegs:
		v = s.gsoSegs
	case skbGSOSize:
		v = s.gsoSize
	default:
		return 0, false
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	return loadLE(b[off&3:], size), true
}

// Store implements memory.Virtual.
func (c *skbContext) Store(off, size, value uint64) bool {
	r := (*Run)(c)
	s := &r.skb
	if off >= skbSize || off%size != 0 {
		return false
	}
	if in(off, skbCB, skbCBEnd) {
		if off+size > skbCBEnd {
			return false
		}
		storeLE(s.cb[off-skbCB:], size, value)
		return true
	}
	if !s.l2 && !s.cg {
		return false // socket filters may write only cb
	}
	if off == skbTstamp {
		if size != 8 {
			return false
		}
		s.tstamp = value
		return true
	}
	if size != 4 {
		return false
	}
	switch off {
	case skbMark:
		s.mark = uint32(value)
	case skbPriority:
		s.priority = uint32(value)
	}
	if s.cg {
		return off == skbMark || off == skbPriority // and cb, tstamp above
	}
	switch off {
	case skbMark, skbPriority:
	case skbTCIndex:
		s.tcIndex = uint16(value)
	case skbTCClassid:
		s.tcClassid = uint16(value)
	case skbQueueMapping:
		// NO_QUEUE_MAPPING and above leave the mapping as it is.
		if value < 0xffff {
			s.queueMapping = uint16(value)
		}
	default:
		return false
	}
	return true
}

// fillSock writes the socket of an skb run (skb->sk, for tc, socket
// filter and cgroup_skb programs alike): the one bpf_prog_test_run_skb
// gives the skb, whose family and addresses come
// from the packet's IPv4 or IPv6 header (source: the socket's, the
// destination: its peer's), with ports 0, state TCP_CLOSE and no receive
// queue (rx_queue_mapping -1).
func (s *skbState) fillSock() {
	s.sk = [bpfSockSize]byte{}
	nh := s.buf[s.network:s.n]
	switch binary.BigEndian.Uint16(s.buf[s.mac+12:]) {
	case 0x0800:
		binary.NativeEndian.PutUint32(s.sk[bsFamily:], afInet)
		copy(s.sk[bsSrcIP4:bsSrcIP4+4], nh[12:16])
		copy(s.sk[bsDstIP4:bsDstIP4+4], nh[16:20])
	case 0x86dd:
		binary.NativeEndian.PutUint32(s.sk[bsFamily:], afInet6)
		copy(s.sk[bsSrcIP6:bsSrcIP6+16], nh[8:24])
		copy(s.sk[bsDstIP6:bsDstIP6+16], nh[24:40])
	}
	binary.NativeEndian.PutUint32(s.sk[bsState:], 7) // TCP_CLOSE
	binary.NativeEndian.PutUint32(s.sk[bsRxQueue:], 0xffffffff)
}

// sockField serves __sk_buff's family to local_port in cgroup_skb runs:
// the fields of the socket the kernel's test run gives the skb
// (bpf_prog_test_run_skb), whose family and addresses come from the
// packet's IPv4 or IPv6 header (local: the source, remote: the
// destination) and whose ports are 0. The addresses are read 4 bytes at
// a time, family and the ports also narrower.
func (s *skbState) sockField(off, size uint64) (uint64, bool) {
	const remotePort = skbFamily + 44
	narrowOK := off&^3 == skbFamily || off >= remotePort
	if size > 4 || size < 4 && !narrowOK {
		return 0, false
	}
	nh := s.buf[s.network:s.n]
	et := binary.BigEndian.Uint16(s.buf[s.mac+12:])
	ip4, ip6 := et == 0x0800, et == 0x86dd // setupSKB checked their headers are there
	var v [4]byte
	slot := off &^ 3
	switch {
	case slot == skbFamily:
		switch {
		case ip4:
			binary.NativeEndian.PutUint32(v[:], afInet)
		case ip6:
			binary.NativeEndian.PutUint32(v[:], afInet6)
		}
	case ip4 && slot == skbFamily+4: // remote_ip4
		copy(v[:], nh[16:20])
	case ip4 && slot == skbFamily+8: // local_ip4
		copy(v[:], nh[12:16])
	case ip6 && in(slot, skbFamily+12, skbFamily+28): // remote_ip6
		copy(v[:], nh[24+slot-(skbFamily+12):])
	case ip6 && in(slot, skbFamily+28, remotePort): // local_ip6
		copy(v[:], nh[8+slot-(skbFamily+28):])
	}
	return loadLE(v[off&3:], size), true
}

// skbRun returns the skb run of a call, or an error ending the run.
func skbRun(c *helper.Call) (*Run, error) {
	r, err := runOf(c)
	if err != nil {
		return nil, err
	}
	if r.kind != kindSKB {
		return nil, errNotType(r, "tc or socket filter")
	}
	return r, nil
}

// skbLoadBytes is bpf_skb_load_bytes(skb, offset, to, len): copies len bytes
// of the packet from skb->data + offset; outside the packet it zeroes to and
// returns -EFAULT.
func skbLoadBytes(c *helper.Call) (uint64, error) {
	r, err := skbRun(c)
	if err != nil {
		return 0, err
	}
	s := &r.skb
	off, n := uint64(uint32(c.Args[1])), uint64(uint32(c.Args[3]))
	to, err := c.Write(c.Args[2], n)
	if err != nil {
		return 0, err
	}
	pkt := s.buf[s.dataOff():s.n]
	if off > 1<<31-1 || off+n > uint64(len(pkt)) {
		clear(to)
		return neg(errno.EFAULT), nil
	}
	copy(to, pkt[off:off+n])
	return 0, nil
}
