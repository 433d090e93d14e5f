package waggle

// Contexts of the cgroup socket programs in Go, laid out as the kernel's
// UAPI structures, for RunOptions.Context and ContextOut. The kernel
// cannot test-run these program types; waggle's run takes the structure,
// lets the program read it and write the fields its attach type may write,
// and gives it back with the pointer fields (sk, skb_data, skb_data_end)
// zero: the run sets them, and a context in must leave them zero. The
// socket behind sk has the context's family, type and protocol (and for
// sock_ops, when IsFullsock is set, its addresses, ports and state).
// Addresses and ports are in network byte order, as in the kernel
// (SockAddr.UserPort is htons(port) in a uint32, SockOps.RemotePort
// htonl(port)), except Sock.SrcPort and SockOps.LocalPort, which are in
// the host's.

// SockAddr is struct bpf_sock_addr, the context of cgroup_sock_addr
// programs (bind, connect, sendmsg, recvmsg, getpeername, getsockname).
type SockAddr struct {
	UserFamily uint32    // AF_INET, AF_INET6, AF_UNIX
	UserIP4    uint32    // the address (network byte order): IPv4 attach types
	UserIP6    [4]uint32 // the address: IPv6 attach types
	UserPort   uint32    // the port: htons(port)
	Family     uint32    // the socket's
	Type       uint32    // SOCK_STREAM, SOCK_DGRAM
	Protocol   uint32    // IPPROTO_TCP, IPPROTO_UDP
	MsgSrcIP4  uint32    // sendmsg4: the source address
	MsgSrcIP6  [4]uint32 // sendmsg6: the source address
	_          uint32
	Sk         uint64 // struct bpf_sock *, set by the run
}

// Sock is struct bpf_sock, the context of cgroup_sock programs
// (sock_create, sock_release, post_bind4/6).
type Sock struct {
	BoundDevIf     uint32
	Family         uint32
	Type           uint32
	Protocol       uint32
	Mark           uint32
	Priority       uint32
	SrcIP4         uint32
	SrcIP6         [4]uint32
	SrcPort        uint32 // host byte order
	DstPort        uint16 // network byte order
	_              uint16
	DstIP4         uint32
	DstIP6         [4]uint32
	State          uint32
	RxQueueMapping int32
}

// SockOps is struct bpf_sock_ops, the context of sock_ops programs.
// Reply is args[0] (the kernel's union); Args are args[1..3]. As in the
// kernel, the TCP fields (SndCwnd to BPFSockOpsCBFlags, RttMin to
// BytesAcked) are 0 unless IsFullsock is set.
type SockOps struct {
	Op                uint32
	Reply             uint32
	Args              [3]uint32
	Family            uint32
	RemoteIP4         uint32
	LocalIP4          uint32
	RemoteIP6         [4]uint32
	LocalIP6          [4]uint32
	RemotePort        uint32 // network byte order: htonl(port)
	LocalPort         uint32 // host byte order
	IsFullsock        uint32
	SndCwnd           uint32
	SrttUs            uint32
	BPFSockOpsCBFlags uint32
	State             uint32
	RttMin            uint32
	SndSsthresh       uint32
	RcvNxt            uint32
	SndNxt            uint32
	SndUna            uint32
	MssCache          uint32
	EcnFlags          uint32
	RateDelivered     uint32
	RateIntervalUs    uint32
	PacketsOut        uint32
	RetransOut        uint32
	TotalRetrans      uint32
	SegsIn            uint32
	DataSegsIn        uint32
	SegsOut           uint32
	DataSegsOut       uint32
	LostOut           uint32
	SackedOut         uint32
	SkTxhash          uint32
	BytesReceived     uint64
	BytesAcked        uint64
	Sk                uint64 // struct bpf_sock *, set by the run
	SkbData           uint64 // set by the run: RunOptions.Data
	SkbDataEnd        uint64 // set by the run
	SkbLen            uint32 // RunOptions.Data's length when there is data
	SkbTCPFlags       uint32
	SkbHwtstamp       uint64
}
