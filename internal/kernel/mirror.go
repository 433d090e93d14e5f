package kernel

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

// SyncContext updates the context's mirror from the run's state: Setup
// calls it, and so do the helpers that move the packet's bounds.
func (r *Run) SyncContext() { r.pt.context.sync(r) }
