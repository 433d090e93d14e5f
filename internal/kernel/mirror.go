package kernel

import (
	"encoding/binary"

	"github.com/cilium/ebpf"
)

// Compiled code reads the context fields that Go serves (memory.Virtual)
// from a mirror: bytes past the context's reserved addresses that hold the
// fields as the program sees them, kept current by SyncContext.
const (
	xdpMirror = xdpMDSize // data, data_end, data_meta (u64), ingress_ifindex, rx_queue_index (u32)
	skbMirror = skbSize   // data, data_end, data_meta (u64), len (u32)
	// mirrorSize is the size of a mirror.
	mirrorSize = 32
)

// ContextField says where compiled code finds a context field.
type ContextField struct {
	// Virtual is true when Go serves the program type's context
	// (struct xdp_md, struct __sk_buff, raw tracepoint arguments); false
	// when the context is plain memory that compiled code may access as
	// the program does.
	Virtual bool
	// Found is true when the field is in the mirror, Size bytes at Off
	// from the context pointer. A virtual field not found is carried out
	// by Go.
	Found bool
	Off   int32
	Size  int
}

// ContextMirror says where compiled code finds the context field of size
// bytes at off of a program of type t.
func ContextMirror(t ebpf.ProgramType, off, size int, write bool) ContextField {
	virtual := ContextField{Virtual: true}
	switch t {
	case ebpf.XDP:
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
	case ebpf.SchedCLS, ebpf.SchedACT, ebpf.SocketFilter:
		if write || size != 4 {
			return virtual
		}
		l2 := t != ebpf.SocketFilter
		switch {
		case off == skbLen:
			return ContextField{Virtual: true, Found: true, Off: skbMirror + 24, Size: 4}
		case off == skbData && l2:
			return ContextField{Virtual: true, Found: true, Off: skbMirror, Size: 8}
		case off == skbDataEnd && l2:
			return ContextField{Virtual: true, Found: true, Off: skbMirror + 8, Size: 8}
		case off == skbDataMeta && l2:
			return ContextField{Virtual: true, Found: true, Off: skbMirror + 16, Size: 8}
		}
		return virtual
	case ebpf.RawTracepoint:
		return virtual
	}
	return ContextField{}
}

// SyncContext updates the context's mirror from the run's state: Setup
// calls it, and so do the helpers that move the packet's bounds.
func (r *Run) SyncContext() {
	switch r.kind {
	case kindXDP:
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
	case kindSKB:
		s := &r.skb
		base := addrOf(s.buf)
		m := r.ctxBuf[skbMirror:]
		data := base + uint64(s.dataOff())
		binary.NativeEndian.PutUint64(m[0:], data)
		binary.NativeEndian.PutUint64(m[8:], base+uint64(s.n))
		binary.NativeEndian.PutUint64(m[16:], data)
		binary.NativeEndian.PutUint32(m[24:], uint32(s.len()))
	}
}
