package kernel

import (
	"encoding/binary"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// contextImpl is how the runs of a program type lay out their context and
// packet (Run.Setup), read them back (Run.Finish) and keep the mirror of
// Go-served fields current for compiled code: one implementation per kind
// of context, which the program types that have that kind share (see
// ProgramType.context).
type contextImpl interface {
	// kind identifies the implementation to the helpers that need a
	// context of theirs (XDP's, the skb's).
	kind() kind
	// alloc allocates the run's buffers once, in NewRun.
	alloc(r *Run)
	// setup reads the run's input (the data and the context), appends
	// the context's and the packet's regions to mem, sets the program's
	// arguments (r.r1, r.r2) and writes the mirror (sync). Its arguments fit in registers
	// (an array result would not), since it runs once per program run.
	setup(r *Run, mem *memory.Memory, data, ctx []byte) error
	// finish appends what the run leaves to out (data_out, ctx_out).
	finish(r *Run, out *Output)
	// sync writes the mirror from the run's state.
	sync(r *Run)
	// mirror says where compiled code finds the field of size bytes at
	// off.
	mirror(off, size int, write bool) ContextField
}

// kind is the kind of context a program type has.
type kind uint8

const (
	kindXDP kind = iota
	kindSKB
	kindArgs    // raw tracepoint: an array of u64 arguments
	kindMemory  // kprobe, tracepoint, perf_event, syscall: the caller's memory
	kindRawData // RawMemory: r1 = the data, r2 = its length
	kindSock    // cgroup_sock, cgroup_sock_addr, sock_ops: a structure of a socket's
)

// addContext appends the run's context region to mem and returns its
// address, the program's r1.
func (r *Run) addContext(mem *memory.Memory, region memory.Region) uint64 {
	r.ctxIdx = len(mem.Regions)
	mem.Regions = append(mem.Regions, region)
	return region.Start
}

// addContextBytes appends a context region of plain memory, the bytes of
// b, to mem (in place, see memory.AddBytes) and returns its address, the
// program's r1.
func (r *Run) addContextBytes(mem *memory.Memory, b []byte, writable bool) uint64 {
	r.ctxIdx = mem.AddBytes(b, writable, memory.KindContext)
	return mem.Regions[r.ctxIdx].Start
}

// xdpKind is struct xdp_md over an XDP frame.
type xdpKind struct{}

func (xdpKind) kind() kind { return kindXDP }

func (xdpKind) alloc(r *Run) {
	r.ctxBuf = make([]byte, xdpMDSize+mirrorSize)
	r.xdp.frame = make([]byte, pageSize)
	r.ctxRegion = memory.NewVirtualRegion(r.ctxBuf[:xdpMDSize], (*xdpContext)(r), memory.KindContext)
}

func (xdpKind) setup(r *Run, mem *memory.Memory, data, ctx []byte) error {
	if err := r.setupXDP(data, ctx); err != nil {
		return err
	}
	r.r1 = r.addContext(mem, r.ctxRegion)
	x := &r.xdp
	r.pktIdx = mem.AddBytes(x.frame[x.meta:x.end], true, memory.KindPacket) // r.xdpRegion()
	xdpKind{}.sync(r)
	return nil
}

func (xdpKind) finish(r *Run, out *Output) { r.finishXDP(out) }

func (xdpKind) sync(r *Run) {
	x := &r.xdp
	base := addrOf(x.frame)
	m := r.ctxBuf[xdpMirror:]
	binary.NativeEndian.PutUint64(m[0:], base+uint64(x.data))
	binary.NativeEndian.PutUint64(m[8:], base+uint64(x.end))
	binary.NativeEndian.PutUint64(m[16:], base+uint64(x.meta))
	ingress := x.ingress
	if ingress == 0 {
		ingress = 1 // the loopback device's receive queue, as xdpContext.Load
	}
	binary.NativeEndian.PutUint32(m[24:], ingress)
	binary.NativeEndian.PutUint32(m[28:], x.rxq)
}

func (xdpKind) mirror(off, size int, write bool) ContextField {
	virtual := ContextField{Virtual: true}
	if write || size != 4 {
		return virtual
	}
	switch off {
	case 0, 4, 8: // data, data_end, data_meta
		return ContextField{Virtual: true, Found: true, Off: int32(xdpMirror + 2*off), Size: 8}
	case 12, 16: // ingress_ifindex, rx_queue_index
		return ContextField{Virtual: true, Found: true, Off: int32(xdpMirror + 24 + off - 12), Size: 4}
	}
	return virtual
}

// skbKind is struct __sk_buff over an skb: for tc programs (l2) the packet
// starts at the Ethernet header and the program reads and writes it
// directly; socket filters see it from the network header, through LD_ABS
// and helpers only; cgroup_skb programs (cg) see it from the network
// header too, and read it directly.
type skbKind struct{ l2, cg bool }

func (skbKind) kind() kind { return kindSKB }

func (k skbKind) alloc(r *Run) {
	r.ctxBuf = make([]byte, skbSize+mirrorSize)
	r.skb.buf = make([]byte, skbPad+skbMaxData+sharedInfoSize)
	r.skb.l2 = k.l2
	r.skb.cg = k.cg
	r.skb.skRegion = memory.NewRegion(r.skb.sk[:], false, memory.KindContext)
	r.ctxRegion = memory.NewVirtualRegion(r.ctxBuf[:skbSize], (*skbContext)(r), memory.KindContext)
}

func (k skbKind) setup(r *Run, mem *memory.Memory, data, ctx []byte) error {
	if err := r.setupSKB(data, ctx); err != nil {
		r.packet = memory.Region{Kind: memory.KindPacket}
		return err
	}
	r.r1 = r.addContext(mem, r.ctxRegion)
	r.packet = memory.NewRegion(r.skb.data(), false, memory.KindPacket)
	switch {
	case k.l2:
		r.pktIdx = mem.AddBytes(r.skb.data(), true, memory.KindPacket)
	case k.cg:
		r.pktIdx = mem.AddBytes(r.skb.data(), false, memory.KindPacket)
	}
	// skb->sk: the test run's socket.
	r.skb.fillSock()
	mem.Regions = append(mem.Regions, r.skb.skRegion)
	k.sync(r)
	return nil
}

// skbMoved updates the packet regions (the program's, LD_ABS's) and the
// context's mirror after a helper moved the skb's data or changed its
// length, as the kernel's bpf_compute_data_pointers.
func (r *Run) skbMoved() {
	s := &r.skb
	r.packet = memory.NewRegion(s.data(), false, memory.KindPacket)
	if r.ldPacket != nil {
		*r.ldPacket = r.packet
	}
	if s.l2 && r.mem != nil && r.pktIdx >= 0 && r.pktIdx < len(r.mem.Regions) {
		r.mem.Regions[r.pktIdx] = memory.NewRegion(s.data(), true, memory.KindPacket)
	}
	r.SyncContext()
}

func (skbKind) finish(r *Run, out *Output) { r.finishSKB(out) }

func (skbKind) sync(r *Run) {
	s := &r.skb
	base := addrOf(s.buf)
	m := r.ctxBuf[skbMirror:]
	data := base + uint64(s.dataOff())
	binary.NativeEndian.PutUint64(m[0:], data)
	binary.NativeEndian.PutUint64(m[8:], base+uint64(s.n))
	binary.NativeEndian.PutUint64(m[16:], data)
	binary.NativeEndian.PutUint32(m[24:], uint32(s.len()))
}

func (k skbKind) mirror(off, size int, write bool) ContextField {
	virtual := ContextField{Virtual: true}
	if write || size != 4 {
		return virtual
	}
	switch {
	case off == skbLen:
		return ContextField{Virtual: true, Found: true, Off: skbMirror + 24, Size: 4}
	case off == skbData && (k.l2 || k.cg):
		return ContextField{Virtual: true, Found: true, Off: skbMirror, Size: 8}
	case off == skbDataEnd && (k.l2 || k.cg):
		return ContextField{Virtual: true, Found: true, Off: skbMirror + 8, Size: 8}
	case off == skbDataMeta && k.l2:
		return ContextField{Virtual: true, Found: true, Off: skbMirror + 16, Size: 8}
	}
	return virtual
}

// argsKind is a raw tracepoint's context: an array of u64 arguments that Go
// serves (argsContext).
type argsKind struct{}

func (argsKind) kind() kind { return kindArgs }

func (argsKind) alloc(r *Run) { r.ctxBuf = make([]byte, 8*maxRawTPArgs) }

func (argsKind) setup(r *Run, mem *memory.Memory, data, ctx []byte) error {
	if len(data) != 0 {
		return errnof(errno.EINVAL, "raw tracepoint programs take no data, only a context")
	}
	if len(ctx) > 8*maxRawTPArgs {
		return errnof(errno.EINVAL, "a raw tracepoint context has at most %d arguments (%d bytes), not %d bytes", maxRawTPArgs, 8*maxRawTPArgs, len(ctx))
	}
	if len(ctx) < r.minCtx {
		return errnof(errno.EINVAL, "the context is %d bytes, and the program reads it up to byte %d", len(ctx), r.minCtx)
	}
	r.rawLen = copy(r.ctxBuf, ctx)
	if r.rawLen > 0 {
		r.r1 = r.addContext(mem, memory.NewVirtualRegion(r.ctxBuf[:r.rawLen], (*argsContext)(r), memory.KindContext))
	}
	return nil
}

func (argsKind) finish(r *Run, out *Output) {
	out.Context = append(out.Context, r.ctxBuf[:r.rawLen]...)
}

func (argsKind) sync(*Run) {}

// mirror: the arguments are their own mirror. Compiled code loads an
// aligned read straight from ctxBuf, which holds them: the verifier allows
// only aligned reads within the arguments (of 8*maxRawTPArgs bytes), and
// Setup refuses a context shorter than the program reads (RequireContext),
// so what Load would check holds already. Writes are refused by the
// verifier; they stay emulated.
func (argsKind) mirror(off, size int, write bool) ContextField {
	if write || size <= 0 || off < 0 || off%size != 0 || off+size > 8*maxRawTPArgs {
		return ContextField{Virtual: true}
	}
	return ContextField{Virtual: true, Found: true, Off: int32(off), Size: size}
}

// memoryKind is a context of plain memory, a copy of the caller's: read-only
// for kprobe, tracepoint and perf_event programs (which the kernel cannot
// test-run: a shorter context reads as zeros up to what the program
// accesses), writable and written back for syscall programs (at most
// 65535 bytes, and at least as long as the program accesses).
type memoryKind struct {
	writable bool
	maxSize  int // 0: any
	name     string
}

func (memoryKind) kind() kind { return kindMemory }

func (memoryKind) alloc(*Run) {}

func (k memoryKind) setup(r *Run, mem *memory.Memory, data, ctx []byte) error {
	if len(data) != 0 {
		return errnof(errno.EINVAL, "%s programs take no data, only a context", k.name)
	}
	if k.writable {
		if len(ctx) > k.maxSize {
			return errnof(errno.EINVAL, "a %s program's context is at most %d bytes, not %d", k.name, k.maxSize, len(ctx))
		}
		if len(ctx) < r.minCtx {
			return errnof(errno.EINVAL, "the context is %d bytes, and the program accesses it up to byte %d", len(ctx), r.minCtx)
		}
	}
	r.setRaw(ctx)
	if r.rawLen < r.minCtx {
		clear(r.raw[r.rawLen:r.minCtx])
		r.rawLen = r.minCtx
	}
	if r.rawLen > 0 {
		r.r1 = r.addContextBytes(mem, r.raw[:r.rawLen], k.writable)
	}
	return nil
}

func (memoryKind) finish(r *Run, out *Output) {
	out.Context = append(out.Context, r.raw[:r.rawLen]...)
}

func (memoryKind) sync(*Run) {}

func (memoryKind) mirror(int, int, bool) ContextField { return ContextField{} }

// rawDataKind is RawMemory's: r1 = a writable copy of the data, r2 = its
// length; data_out is that memory after the run.
type rawDataKind struct{}

func (rawDataKind) kind() kind { return kindRawData }

func (rawDataKind) alloc(*Run) {}

func (rawDataKind) setup(r *Run, mem *memory.Memory, data, ctx []byte) error {
	r.setRaw(data)
	if r.rawLen > 0 {
		r.r1 = r.addContextBytes(mem, r.raw[:r.rawLen], true)
	}
	r.r2 = uint64(r.rawLen)
	return nil
}

func (rawDataKind) finish(r *Run, out *Output) {
	out.Data = append(out.Data, r.raw[:r.rawLen]...)
}

func (rawDataKind) sync(*Run) {}

func (rawDataKind) mirror(int, int, bool) ContextField { return ContextField{} }
