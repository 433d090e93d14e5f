package kernel

import (
	"encoding/binary"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// The contexts of the cgroup socket programs (cgroup_sock, cgroup_sock_addr,
// sock_ops): structures the kernel fills from a socket, which it cannot
// test-run. waggle defines their run: RunOptions.Context is the structure,
// in the host's byte order, the program reads it and writes the fields its
// attach type may write, and the context out is the structure after the
// run, pointer fields zero.

// Sizes of the structures.
const (
	bpfSockSize  = 80  // struct bpf_sock
	sockAddrSize = 72  // struct bpf_sock_addr
	sockOpsSize  = 224 // struct bpf_sock_ops
)

// Offsets of struct bpf_sock.
const (
	bsBoundDevIf = 0
	bsFamily     = 4
	bsType       = 8
	bsProtocol   = 12
	bsMark       = 16
	bsPriority   = 20
	bsSrcIP4     = 24
	bsSrcIP6     = 28
	bsSrcPort    = 44
	bsDstPort    = 48
	bsDstIP4     = 52
	bsDstIP6     = 56
	bsState      = 72
	bsRxQueue    = 76
)

// Offsets of struct bpf_sock_addr.
const (
	saUserFamily = 0
	saUserIP4    = 4
	saUserIP6    = 8
	saUserPort   = 24
	saFamily     = 28
	saType       = 32
	saProtocol   = 36
	saMsgSrcIP4  = 40
	saMsgSrcIP6  = 44
	saSk         = 64
)

// Offsets of struct bpf_sock_ops.
const (
	soOp          = 0
	soReply       = 4 // reply, args[0], replylong[0]
	soFamily      = 20
	soRemoteIP4   = 24
	soLocalIP4    = 28
	soRemoteIP6   = 32
	soLocalIP6    = 48
	soRemotePort  = 64
	soLocalPort   = 68
	soIsFullsock  = 72
	soCBFlags     = 84 // bpf_sock_ops_cb_flags
	soState       = 88
	soSkTxhash    = 164
	soBytesRecv   = 168
	soSk          = 184
	soSkbData     = 192
	soSkbDataEnd  = 200
	soSkbLen      = 208
	soSkbTCPFlags = 212
	soSkbHwtstamp = 216
)

// sockFields lists struct bpf_sock as bpf_sock_is_valid_access reads it.
// For cgroup_sock programs (attach), the fields depend on the attach type,
// as __sock_filter_check_attach_type: bound_dev_if, mark and priority only
// in sock_create and sock_release (which may write them), src_ip4 only in
// post_bind4, src_ip6 only in post_bind6, src_port only in post_bind4/6.
// Through a socket pointer (attach nil), every field reads; common
// leaves out type to priority, which a struct sock_common lacks
// (bpf_sock_common_is_valid_access).
func sockFields(attach *string, common bool) []CtxField {
	at := func(names ...string) bool {
		if attach == nil {
			return true
		}
		for _, n := range names {
			if *attach == n {
				return true
			}
		}
		return false
	}
	create := at("sock_create", "sock_release")
	var wr uint16
	if attach != nil && create {
		wr = Size4
	}
	u32 := func(name string, off int) CtxField { return CtxField{Name: name, Off: off, Size: 4, Read: Size4} }
	start := func(name string, off int) CtxField {
		return CtxField{Name: name, Off: off, Size: 4, Read: Narrow, NarrowAtStart: true}
	}
	var f []CtxField
	if create {
		bd := u32("bound_dev_if", bsBoundDevIf)
		bd.Write = wr
		f = append(f, bd)
	}
	f = append(f, start("family", bsFamily))
	if !common {
		f = append(f, start("type", bsType), start("protocol", bsProtocol))
		if create {
			mark, prio := u32("mark", bsMark), u32("priority", bsPriority)
			mark.Write, prio.Write = wr, wr
			f = append(f, mark, prio)
		}
	}
	if at("post_bind4") {
		f = append(f, CtxField{Name: "src_ip4", Off: bsSrcIP4, Size: 4, Read: Narrow})
	}
	if at("post_bind6") {
		f = append(f, CtxField{Name: "src_ip6", Off: bsSrcIP6, Size: 16, Read: Narrow})
	}
	if at("post_bind4", "post_bind6") {
		f = append(f, start("src_port", bsSrcPort))
	}
	return append(f,
		CtxField{Name: "dst_port", Off: bsDstPort, Size: 4, Read: Narrow, NarrowWithin: 2},
		CtxField{Name: "dst_ip4", Off: bsDstIP4, Size: 4, Read: Narrow},
		CtxField{Name: "dst_ip6", Off: bsDstIP6, Size: 16, Read: Narrow},
		start("state", bsState),
		start("rx_queue_mapping", bsRxQueue),
	)
}

// SockDesc is struct bpf_sock as a program reads it through a pointer to
// a full socket (PTR_TO_SOCKET: bpf_sock_addr.sk, bpf_sock_ops.sk).
var SockDesc = CtxDesc{Name: "struct bpf_sock", Size: bpfSockSize, Fields: sockFields(nil, false)}

// SockCommonDesc is struct bpf_sock as a program reads it through a
// pointer to a struct sock_common (PTR_TO_SOCK_COMMON: __sk_buff.sk).
var SockCommonDesc = CtxDesc{Name: "struct bpf_sock", Size: bpfSockSize, Fields: sockFields(nil, true)}

// sockAddrFields lists struct bpf_sock_addr as sock_addr_is_valid_access
// allows it for attach type attach (libbpf's name): user_ip4 in the IPv4
// attach types, user_ip6 in the IPv6 ones, msg_src_ip4/6 in sendmsg4/6
// only; the addresses and user_port read narrow and write 4 bytes (the
// IPv6 arrays also 8 at a time), the rest read 4 bytes; sk is the socket.
func sockAddrFields(attach string) []CtxField {
	ip4, ip6 := false, false
	switch attach {
	case "bind4", "connect4", "getpeername4", "getsockname4", "sendmsg4", "recvmsg4":
		ip4 = true
	case "bind6", "connect6", "getpeername6", "getsockname6", "sendmsg6", "recvmsg6":
		ip6 = true
	}
	addr := func(name string, off, size int) CtxField {
		f := CtxField{Name: name, Off: off, Size: size, Read: Narrow, Write: Size4}
		if size == 16 {
			f.Read |= Size8
			f.Write |= Size8
		}
		return f
	}
	u32 := func(name string, off int) CtxField { return CtxField{Name: name, Off: off, Size: 4, Read: Size4} }
	f := []CtxField{u32("user_family", saUserFamily)}
	if ip4 {
		f = append(f, addr("user_ip4", saUserIP4, 4))
	}
	if ip6 {
		f = append(f, addr("user_ip6", saUserIP6, 16))
	}
	f = append(f, addr("user_port", saUserPort, 4), u32("family", saFamily), u32("type", saType), u32("protocol", saProtocol))
	if attach == "sendmsg4" {
		f = append(f, addr("msg_src_ip4", saMsgSrcIP4, 4))
	}
	if attach == "sendmsg6" {
		f = append(f, addr("msg_src_ip6", saMsgSrcIP6, 16))
	}
	return append(f, CtxField{Name: "sk", Off: saSk, Size: 8, Read: Size8, Kind: CtxSocket})
}

// sockOpsFields lists struct bpf_sock_ops as sock_ops_is_valid_access
// allows it: 4-byte reads of the u32 fields, 8-byte reads of the u64
// ones and pointers, narrow reads of skb_tcp_flags (at its offset);
// writes of reply and
// sk_txhash only.
func sockOpsFields() []CtxField {
	u32 := func(name string, off int) CtxField { return CtxField{Name: name, Off: off, Size: 4, Read: Size4} }
	f := []CtxField{
		u32("op", soOp),
		{Name: "reply", Off: soReply, Size: 4, Read: Size4, Write: Size4},
		{Name: "args", Off: soReply + 4, Size: 12, Read: Size4},
		u32("family", soFamily),
		u32("remote_ip4", soRemoteIP4),
		u32("local_ip4", soLocalIP4),
		{Name: "remote_ip6", Off: soRemoteIP6, Size: 16, Read: Size4},
		{Name: "local_ip6", Off: soLocalIP6, Size: 16, Read: Size4},
	}
	names := []string{"remote_port", "local_port", "is_fullsock", "snd_cwnd", "srtt_us", "bpf_sock_ops_cb_flags",
		"state", "rtt_min", "snd_ssthresh", "rcv_nxt", "snd_nxt", "snd_una", "mss_cache", "ecn_flags",
		"rate_delivered", "rate_interval_us", "packets_out", "retrans_out", "total_retrans", "segs_in",
		"data_segs_in", "segs_out", "data_segs_out", "lost_out", "sacked_out"}
	for i, n := range names {
		f = append(f, u32(n, soRemotePort+4*i))
	}
	return append(f,
		CtxField{Name: "sk_txhash", Off: soSkTxhash, Size: 4, Read: Size4, Write: Size4},
		CtxField{Name: "bytes_received", Off: soBytesRecv, Size: 8, Read: Size8},
		CtxField{Name: "bytes_acked", Off: soBytesRecv + 8, Size: 8, Read: Size8},
		CtxField{Name: "sk", Off: soSk, Size: 8, Read: Size8, Kind: CtxFullSocketOrNull},
		CtxField{Name: "skb_data", Off: soSkbData, Size: 8, Read: Size8, Kind: CtxPacket},
		CtxField{Name: "skb_data_end", Off: soSkbDataEnd, Size: 8, Read: Size8, Kind: CtxPacketEnd},
		u32("skb_len", soSkbLen),
		CtxField{Name: "skb_tcp_flags", Off: soSkbTCPFlags, Size: 4, Read: Narrow, NarrowAtStart: true},
		CtxField{Name: "skb_hwtstamp", Off: soSkbHwtstamp, Size: 8, Read: Size8},
	)
}

// sockState is the run of a cgroup socket program: the context's bytes,
// the socket its sk points to, and for sock_ops the skb's data.
type sockState struct {
	// ctx is the structure's bytes: the run's ctxBuf, which compiled
	// code reads directly (sockKind.mirror); the pointer fields hold
	// their addresses.
	ctx  []byte
	size int
	desc *CtxDesc
	// sk is the struct bpf_sock that bpf_sock_addr.sk and (for a full
	// socket) bpf_sock_ops.sk point to, read-only.
	sk       [bpfSockSize]byte
	skRegion memory.Region
	fullSock bool
	data     []byte // sock_ops: the skb's data, read-only
	dataLen  int
}

// sockKind is the context of cgroup_sock, cgroup_sock_addr and sock_ops
// programs: a structure served by Go (sockContext) with the accesses the
// run's attach type allows, and a socket behind its sk.
type sockKind struct {
	name string // the program type, for messages
	size int
	// data: RunOptions.Data is the skb's data (sock_ops' skb_data to
	// skb_data_end); other types take no data.
	data bool
}

func (sockKind) kind() kind { return kindSock }

func (k sockKind) alloc(r *Run) {
	s := &r.sock
	s.size = k.size
	r.ctxBuf = make([]byte, k.size)
	s.ctx = r.ctxBuf
	r.ctxRegion = memory.NewVirtualRegion(r.ctxBuf, (*sockContext)(r), memory.KindContext)
	s.skRegion = memory.NewRegion(s.sk[:], false, memory.KindContext)
	if k.data {
		s.data = make([]byte, skbMaxData)
	}
}

func (k sockKind) setup(r *Run, mem *memory.Memory, data, ctx []byte) error {
	s := &r.sock
	if !k.data && len(data) != 0 {
		return errnof(errno.EINVAL, "%s programs take no data, only a context (%s)", k.name, s.desc.Name)
	}
	if len(data) > skbMaxData {
		return errnof(errno.EINVAL, "the skb's data is %d bytes, more than the %d a run takes", len(data), skbMaxData)
	}
	if err := checkTailZero(ctx, k.size); err != nil {
		return err
	}
	clear(s.ctx)
	copy(s.ctx, ctx)
	for _, f := range s.desc.Fields {
		if f.Kind == CtxScalar {
			continue
		}
		for _, b := range s.ctx[f.Off : f.Off+f.Size] {
			if b != 0 {
				return errnof(errno.EINVAL, "%s: %s (bytes %d to %d) is a pointer that the run sets; the context in must leave it 0", s.desc.Name, f.Name, f.Off, f.Off+f.Size-1)
			}
		}
	}
	s.dataLen = copy(s.data, data)
	s.sk = [bpfSockSize]byte{}
	s.fullSock = false
	put := func(off int, v uint32) { binary.NativeEndian.PutUint32(s.sk[off:], v) }
	get := func(off int) uint32 { return binary.NativeEndian.Uint32(s.ctx[off:]) }
	switch s.size {
	case sockAddrSize:
		s.fullSock = true
		put(bsFamily, get(saFamily))
		put(bsType, get(saType))
		put(bsProtocol, get(saProtocol))
	case sockOpsSize:
		if k.data && len(data) > 0 {
			binary.NativeEndian.PutUint32(s.ctx[soSkbLen:], uint32(len(data)))
		}
		if s.fullSock = get(soIsFullsock) != 0; s.fullSock {
			put(bsFamily, get(soFamily))
			put(bsType, sockStream)
			put(bsProtocol, ipprotoTCP)
			put(bsSrcIP4, get(soLocalIP4))
			copy(s.sk[bsSrcIP6:bsSrcIP6+16], s.ctx[soLocalIP6:soLocalIP6+16])
			put(bsSrcPort, get(soLocalPort))
			// remote_port is the port as a u32 in network byte order
			// (the kernel shifts the be16 up on little-endian
			// machines), dst_port the be16.
			binary.BigEndian.PutUint16(s.sk[bsDstPort:], uint16(binary.BigEndian.Uint32(s.ctx[soRemotePort:])))
			put(bsDstIP4, get(soRemoteIP4))
			copy(s.sk[bsDstIP6:bsDstIP6+16], s.ctx[soRemoteIP6:soRemoteIP6+16])
			put(bsState, get(soState))
		}
	}
	if s.size == sockOpsSize && !s.fullSock {
		// The kernel reads the TCP fields as 0 (see tcpSockField).
		for off := soIsFullsock + 4; off < soSk; off += 4 {
			if tcpSockField(uint64(off)) {
				clear(s.ctx[off : off+4])
			}
		}
	}
	// The pointer fields hold what a load gives, for compiled code.
	for _, f := range s.desc.Fields {
		if f.Kind != CtxScalar {
			v, _ := (*sockContext)(r).Load(uint64(f.Off), 8)
			binary.NativeEndian.PutUint64(s.ctx[f.Off:], v)
		}
	}
	r.r1 = r.addContext(mem, r.ctxRegion)
	if s.fullSock {
		mem.Regions = append(mem.Regions, s.skRegion)
	}
	if k.data {
		r.pktIdx = len(mem.Regions)
		mem.Regions = append(mem.Regions, memory.NewRegion(s.data[:s.dataLen], false, memory.KindPacket))
	}
	return nil
}

func (sockKind) finish(r *Run, out *Output) {
	s := &r.sock
	n := len(out.Context)
	out.Context = append(out.Context, s.ctx...)
	for _, f := range s.desc.Fields {
		if f.Kind != CtxScalar {
			clear(out.Context[n+f.Off : n+f.Off+f.Size])
		}
	}
}

func (sockKind) sync(*Run) {}

// mirror lets compiled code read the structure's bytes directly where
// every attach type of the program type allows the read (so that a
// program compiled without verification reads what the interpreter
// would, whatever its attach type); writes and the other reads go to Go.
func (k sockKind) mirror(off, size int, write bool) ContextField {
	virtual := ContextField{Virtual: true}
	pt, _, ok := ProgramTypeNamed(k.name)
	if write || !ok || size <= 0 || off < 0 || off%size != 0 {
		return virtual
	}
	descs := []*CtxDesc{&pt.Context}
	for i := range pt.Attach {
		descs = append(descs, &pt.Attach[i].Context)
	}
	for _, d := range descs {
		f, ok := d.Field(off)
		if !ok || off+size > f.Off+f.Size || f.Read&(1<<size) == 0 || !f.NarrowOK(off, size) {
			return virtual
		}
	}
	return ContextField{Virtual: true, Found: true, Off: int32(off), Size: size}
}

// sockContext serves the structure with the accesses that the run's
// attach type allows (the same description the verifier checks).
type sockContext Run

// access returns the field that an access of size bytes at off may make.
func (c *sockContext) access(off, size uint64, write bool) (CtxField, bool) {
	s := &(*Run)(c).sock
	if off >= uint64(s.size) || size == 0 || off%size != 0 {
		return CtxField{}, false
	}
	f, ok := s.desc.Field(int(off))
	if !ok || int(off+size) > f.Off+f.Size {
		return CtxField{}, false
	}
	allowed := f.Read
	if write {
		allowed = f.Write
	}
	if allowed&(1<<size) == 0 || !write && !f.NarrowOK(int(off), int(size)) {
		return CtxField{}, false
	}
	return f, true
}

// Load implements memory.Virtual.
func (c *sockContext) Load(off, size uint64) (uint64, bool) {
	f, ok := c.access(off, size, false)
	if !ok {
		return 0, false
	}
	s := &(*Run)(c).sock
	if s.size == sockOpsSize && !s.fullSock && tcpSockField(off) {
		return 0, true
	}
	switch f.Kind {
	case CtxSocket, CtxFullSocketOrNull:
		if !s.fullSock {
			return 0, true
		}
		return addrOf(s.sk[:]), true
	case CtxPacket:
		return addrOf(s.data), true
	case CtxPacketEnd:
		return addrOf(s.data) + uint64(s.dataLen), true
	}
	return loadLE(s.ctx[off:], size), true
}

// Store implements memory.Virtual.
func (c *sockContext) Store(off, size, value uint64) bool {
	if _, ok := c.access(off, size, true); !ok {
		return false
	}
	s := &(*Run)(c).sock
	if s.size == sockOpsSize && !s.fullSock && tcpSockField(off) {
		return true // sk_txhash of no full socket: the kernel ignores it
	}
	storeLE(s.ctx[off:], size, value)
	return true
}

// tcpSockField reports whether the bpf_sock_ops field at off is one the
// kernel reads from the TCP socket only when is_fullsock is set, and
// gives as 0 otherwise (SOCK_OPS_GET_TCP_SOCK_FIELD, SOCK_OPS_GET_FIELD,
// SOCK_OPS_GET_OR_SET_FIELD): snd_cwnd to bpf_sock_ops_cb_flags and
// rtt_min to bytes_acked (not state).
func tcpSockField(off uint64) bool {
	return in(off, soIsFullsock+4, soState) || in(off, soState+4, soSk)
}
