package kernel

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Input is the input of one run, as BPF_PROG_TEST_RUN's data_in and ctx_in.
type Input struct {
	// Data is the packet (XDP, tc, socket filter) or the memory (RawMemory).
	Data []byte
	// Context is the program context to start from (struct xdp_md,
	// struct __sk_buff, raw tracepoint arguments, the syscall program's
	// context, pt_regs ...), in the host's byte order; nil for none.
	Context []byte
	// CPU is the run's CPU slot, which bpf_get_smp_processor_id returns
	// and per-CPU maps use. It must be the CPU of the engine's run.
	CPU int
	// Task is the thread the run acts for; nil means the waggle process.
	Task *helper.Task
	// Packet, when not nil, is the engine's region for the legacy packet
	// loads (LD_ABS, LD_IND): the run stores Packet() into it at Setup
	// and again whenever a helper moves or resizes the packet.
	Packet *memory.Region
	// Tunnel is the skb's tunnel metadata for tc programs (what
	// bpf_skb_get_tunnel_key reads); nil for none.
	Tunnel *TunnelKey
	// FIB is what bpf_fib_lookup consults; nil for nothing.
	FIB *FIB
	// Cookie is the attach cookie of the hook that runs the program
	// (bpf_get_attach_cookie).
	Cookie uint64
}

// Output is what a run leaves, as BPF_PROG_TEST_RUN's data_out and ctx_out.
type Output struct {
	Data    []byte
	Context []byte
}

// Redirect is the target a program chose with bpf_redirect or
// bpf_redirect_map.
type Redirect struct {
	Ifindex uint32 // bpf_redirect's ifindex, or the key of bpf_redirect_map
	Flags   uint64
	Map     any // the map of bpf_redirect_map (a maps.Map), or nil
}

// Buffer geometry, as in the kernel's test runs on x86-64 and arm64 with
// 4 KiB pages.
const (
	pageSize       = 4096
	xdpHeadroom    = 256 // XDP_PACKET_HEADROOM
	xdpFrameSize   = 40  // sizeof(struct xdp_frame), reserved at the start of the headroom
	sharedInfoSize = 320 // SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), the tailroom
	xdpHardEnd     = pageSize - sharedInfoSize
	ethHLen        = 14
	skbMaxData     = pageSize - 64 - sharedInfoSize // NET_SKB_PAD + NET_IP_ALIGN headroom
	maxSkbFrags    = 17                             // MAX_SKB_FRAGS
	keyScratchSize = 8 * 512                        // one key slot per callback nesting level
	maxRawTPArgs   = 12                             // MAX_BPF_FUNC_ARGS
)

// Run is the state of one run of a program: its context, its packet and
// what its helpers did (a redirect, records it reserved, a lock it holds).
// helper.Call.State holds the *Run during a run. A Run is reused run after
// run (Setup, the program, Finish), allocating its buffers once; it is not
// safe for concurrent use.
type Run struct {
	typ  ebpf.ProgramType
	pt   *ProgramType
	kind kind
	opts Options

	mem    *memory.Memory
	task   *helper.Task // the current task, nil for the waggle process
	ctxIdx int          // index of the context region in mem.Regions, or -1
	pktIdx int          // index of the packet region, or -1
	packet memory.Region
	// ldPacket is Input.Packet: the engine's LD_ABS region.
	ldPacket *memory.Region
	cpu      int

	ctxBuf []byte // reserves the addresses of a virtual context
	// ctxRegion is the context region of XDP and skb runs, the same run
	// after run.
	ctxRegion memory.Region
	// minCtx is how far into a context of plain memory the program reads
	// or writes (the kernel's max_ctx_offset): see RequireContext.
	minCtx int
	raw    []byte // the memory of kindMemory and kindRawData
	rawLen int

	xdp  xdpState
	skb  skbState
	sock sockState

	keys       []byte
	keysRegion memory.Region // keys, read-only for programs // read-only scratch for for_each_map_elem keys
	keyDepth   int

	// taskMem holds the task_structs of bpf_get_current_task, built at its
	// first call in a run (taskAdded), in taskRegion.
	taskMem    []byte
	taskRegion memory.Region
	taskAdded  bool

	redirect     Redirect
	redirectSet  bool
	tunnelIn     *TunnelKey         // Input.Tunnel
	fib          *FIB               // Input.FIB
	clones       int                // bpf_clone_redirect copies sent
	cookie       uint64             // the run's socket cookie (bpf_get_socket_cookie), 0 until asked
	attachCookie uint64             // Input.Cookie (bpf_get_attach_cookie)
	lock         *uint32            // the bpf_spin_lock this run holds
	reserved     map[uint64]reserve // ring buffer records not yet committed
	// r1 and r2 are the program's first arguments (the others are 0),
	// which the program type's contextImpl sets in Setup.
	r1, r2 uint64
	// held are the inner maps the run looked up (MapLookup): it keeps
	// them, and so their values, reachable until it ends.
	held []maps.Map
	// heldPrograms are the programs the run entered by tail calls through
	// Go (tailCall), each retained: a prog_array slot cleared meanwhile
	// does not release their maps under the run.
	heldPrograms []maps.ProgramEntry
	// argsRegions is the number of regions of a run prepared by
	// PrepareArgs.
	argsRegions int
}

