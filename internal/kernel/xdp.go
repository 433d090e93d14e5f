package kernel

import (
	"encoding/binary"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// xdpMDSize is sizeof(struct xdp_md).
const xdpMDSize = 24

// xdpState is an XDP run's frame: one page, as the kernel's test run
// allocates, whose first byte is data_hard_start; data_meta, data and
// data_end are offsets into it. Bytes of the packet past the linear part
// live in frags, as the kernel's multi-buffer frags (one page each).
type xdpState struct {
	frame           []byte
	meta, data, end int
	frags           [][]byte
	fragBuf         []byte
	// The xdp_md of ctx_in: ingress_ifindex and rx_queue_index as given.
	ingress, rxq uint32
	// [dirtyLo, dirtyHi) of frame is all the run's packet ever covered:
	// the only bytes of the frame that may not be zero after it.
	dirtyLo, dirtyHi int
}

// setupXDP is bpf_prog_test_run_xdp's preparation.
func (r *Run) setupXDP(pkt, ctxIn []byte) error {
	x := &r.xdp
	// The fields of struct xdp_md, in variables rather than an array: a
	// zeroed array's fields are loaded back from the stack, on every
	// packet.
	var data, dataEnd, dataMeta, ingress, rxq, egress uint32
	hasCtx := ctxIn != nil
	if hasCtx {
		if err := checkTailZero(ctxIn, xdpMDSize); err != nil {
			return err
		}
		var b [xdpMDSize]byte
		copy(b[:], ctxIn)
		u32 := func(i int) uint32 { return binary.NativeEndian.Uint32(b[4*i:]) }
		data, dataEnd, dataMeta, ingress, rxq, egress = u32(0), u32(1), u32(2), u32(3), u32(4), u32(5)
	}
	size := uint32(len(pkt))
	if uint64(len(pkt)) > 1<<32-1 {
		return errnof(errno.EINVAL, "a packet of %d bytes is too large", len(pkt))
	}
	headroom := uint32(xdpHeadroom)
	linear := size
	metaSz := uint32(0)
	if hasCtx {
		// There can be no data before the metadata.
		if dataMeta != 0 || dataEnd > size || data > dataEnd {
			return errnof(errno.EINVAL, "xdp_md: data_meta must be 0 and data <= data_end <= the packet's %d bytes (data %d, data_end %d, data_meta %d)", size, data, dataEnd, dataMeta)
		}
		metaSz = data
		if metaSz%4 != 0 || metaSz > xdpHeadroom-xdpFrameSize {
			return errnof(errno.EINVAL, "xdp_md: %d bytes of metadata (data) is not a multiple of 4 of at most %d", metaSz, xdpHeadroom-xdpFrameSize)
		}
		headroom -= metaSz
		linear = dataEnd
	}
	maxLinear := pageSize - headroom - sharedInfoSize
	linear = min(linear, maxLinear)
	if size-metaSz < ethHLen {
		return errnof(errno.EINVAL, "a packet of %d bytes (after %d bytes of metadata) is shorter than an Ethernet header", size-metaSz, metaSz)
	}
	if egress != 0 {
		return errnof(errno.EINVAL, "xdp_md: egress_ifindex must be 0")
	}
	if ingress == 0 && rxq != 0 {
		return errnof(errno.EINVAL, "xdp_md: rx_queue_index needs an ingress_ifindex")
	}
	if rxq != 0 {
		// waggle's devices have one receive queue, as the loopback device.
		return errnof(errno.EINVAL, "xdp_md: rx_queue_index %d: the device has 1 receive queue", rxq)
	}

	// The frame is zero but where the last run's packet was.
	clear(x.frame[x.dirtyLo:x.dirtyHi])
	copy(x.frame[headroom:], pkt[:linear])
	x.meta = int(headroom)
	x.data = int(headroom + metaSz)
	x.end = int(headroom + linear)
	x.dirtyLo, x.dirtyHi = x.meta, x.end
	x.ingress, x.rxq = ingress, rxq

	rest := pkt[linear:]
	x.frags = x.frags[:0]
	if len(rest) > 0 {
		n := (len(rest) + pageSize - 1) / pageSize
		if n > maxSkbFrags {
			return errnof(errno.ENOMEM, "a packet of %d bytes needs %d frags past its %d linear bytes; at most %d", len(pkt), n, linear, maxSkbFrags)
		}
		if cap(x.fragBuf) < n*pageSize {
			x.fragBuf = make([]byte, n*pageSize)
		}
		x.fragBuf = x.fragBuf[:n*pageSize]
		for i := 0; i < n; i++ {
			page := x.fragBuf[i*pageSize : (i+1)*pageSize : (i+1)*pageSize]
			k := copy(page, rest)
			rest = rest[k:]
			x.frags = append(x.frags, page[:k])
		}
	}
	return nil
}

// xdpRegion is the packet region: exactly [data_meta, data_end).
func (r *Run) xdpRegion() memory.Region {
	x := &r.xdp
	if x.end == x.meta {
		return memory.Region{Kind: memory.KindPacket}
	}
	return memory.NewRegion(x.frame[x.meta:x.end], true, memory.KindPacket)
}

// xdpMoved updates the packet region and the context's mirror after a
// helper moved the bounds.
func (r *Run) xdpMoved() {
	x := &r.xdp
	x.dirtyLo, x.dirtyHi = min(x.dirtyLo, x.meta), max(x.dirtyHi, x.end)
	if r.mem != nil && r.pktIdx >= 0 && r.pktIdx < len(r.mem.Regions) {
		r.mem.Regions[r.pktIdx] = r.xdpRegion()
	}
	r.SyncContext()
}

// xdpLen is xdp_get_buff_len: the linear bytes and the frags.
func (x *xdpState) xdpLen() int {
	n := x.end - x.data
	for _, f := range x.frags {
		n += len(f)
	}
	return n
}

// finishXDP fills data_out (from data_meta: the metadata, the packet, the
// frags) and ctx_out.
func (r *Run) finishXDP(out *Output) {
	x := &r.xdp
	out.Data = append(out.Data, x.frame[x.meta:x.end]...)
	for _, f := range x.frags {
		out.Data = append(out.Data, f...)
	}
	var b [xdpMDSize]byte
	binary.NativeEndian.PutUint32(b[0:], uint32(x.data-x.meta))
	binary.NativeEndian.PutUint32(b[4:], uint32(x.end-x.meta))
	binary.NativeEndian.PutUint32(b[12:], x.ingress)
	binary.NativeEndian.PutUint32(b[16:], x.rxq)
	out.Context = append(out.Context, b[:]...)
}

// xdpContext serves struct xdp_md: data, data_end and data_meta load as the
// packet's 64-bit addresses; every field is a 4-byte read-only load;
// egress_ifindex exists only for devmap programs, which cannot be test-run.
type xdpContext Run

// Load implements memory.Virtual.
func (c *xdpContext) Load(off, size uint64) (uint64, bool) {
	r := (*Run)(c)
	x := &r.xdp
	if size != 4 || off%4 != 0 {
		return 0, false
	}
	base := addrOf(x.frame)
	switch off {
	case 0:
		return base + uint64(x.data), true
	case 4:
		return base + uint64(x.end), true
	case 8:
		return base + uint64(x.meta), true
	case 12:
		if x.ingress == 0 {
			return 1, true // the loopback device's receive queue
		}
		return uint64(x.ingress), true
	case 16:
		return uint64(x.rxq), true
	}
	return 0, false
}

// Store implements memory.Virtual: XDP programs may not write their context.
func (c *xdpContext) Store(off, size, value uint64) bool { return false }

// xdpRun returns the XDP run of a call, or an error ending the run.
func xdpRun(c *helper.Call) (*Run, error) {
	r, err := runOf(c)
	if err != nil {
		return nil, err
	}
	if r.kind != kindXDP {
		return nil, errNotType(r, "XDP")
	}
	return r, nil
}

// xdpAdjustHead is bpf_xdp_adjust_head(ctx, offset): moves data (and the
// metadata with it) by offset, keeping room for struct xdp_frame before it
// and an Ethernet header after it.
func xdpAdjustHead(c *helper.Call) (uint64, error) {
	r, err := xdpRun(c)
	if err != nil {
		return 0, err
	}
	x := &r.xdp
	off := int(int32(c.Args[1]))
	metalen := x.data - x.meta
	data := x.data + off
	if data < xdpFrameSize+metalen || data > x.end-ethHLen {
		return neg(errno.EINVAL), nil
	}
	if metalen > 0 {
		copy(x.frame[x.meta+off:], x.frame[x.meta:x.data])
	}
	x.meta += off
	x.data = data
	r.xdpMoved()
	return 0, nil
}

// xdpAdjustTail is bpf_xdp_adjust_tail(ctx, offset): moves data_end (of the
// last frag, for a multi-buffer packet). Growing zeroes the new bytes.
func xdpAdjustTail(c *helper.Call) (uint64, error) {
	r, err := xdpRun(c)
	if err != nil {
		return 0, err
	}
	x := &r.xdp
	off := int(int32(c.Args[1]))
	if len(x.frags) > 0 {
		if off > 0 {
			last := &x.frags[len(x.frags)-1]
			if off > cap(*last)-len(*last) {
				return neg(errno.EINVAL), nil
			}
			n := len(*last)
			*last = (*last)[:n+off]
			clear((*last)[n:])
			return 0, nil
		}
		shrink := -off
		if shrink > x.xdpLen()-ethHLen {
			return neg(errno.EINVAL), nil
		}
		for i := len(x.frags) - 1; i >= 0 && shrink > 0; i-- {
			k := min(shrink, len(x.frags[i]))
			x.frags[i] = x.frags[i][:len(x.frags[i])-k]
			shrink -= k
			if len(x.frags[i]) == 0 {
				x.frags = x.frags[:i]
			}
		}
		if len(x.frags) == 0 {
			x.end -= shrink
			r.xdpMoved()
		}
		return 0, nil
	}
	end := x.end + off
	if end > xdpHardEnd || end < x.data+ethHLen {
		return neg(errno.EINVAL), nil
	}
	if off > 0 {
		clear(x.frame[x.end:end])
	}
	x.end = end
	r.xdpMoved()
	return 0, nil
}

// xdpAdjustMeta is bpf_xdp_adjust_meta(ctx, offset): moves data_meta; the
// metadata must stay a multiple of 4 bytes, at most 255, after the room
// for struct xdp_frame.
func xdpAdjustMeta(c *helper.Call) (uint64, error) {
	r, err := xdpRun(c)
	if err != nil {
		return 0, err
	}
	x := &r.xdp
	meta := x.meta + int(int32(c.Args[1]))
	if meta < xdpFrameSize || meta > x.data {
		return neg(errno.EINVAL), nil
	}
	if metalen := x.data - meta; metalen%4 != 0 || metalen > 255 {
		return neg(errno.EACCES), nil
	}
	x.meta = meta
	r.xdpMoved()
	return 0, nil
}
