package kernel

// CtxKind is what a load of a context field gives.
type CtxKind uint8

const (
	// CtxScalar is a number.
	CtxScalar CtxKind = iota
	// CtxPacket is a pointer to the start of the packet (data).
	CtxPacket
	// CtxPacketEnd is a pointer just past the packet (data_end).
	CtxPacketEnd
	// CtxPacketMeta is a pointer to the packet's metadata (data_meta).
	CtxPacketMeta
	// CtxSocketOrNull is a pointer to a struct sock_common or NULL
	// (__sk_buff.sk: in skb runs, the socket the kernel's test run gives
	// the skb).
	CtxSocketOrNull
	// CtxSocket is a pointer to a full socket, struct bpf_sock, never
	// NULL (bpf_sock_addr.sk).
	CtxSocket
	// CtxFullSocketOrNull is a pointer to a full socket or NULL
	// (bpf_sock_ops.sk).
	CtxFullSocketOrNull
)

// CtxField is a range of a context structure and the accesses that the
// kernel's verifier lets a program make there (the program types'
// is_valid_access functions, Linux 6.18).
type CtxField struct {
	Name string
	// Off and Size delimit the field's bytes.
	Off, Size int
	// Read and Write are bit sets of the access sizes allowed, 1 << bytes
	// (so 1<<4 | 1<<8 allows 4- and 8-byte accesses); 0 forbids the
	// access. An access must lie inside the field and be aligned to its
	// size. A narrow read of a field (smaller than the field) reads its
	// bytes at that offset.
	Read, Write uint16
	// Kind is what a load of the whole field gives.
	Kind CtxKind
	// NarrowAtStart: reads narrower than the field are allowed only at
	// its first byte (the kernel's cases on one offset, as
	// bpf_sock.family).
	NarrowAtStart bool
	// NarrowWithin, when not 0, is how many of the field's first bytes
	// reads narrower than the field may touch (bpf_sock.dst_port: a
	// 16-bit port in a 32-bit slot).
	NarrowWithin int
	// PrivRead and PrivWrite: only privileged programs may read (write)
	// the field, not those verified with the rules for unprivileged
	// users (cgroup_skb's data and data_end need CAP_BPF, its tstamp
	// writes CAP_SYS_ADMIN).
	PrivRead, PrivWrite bool
}

// NarrowOK reports whether a read of size bytes at off, inside the field
// and smaller than it, keeps to the bytes the field's narrow reads may
// touch.
func (f *CtxField) NarrowOK(off, size int) bool {
	if size >= f.Size {
		return true
	}
	if f.NarrowAtStart && off != f.Off {
		return false
	}
	return f.NarrowWithin == 0 || off+size <= f.Off+f.NarrowWithin
}

// CtxDesc describes the context (r1) of a program type.
type CtxDesc struct {
	// Name is the C structure ("struct xdp_md"), or a description for
	// contexts that are plain memory.
	Name string
	// Size is the size of the structure: every access lies in [0, Size).
	Size int
	// Fields cover the bytes a program may touch; an access to bytes no
	// field covers is refused. Nil for contexts that are plain memory.
	Fields []CtxField
	// Memory is set for contexts that are plain memory of the caller's
	// (kprobe, tracepoint, perf_event, syscall, waggle's raw memory): any
	// aligned access of 1, 2, 4 or 8 bytes in [MinOff, Size) is allowed,
	// reads only unless Writable. At run time the memory is what the
	// caller gave, which may be shorter than Size: the engine checks
	// those accesses.
	Memory   bool
	Writable bool
	MinOff   int
	// PerfSample is set for perf_event programs: the last 16 bytes
	// (sample_period, addr) allow narrow reads, the pt_regs only 8-byte
	// reads.
	PerfSample bool
}

// Access sizes for CtxField.Read and Write.
const (
	Size1   uint16 = 1 << 1
	Size2   uint16 = 1 << 2
	Size4   uint16 = 1 << 4
	Size8   uint16 = 1 << 8
	SizeAll        = Size1 | Size2 | Size4 | Size8
	// Narrow is every size up to 4 bytes: a u32 field that allows narrow
	// reads.
	Narrow = Size1 | Size2 | Size4
)

// Sizes of the kernel's contexts on 64-bit machines.
const (
	ptRegsSize        = 168 // struct pt_regs on x86-64
	perfEventDataSize = ptRegsSize + 16
	maxTraceSize      = 2048 // PERF_MAX_TRACE_SIZE
)

// skbFields lists struct __sk_buff for tc (tc) or socket filters.
func skbFields(tc bool) []CtxField {
	u32 := func(name string, off int, write bool) CtxField {
		f := CtxField{Name: name, Off: off, Size: 4, Read: Narrow}
		if write {
			f.Write = Size4
		}
		return f
	}
	f := []CtxField{
		u32("len", skbLen, false),
		u32("pkt_type", skbPktType, false),
		u32("mark", skbMark, tc),
		u32("queue_mapping", skbQueueMapping, tc),
		u32("protocol", skbProtocol, false),
		u32("vlan_present", skbVlanPresent, false),
		u32("vlan_tci", skbVlanTCI, false),
		u32("vlan_proto", skbVlanProto, false),
		u32("priority", skbPriority, tc),
		u32("ingress_ifindex", skbIngressIfindex, false),
		u32("ifindex", skbIfindex, false),
		u32("tc_index", skbTCIndex, tc),
		{Name: "cb", Off: skbCB, Size: skbCBEnd - skbCB, Read: SizeAll, Write: SizeAll},
		u32("hash", skbHash, false),
	}
	if tc {
		f = append(f,
			u32("tc_classid", skbTCClassid, true),
			CtxField{Name: "data", Off: skbData, Size: 4, Read: Size4, Kind: CtxPacket},
			CtxField{Name: "data_end", Off: skbDataEnd, Size: 4, Read: Size4, Kind: CtxPacketEnd},
		)
	}
	f = append(f, u32("napi_id", skbNapiID, false))
	if tc {
		f = append(f,
			CtxField{Name: "data_meta", Off: skbDataMeta, Size: 4, Read: Size4, Kind: CtxPacketMeta},
			CtxField{Name: "tstamp", Off: skbTstamp, Size: 8, Read: Size8, Write: Size8},
			u32("wire_len", skbWireLen, false),
		)
	}
	f = append(f,
		u32("gso_segs", skbGSOSegs, false),
		CtxField{Name: "sk", Off: skbSk, Size: 8, Read: Size8, Kind: CtxSocketOrNull},
		u32("gso_size", skbGSOSize, false),
	)
	if tc {
		f = append(f,
			CtxField{Name: "tstamp_type", Off: skbTstampType, Size: 1, Read: Size1},
			CtxField{Name: "hwtstamp", Off: skbHwtstamp, Size: 8, Read: Size8},
		)
	}
	return f
}

// Field returns the field of the description holding byte off, if any.
func (d *CtxDesc) Field(off int) (CtxField, bool) {
	for _, f := range d.Fields {
		if off >= f.Off && off < f.Off+f.Size {
			return f, true
		}
	}
	return CtxField{}, false
}