// NewRun prepares runs of programs of type t.
func NewRun(t ebpf.ProgramType, opts Options) (*Run, error) {
	pt, ok := ProgramTypeOf(t)
	if !ok {
		return nil, fmt.Errorf("waggle cannot run programs of type %s", TypeName(t))
	}
	desc, _, err := pt.ForAttach(opts.AttachType)
	if err != nil {
		return nil, err
	}
	r := &Run{typ: t, pt: pt, kind: pt.context.kind(), opts: opts, ctxIdx: -1, pktIdx: -1, keys: make([]byte, keyScratchSize)}
	r.packet = memory.Region{Kind: memory.KindPacket}
	r.keysRegion = memory.NewRegion(r.keys, false, memory.KindHelper)
	r.sock.desc = desc
	pt.context.alloc(r)
	return r, nil
}

// errnof returns an error for Setup that matches the kernel's errno.
func errnof(e errno.Errno, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), e)
}

// checkTailZero is the kernel's bpf_check_uarg_tail_zero: a ctx_in longer
// than the context must have only zeros past it.
func checkTailZero(ctx []byte, size int) error {
	if len(ctx) <= size {
		return nil
	}
	for _, b := range ctx[size:] {
		if b != 0 {
			return errnof(errno.E2BIG, "the context is %d bytes, and those past the %d of the structure are not all zero", len(ctx), size)
		}
	}
	return nil
}

// Setup prepares a run with the input, as BPF_PROG_TEST_RUN does: it
// checks the input with the kernel's rules (errors match the kernel's errno
// with errors.Is), appends the run's regions (context, packet, scratch) to
// mem and returns the program's r1 to r5. mem must stay as it is until
// Finish; the Run updates the packet region in place when a helper moves
// the packet's bounds.
func (r *Run) Setup(mem *memory.Memory, in Input) (args [5]uint64, err error) {
	args[0], args[1], err = r.SetupRegs(mem, &in)
	return args, err
}

// SetupRegs is Setup for a run's hot path: it takes the input by pointer
// and returns the program's r1 and r2 in registers (r3 to r5 start at 0
// for every program type). An Input or a [5]uint64 passed by value goes
// through memory, and copying it right after it was written stalls on
// store forwarding, once per run.
func (r *Run) SetupRegs(mem *memory.Memory, in *Input) (r1, r2 uint64, err error) {
	r.release()
	r.mem, r.cpu, r.task, r.ldPacket = mem, in.CPU, in.Task, in.Packet
	r.tunnelIn, r.cookie, r.fib, r.clones = in.Tunnel, 0, in.FIB, 0
	r.attachCookie = in.Cookie
	r.ctxIdx, r.pktIdx = -1, -1
	r.redirect, r.redirectSet = Redirect{}, false
	r.keyDepth = 0
	r.taskAdded = false

	r.r1, r.r2 = 0, 0
	// The packet kinds and RawMemory's are called directly, not through
	// the interface: their setup runs on every packet or call. r.packet,
	// the region of LD_ABS, is set by skbKind's setup on every run and
	// stays empty for the other kinds (NewRun), so that Packet's copy of
	// it never waits for stores just made.
	switch r.kind {
	case kindXDP:
		err = xdpKind{}.setup(r, mem, in.Data, in.Context)
	case kindSKB:
		err = skbKind{l2: r.skb.l2, cg: r.skb.cg}.setup(r, mem, in.Data, in.Context)
	case kindRawData:
		err = rawDataKind{}.setup(r, mem, in.Data, in.Context)
	default:
		err = r.pt.context.setup(r, mem, in.Data, in.Context)
	}
	if err != nil {
		return 0, 0, err
	}
	if r.ldPacket != nil {
		*r.ldPacket = r.packet
	}
	mem.Add(r.keysRegion) // never empty
	return r.r1, r.r2, nil
}

// setRaw copies b into the run's raw memory.
func (r *Run) setRaw(b []byte) {
	if n := max(len(b), r.minCtx); cap(r.raw) < n {
		r.raw = make([]byte, n)
	}
	r.raw = r.raw[:cap(r.raw)]
	r.rawLen = copy(r.raw, b)
}

// RequireContext tells the run that the program accesses its context up to
// byte n, as the verifier found (the kernel's max_ctx_offset). As the
// kernel does, Setup then refuses a syscall or raw tracepoint program's
// context shorter than n (EINVAL); kprobe, tracepoint and perf_event
// contexts (which the kernel cannot test-run) are padded with zeros to n
// bytes. Compiled code, which does not check its accesses to plain-memory
// contexts, relies on it.
func (r *Run) RequireContext(n int) { r.minCtx = n }

// Packet is the region that the legacy packet loads (LD_ABS, LD_IND) read:
// the engine's Machine.Packet for this run. For tc programs it starts at
// the Ethernet header, for socket filters at the network header (the
// kernel's skb->data in both); other program types have none.
func (r *Run) Packet() memory.Region { return r.packet }

// Redirect returns the target of the run's last successful bpf_redirect or
// bpf_redirect_map.
func (r *Run) Redirect() (Redirect, bool) { return r.redirect, r.redirectSet }

// Finish fills out with what the run left, as BPF_PROG_TEST_RUN's data_out
// and ctx_out, and releases what the run still held: a bpf_spin_lock (a
// program the verifier accepted cannot end holding one, but a run that
// failed can) and ring buffer records it reserved but did not submit
// (discarded). out's slices are reused when they are large enough.
func (r *Run) Finish(out *Output) {
	r.release()
	out.Data, out.Context = out.Data[:0], out.Context[:0]
	r.pt.context.finish(r, out)
	if len(out.Data) == 0 {
		out.Data = nil
	}
	if len(out.Context) == 0 {
		out.Context = nil
	}
}

// End ends a run whether or not the program exited normally: it frees
// the lock, the ring buffer reservations and the tail-called programs the
// run still holds, so that a run aborted by an error leaves no map value
// locked and no program retained. Finish calls it too.
func (r *Run) End() {
	if len(r.held)|len(r.heldPrograms)|len(r.reserved) != 0 || r.lock != nil {
		r.release() // inlined: most runs hold nothing at their end
	}
}

// release frees the lock and the reservations the run still holds.
func (r *Run) release() {
	if len(r.held) == 0 && len(r.heldPrograms) == 0 && r.lock == nil && len(r.reserved) == 0 {
		return // the common case, at the end of every run
	}
	clear(r.held)
	r.held = r.held[:0]
	for i, p := range r.heldPrograms {
		p.Release()
		r.heldPrograms[i] = nil
	}
	r.heldPrograms = r.heldPrograms[:0]
	if r.lock != nil {
		unlockWord(r.lock)
		r.lock = nil
	}
	if len(r.reserved) == 0 {
		return
	}
	for addr, res := range r.reserved {
		_ = res.rb.Commit(res.p, true)
		delete(r.reserved, addr)
	}
}

// argsContext is the context of raw tracepoint programs: an array of u64
// arguments that the program may read, 1, 2, 4 or 8 bytes at a time,
// aligned, within the arguments the caller gave.
type argsContext Run

// Load implements memory.Virtual.
func (a *argsContext) Load(off, size uint64) (uint64, bool) {
	r := (*Run)(a)
	if off%size != 0 || off+size > uint64(r.rawLen) {
		return 0, false
	}
	return loadLE(r.ctxBuf[off:], size), true
}

// Store implements memory.Virtual: raw tracepoint arguments are read-only.
func (a *argsContext) Store(off, size, value uint64) bool { return false }

// loadLE reads size bytes of b in the host's byte order.
func loadLE(b []byte, size uint64) uint64 {
	switch size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.NativeEndian.Uint16(b))
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	case 8:
		return binary.NativeEndian.Uint64(b)
	}
	return 0
}

// storeLE writes the low size bytes of v into b in the host's byte order.
func storeLE(b []byte, size, v uint64) {
	switch size {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.NativeEndian.PutUint16(b, uint16(v))
	case 4:
		binary.NativeEndian.PutUint32(b, uint32(v))
	case 8:
		binary.NativeEndian.PutUint64(b, v)
	}
}

// addrOf returns the address of b[0].
func addrOf(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
