// Package jit runs eBPF programs compiled to machine code (package amd64 on
// x86-64, package arm64 on AArch64).
//
// Compiled code runs on a stack of its own and returns to Go for what only
// Go can do: helper calls, tail calls, and the few instructions it does not
// compile (context fields served by Go, legacy packet loads). Each return is
// an exit with a reason in the shared abi.Context; Go does the work and
// enters the code again where it left off. Compiled code never calls Go
// functions and never runs on a goroutine's stack, so the garbage
// collector, stack growth and preemption never see its frames: a goroutine
// in compiled code is, for the runtime, in one long leaf function that
// cannot be preempted until its next exit.
//
// Verified programs are compiled without run-time checks, as the kernel's
// JIT compiles them: their safety is the verifier's proof. Programs that
// were not verified are compiled in checked mode (Options.Checked), where
// every memory access is checked as the interpreter checks it. A budget,
// the run's context and a deadline bound every run (see Program.Run).
package jit

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// Program is a compiled program. It is immutable and may run on many
// Machines at once.
type Program struct {
	id       uint32
	code     *codeMemory
	codeSize int
	base     uintptr
	out      *abi.Output
	insns    isa.Instructions
	index    []int32         // slot → index into insns
	helpers  []helper.Helper // the helpers the program calls by ID
	// helperAt is, by slot, the index in helpers of the helper a call
	// calls, or -1 (callx, and slots that are not helper calls).
	helperAt []int32
	table    *helper.Table // for callx
	funcs    []bool        // funcs[slot]: a function pointer may point there
	// funcLen is, by slot, the length of the function that starts there,
	// which a callback entered from Go charges to the budget (verified
	// code; nil if the program has no function pointers).
	funcLen []int32
	checked bool
	// maps are the maps the program refers to by handle: compiled code
	// holds their values' addresses, so the program keeps them alive.
	maps []maps.Map
	// mapCalls are, by slot, the lookups and updates of a map known at
	// compile time, which Go serves without the helper's generic path.
	mapCalls []*mapCall
}

// mapCall is a bpf_map_lookup_elem or bpf_map_update_elem of a known map.
type mapCall struct {
	m      maps.Map
	update bool
	key    uint64 // key size
	value  uint64 // value size
}

var lastID atomic.Uint32

// Options are what the compiler needs to know besides the instructions.
type Options struct {
	// Type is the program's type, which sets its context.
	Type ebpf.ProgramType
	// ContextAccesses are the indexes of the instructions that access
	// the context, as the verifier found them.
	ContextAccesses []int
	// OwnHelpers are the helpers of the caller's own among the program's
	// (they replace kernel helpers of the same ID): their calls are never
	// inlined.
	OwnHelpers *helper.Table
	// Checked compiles a program the verifier did not prove safe: every
	// memory access is checked as the interpreter checks it, bpf-to-bpf
	// calls check their depth, and runs count instructions against
	// RunArgs.Budget. Without Checked, the program must be verified.
	Checked bool
	// Validated says that the instructions passed
	// isa.Instructions.Validate already (interp.Compile validates them).
	Validated bool
	// Maps are the maps whose values the code addresses directly (global
	// data: an lddw of a value's address), besides those the instructions
	// name by handle. The program keeps them all alive.
	Maps []maps.Map
	// unbounded compiles verified code without the budget's charges
	// (abi.Input.Unbounded), for benchmarks.
	unbounded bool
}

// Compile compiles a verified program. Every helper it calls must be in
// table, which must not change afterwards (callx looks helpers up in it).
func Compile(insns isa.Instructions, table *helper.Table, opts Options) (*Program, error) {
	if !Supported {
		return nil, errors.New(Unsupported)
	}
	if !opts.Validated {
		if err := insns.Validate(); err != nil {
			return nil, err
		}
	}
	nslots := insns.SlotCount()
	p := &Program{
		id:       lastID.Add(1),
		insns:    insns,
		index:    make([]int32, 0, nslots),
		helperAt: make([]int32, nslots),
		table:    table,
		checked:  opts.Checked,
		maps:     slices.Clone(opts.Maps),
	}
	for i := range p.helperAt {
		p.helperAt[i] = -1
	}
	for _, i := range opts.ContextAccesses {
		// Compiled code trusts these to be accesses through the context
		// pointer: they must at least be loads or stores.
		if i < 0 || i >= len(insns) {
			return nil, fmt.Errorf("context access %d is not an instruction of the program", i)
		}
		if cl := insns[i].Class(); cl != isa.ClassLDX && cl != isa.ClassST && cl != isa.ClassSTX {
			return nil, fmt.Errorf("instruction %d (%s) is listed as a context access but is not a load or store", i, insns[i])
		}
	}
	slot := 0
	for i, ins := range insns {
		p.index = append(p.index, int32(i))
		if ins.IsLdDW() {
			p.index = append(p.index, int32(i))
			if uint8(ins.Src) == isa.PseudoFunc {
				if p.funcs == nil {
					p.funcs = make([]bool, nslots)
				}
				t, _ := ins.JumpTarget(slot)
				p.funcs[t] = true
			}
		}
		if ins.IsLdDW() && uint8(ins.Src) == isa.PseudoNone {
			if m := maps.ByHandle(uint64(ins.Imm)); m != nil && !slices.Contains(p.maps, m) {
				p.maps = append(p.maps, m)
			}
		}
		if ins.IsHelperCall() {
			h, ok := table.Lookup(int32(ins.Imm))
			if !ok {
				return nil, &isa.ValidationError{Index: i, Slot: slot, Instruction: ins,
					Reason: fmt.Sprintf("calls helper %d (%s), which is not available to this program", ins.Imm, helper.Name(int32(ins.Imm)))}
			}
			k := slices.IndexFunc(p.helpers, func(x helper.Helper) bool { return x.ID == h.ID })
			if k < 0 {
				k = len(p.helpers)
				p.helpers = append(p.helpers, h)
			}
			p.helperAt[slot] = int32(k)
		}
		slot += ins.Slots()
	}
	buf := codeBuffers.Get().(*[]byte)
	defer codeBuffers.Put(buf)
	out, err := compileNative(abi.Input{
		Buffer:       *buf,
		Instructions: insns,
		ID:           p.id,
		Helper: func(id int32) error {
			if _, ok := table.Lookup(id); !ok {
				return fmt.Errorf("helper %d (%s) is not available to this program", id, helper.Name(id))
			}
			return nil
		},
		Context: func(off int16, size int, write bool) abi.ContextAccess {
			mirror := kernel.ContextMirror(opts.Type, int(off), size, write)
			switch {
			case !mirror.Virtual:
				return abi.ContextAccess{Kind: abi.ContextMemory}
			case mirror.Found:
				return abi.ContextAccess{Kind: abi.ContextMirror, Off: mirror.Off, Size: mirror.Size}
			}
			return abi.ContextAccess{Kind: abi.ContextEmulate}
		},
		ContextAccesses: opts.ContextAccesses,
		Array:           arrayMap,
		Hash:            hashMap,
		ProgArray:       progArray,
		Inline: func(id int32) bool {
			_, own := opts.OwnHelpers.Lookup(id)
			return !own && kernel.HelperInline(id)
		},
		Checked:   opts.Checked,
		Unbounded: opts.unbounded,
	})
	if err != nil {
		return nil, err
	}
	p.out = out
	if p.funcs != nil && !opts.Checked && !opts.unbounded {
		p.funcLen = abi.FunctionLengths(insns)
	}
	for slot, handle := range out.CallMaps {
		if opts.Checked {
			// Checked code gets the interpreter's checks of the key.
			break
		}
		h := p.helperAt[slot]
		m := maps.ByHandle(handle)
		if h < 0 || m == nil {
			continue
		}
		id := p.helpers[h].ID
		if _, own := opts.OwnHelpers.Lookup(id); own || (id != helperMapLookupElem && id != helperMapUpdateElem) {
			continue
		}
		if p.mapCalls == nil {
			p.mapCalls = make([]*mapCall, nslots)
		}
		p.mapCalls[slot] = &mapCall{m: m, update: id == helperMapUpdateElem, key: uint64(m.Spec().KeySize), value: uint64(m.Spec().ValueSize)}
		if !slices.Contains(p.maps, m) {
			p.maps = append(p.maps, m)
		}
	}
	if p.code, err = mapCode(out.Code); err != nil {
		return nil, err
	}
	p.codeSize = len(out.Code)
	*buf = out.Code[:0] // the mapped copy is the code from now on
	out.Code = nil
	p.base = uintptr(unsafe.Pointer(unsafe.SliceData(p.code.mem)))
	programs.Store(p.id, weak.Make(p))
	runtime.AddCleanup(p, func(id uint32) { programs.Delete(id) }, p.id)
	return p, nil
}

// programs are the compiled programs by ID, for the exits of programs that
// a run entered by a tail call made in compiled code (exitAt).
var programs sync.Map // uint32 → weak.Pointer[Program]

// programByID returns the compiled program with this ID, or nil.
func programByID(id uint32) *Program {
	if w, ok := programs.Load(id); ok {
		return w.(weak.Pointer[Program]).Value()
	}
	return nil
}

// NativeTailEntry is where compiled code jumps to tail-call p (its first
// instruction, continuing the caller's frame, registers and budget), or 0
// for checked code, which Go enters (its budget is counted in memory and
// its windows set by Go). It implements maps.NativeTailCode: a prog_array
// holding p keeps the address in its tail table.
func (p *Program) NativeTailEntry() uintptr {
	if p.checked {
		return 0
	}
	return p.base + uintptr(p.out.Slots[0])
}

var _ maps.NativeTailCode = (*Program)(nil)

// codeBuffers are buffers for code being generated.
var codeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// arrayMap describes the array map with this handle for inlined lookups.
func arrayMap(handle uint64) (abi.ArrayMap, bool) {
	m := maps.ByHandle(handle)
	if m == nil {
		return abi.ArrayMap{}, false
	}
	values, n, stride, cpus, ok := maps.ArrayValues(m)
	if !ok || stride > 1<<31 {
		return abi.ArrayMap{}, false
	}
	return abi.ArrayMap{Values: uintptr(values), MaxEntries: n, Stride: uint32(stride), CPUs: uint32(cpus)}, true
}

// progArray describes the prog_array with this handle for tail calls
// compiled code makes itself.
func progArray(handle uint64) (abi.ProgArray, bool) {
	m := maps.ByHandle(handle)
	if m == nil {
		return abi.ProgArray{}, false
	}
	tails, n, ok := maps.ProgArrayTails(m)
	if !ok {
		return abi.ProgArray{}, false
	}
	return abi.ProgArray{Tails: uintptr(tails), MaxEntries: n}, true
}

// hashMap describes the hash map with this handle for lookups compiled
// code does itself.
func hashMap(handle uint64) (abi.HashMap, bool) {
	m := maps.ByHandle(handle)
	if m == nil {
		return abi.HashMap{}, false
	}
	l, ok := maps.HashLayoutOf(m)
	if !ok || l.ValueStride > 1<<30 || l.SlotSize > 1<<30 || l.StripeSize > 1<<30 {
		return abi.HashMap{}, false
	}
	return abi.HashMap{
		KeySize: uint8(m.Spec().KeySize),
		Buckets: uintptr(l.Buckets), Stripes: uintptr(l.Stripes), Slots: uintptr(l.Slots),
		Keys: uintptr(l.Keys), Values: uintptr(l.Values),
		Mask: l.Mask, StripeMask: l.StripeMask, SlotCount: l.SlotCount,
		StripeSize: uint32(l.StripeSize), StripeSeq: uint32(l.StripeSeq),
		SlotSize: uint32(l.SlotSize), SlotNext: uint32(l.SlotNext), SlotHash: uint32(l.SlotHash),
		ValueStride: uint32(l.ValueStride),
		HashXor:     l.HashXor, HashMul: l.HashMul, HashK0: l.HashK0, HashK1: l.HashK1,
	}, true
}

// Instructions returns the instructions the program was compiled from.
func (p *Program) Instructions() isa.Instructions { return p.insns }

// CodeSize is the size of the program's machine code in bytes.
func (p *Program) CodeSize() int { return p.codeSize }

// nativeStackSize is the stack compiled code runs on: return addresses
// and saved registers of at most engine.MaxFrames frames, and of the
// callbacks nested in them.
const nativeStackSize = 64 << 10

// Machine is the mutable state of one run at a time: the eBPF stack, the
// stack compiled code runs on, and the memory helpers may access. It is not
// safe for concurrent use.
type Machine struct {
	// Memory holds the regions besides the stack that helpers may access
	// and that Go-served instructions use.
	Memory memory.Memory
	// Packet is the region legacy packet loads (LD_ABS, LD_IND) read.
	Packet memory.Region

	ctx      abi.Context
	stack    []uint64 // engine.MaxFrames frames of engine.StackSize bytes
	stackTop uint64
	native   []uint64
	nativeSP uint64 // the initial stack pointer of compiled code
	call     helper.Call
	cancel   context.Context
	timeout  time.Duration // the run's (RunArgs.Timeout), or 0
	deadline time.Time     // when timeout is not 0
	exits    uint32        // helper exits, counted while there is a deadline
	budget   uint64        // RunArgs.Budget of the last run
	// rest is the run's budget beyond Context.Budget; rest0 what it is
	// at the start of a run (of a repeat), restRepeat the Context.Repeat
	// of the run that rest belongs to.
	rest, rest0, restRepeat uint64
	prog                    *Program   // the program of the last exit
	progs                   []*Program // the run's programs: the first, then tail-call targets
	stackFor                uint64     // the r10 whose stack region m.call has
	// once is the program PrepareOnce set the machine up for, onceArgs
	// its arguments (for checked code), onceEntry where EnterOnce enters
	// its code; onceState says whether the machine is still prepared, and
	// for which code (a byte: RunRepeat unprepares it without a write
	// barrier).
	once      *Program
	onceEntry uintptr
	onceArgs  engine.RunArgs
	onceState uint8
}

// The states of a machine for RunOnce.
const (
	onceNone      = iota // not prepared, or it ran something else since
	onceVerified         // prepared for verified code: EnterOnce enters it
	onceChecked          // prepared for checked code: FinishOnce runs it
	oncePreparing        // PrepareOnce's call of RunRepeat: the setup only
)

// NewMachine allocates a machine.
func NewMachine() *Machine {
	m := &Machine{
		stack:  make([]uint64, engine.MaxFrames*engine.StackSize/8),
		native: make([]uint64, nativeStackSize/8),
	}
	m.stackTop = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.stack)))) + engine.MaxFrames*engine.StackSize
	m.nativeSP = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.native)))) + nativeStackSize - 64
	m.call = helper.NewCall(context.Background(), &m.Memory, m)
	m.ctx.CallArgs = uint64(uintptr(unsafe.Pointer(&m.call.Args)))
	m.stackFor = m.stackTop
	m.setBudget(0)
	m.call.SetStack(m.stackRegion(m.stackTop))
	return m
}

// StackTop is r10 at the start of a run.
func (m *Machine) StackTop() uint64 { return m.stackTop }

// Run runs the program on m from its first instruction and returns r0.
//
// RunArgs.Budget bounds every run. Checked code counts its instructions
// by basic block, as the interpreter counts them one by one. Verified code
// charges the budget only where it could run on: at each backward jump
// taken, the instructions from its target to the jump; at each bpf-to-bpf
// call and each callback entered from Go, the length of the function (see
// abi.FunctionLengths). That is at least what it runs but for the length
// of each function entered (a frame between two backward jumps only moves
// forward), so a budget of N ends a looping program after about N
// instructions, or fewer when its loops jump over part of their bodies.
//
// Every 65,536 instructions charged, when Go refills the budget,
// RunArgs.Context and the deadline (RunArgs.Timeout) are checked; the context is also
// checked at every helper call, and the deadline every 256 helper calls.
// The errors are the interpreter's: engine.ErrBudgetExhausted, the
// context's error, an *engine.TimeoutError.
func (p *Program) Run(m *Machine, args engine.RunArgs) (uint64, error) {
	return p.RunRepeat(m, &args, 1)
}

// RunRepeat runs the program n times (at least once) on the same input, as
// BPF_PROG_TEST_RUN's repeat does, and returns the last run's r0. It stops
// at the first error.
func (p *Program) RunRepeat(m *Machine, args *engine.RunArgs, n uint32) (uint64, error) {
	// A run of its own unprepares a machine for RunOnce; PrepareOnce
	// calls RunRepeat for the setup alone (no call of a setup function:
	// every run of Program.Run would pay for it).
	preparing := m.onceState == oncePreparing
	m.onceState = onceNone
	if args.Context != nil || m.cancel != nil {
		m.cancel = args.Context
		m.call.Context = args.Context
		if m.call.Context == nil {
			m.call.Context = context.Background()
		}
	}
	if args.Timeout != 0 || m.timeout != 0 {
		m.deadline, m.timeout = args.Deadline, args.Timeout
	}
	if args.Budget != m.budget {
		m.setBudget(args.Budget)
	}
	m.call.CPU = args.CPU
	m.ctx.CPU = uint64(args.CPU)
	m.call.State = args.State
	m.prog = p
	if len(m.progs) == 0 || m.progs[0] != p || len(m.progs) > maxProgs {
		// m.progs keeps the code of every program the run enters (this
		// one, then each tail-call target once, as Go meets it) alive and
		// mapped while it runs; they stay referenced until a run of
		// another program, so that the exits of tail-call targets find
		// them quickly run after run.
		m.progs = append(m.progs[:0], p)
	}
	m.ctx.Args[0], m.ctx.Args[1], m.ctx.Args[2], m.ctx.Args[3], m.ctx.Args[4] = args.R1, args.R2, args.R3, args.R4, args.R5
	m.ctx.TailCallsAtEntry = 0
	m.ctx.StackTop = m.stackTop
	m.ctx.Target = uint64(p.base) + uint64(p.out.Slots[0])
	if preparing {
		return 0, nil
	}
	// Compiled code repeats verified programs itself. Checked code runs
	// once per entry, each run with its own budget.
	left := max(n, 1) // runs still to do
	for {
		per := left
		if p.checked {
			per = 1
		}
		m.ctx.Repeat = uint64(per)
		m.ctx.NativeSP = m.nativeSP
		m.restRepeat = 0 // the first refill gives the run the rest0 of a whole budget
		if p.checked {
			m.setChecked()
			m.ctx.Budget = m.ctx.BudgetAtEntry
		}
		r, err := m.loop(p.base + uintptr(p.out.Entry))
		if err != nil {
			return r, err
		}
		if m.ctx.ExitCode == abi.ExitDone {
			left -= per
		} else {
			// The run ended early (a helper's ErrExitProgram, an LD_ABS
			// out of the packet); Repeat counts it and those not started.
			left -= per - uint32(m.ctx.Repeat) + 1
		}
		if left == 0 {
			return r, nil
		}
		m.prog = p
	}
}

// maxProgs bounds Machine.progs across runs of one program.
const maxProgs = 64

// checkInterval is how many instructions compiled code runs (or charges)
// between two looks at the run's context and deadline.
const checkInterval = 1 << 16

// deadlineInterval is how many helper exits pass between two looks at the
// run's deadline (each look reads the clock).
const deadlineInterval = 256

// setBudget sets the budget every run of a repeat gets: BudgetAtEntry from
// the entry stub, rest0 from the first refill.
func (m *Machine) setBudget(budget uint64) {
	m.budget = budget
	if budget == 0 {
		budget = engine.DefaultBudget
	}
	m.ctx.BudgetAtEntry = min(budget, checkInterval)
	m.rest0 = budget - m.ctx.BudgetAtEntry
}

// setChecked prepares the Context for checked code: the windows and the
// call depth limit.
func (m *Machine) setChecked() {
	m.ctx.FrameTop = m.stackTop
	m.ctx.MinCallR10 = m.stackTop - (engine.MaxFrames-1)*engine.StackSize
	m.setStackWindow(m.stackTop)
	m.ctx.Windows[1] = abi.Window{}
	for _, r := range m.Memory.Regions {
		if r.Virtual == nil && r.Size > 0 {
			m.ctx.Windows[1] = abi.Window{Lo: r.Start, LoadLen: r.Size}
			if r.Writable {
				m.ctx.Windows[1].StoreLen = r.Size
			}
			break
		}
	}
}

// setStackWindow points window 0 at the frames up to the one whose r10 is
// r10.
func (m *Machine) setStackWindow(r10 uint64) {
	lo := r10 - engine.StackSize
	m.ctx.Windows[0] = abi.Window{Lo: lo, LoadLen: m.stackTop - lo, StoreLen: m.stackTop - lo}
}

// refill serves a budget exit: Context.Budget is below zero, by the
// instructions charged beyond it, which the rest of the budget pays
// before it refills Context.Budget; then the run's context and deadline
// are checked.
func (m *Machine) refill() error {
	m.syncRest()
	debt := -m.ctx.Budget
	if m.rest < debt {
		m.ctx.Budget, m.rest = 0, 0
		return engine.ErrBudgetExhausted
	}
	m.rest -= debt
	if err := engine.CheckRun(m.cancel, m.deadline, m.timeout); err != nil {
		m.ctx.Budget = 0
		return err
	}
	m.ctx.Budget = min(m.rest, checkInterval)
	m.rest -= m.ctx.Budget
	return nil
}

// syncRest gives m.rest to the run in progress: in the first refill of
// another run of a repeat (which the entry stub started with
// BudgetAtEntry), the rest of a whole budget.
func (m *Machine) syncRest() {
	if m.ctx.Repeat != m.restRepeat {
		m.rest, m.restRepeat = m.rest0, m.ctx.Repeat
	}
}

// charge charges n instructions to the budget from Go (a callback's entry
// into verified code), refilling it as a budget exit does.
func (m *Machine) charge(n uint64) error {
	if m.ctx.Budget >= n {
		m.ctx.Budget -= n
		return nil
	}
	m.ctx.Budget -= n
	return m.refill()
}

// loop enters compiled code at entry and serves its exits until the
// function the entry called returns.
func (m *Machine) loop(entry uintptr) (uint64, error) {
	enter(entry, &m.ctx)
	if m.ctx.ExitCode == abi.ExitDone {
		return m.ctx.Ret, nil
	}
	return m.serve()
}

// serve serves the exit compiled code just made, entering it again where
// it continues, until the function the entry called returns.
func (m *Machine) serve() (uint64, error) {
	for {
		var entry uintptr
		switch m.ctx.ExitCode {
		case abi.ExitDone:
			return m.ctx.Ret, nil
		case abi.ExitHelper:
			p, slot := m.exitAt()
			if p == nil {
				return 0, m.errNoProgram()
			}
			next, r, err := m.helperCall(p, slot)
			if next == 0 {
				return r, err
			}
			entry = next
		case abi.ExitEmulate:
			p, slot := m.exitAt()
			if p == nil {
				return 0, m.errNoProgram()
			}
			done, r, err := m.emulate(p, slot)
			if done {
				return r, err
			}
			entry = p.base + uintptr(p.out.EmulateResume)
		case abi.ExitBudget:
			p, slot := m.exitAt()
			if p == nil {
				return 0, m.errNoProgram()
			}
			if err := m.refill(); err != nil {
				if k := p.helperAt[slot]; k >= 0 {
					// A helper compiled inline (bpf_loop) charges
					// at its call: say so, as the helper would.
					h := &p.helpers[k]
					err = fmt.Errorf("helper %d (%s): %w", h.ID, h.Name, err)
				}
				return 0, p.errAt(slot, err)
			}
			entry = p.base + uintptr(p.out.EmulateResume)
		case abi.ExitCallDepth:
			p, slot := m.exitAt()
			if p == nil {
				return 0, m.errNoProgram()
			}
			return 0, p.errAt(slot, engine.ErrCallDepth)
		default:
			return 0, fmt.Errorf("compiled code exited with unknown code %d", m.ctx.ExitCode)
		}
		enter(entry, &m.ctx)
	}
}

// exitAt returns the program and slot of the last exit (a nil program if
// it is not to be found, which would be a bug: see errNoProgram).
func (m *Machine) exitAt() (*Program, int) {
	id := uint32(m.ctx.ExitArg >> 32)
	slot := int(uint32(m.ctx.ExitArg))
	p := m.prog
	if p.id != id {
		p = nil
		for _, q := range m.progs {
			if q.id == id {
				p = q
				break
			}
		}
		if p == nil {
			// A program that compiled code entered by a tail call: its
			// prog_array (or the array's retired code) holds it while it
			// runs.
			if p = programByID(id); p == nil {
				return nil, slot
			}
			m.progs = append(m.progs, p)
		}
	}
	m.prog = p
	return p, slot
}

// errNoProgram is the error of an exit from a program that exitAt cannot
// find: compiled code runs only while its program is reachable, so this
// is a bug, reported rather than crashing the host.
func (m *Machine) errNoProgram() error {
	return fmt.Errorf("compiled code exited (code %d) from program %d at slot %d, which waggle no longer knows",
		m.ctx.ExitCode, uint32(m.ctx.ExitArg>>32), uint32(m.ctx.ExitArg))
}

// helperCall serves a helper exit at slot. It returns where to enter the
// code next, or 0 and the run's result.
func (m *Machine) helperCall(p *Program, slot int) (uintptr, uint64, error) {
	if m.cancel != nil {
		if err := m.cancel.Err(); err != nil {
			return 0, 0, p.errAt(slot, err)
		}
	}
	if m.timeout != 0 {
		if m.exits++; m.exits%deadlineInterval == 0 {
			if !time.Now().Before(m.deadline) {
				return 0, 0, p.errAt(slot, &engine.TimeoutError{Timeout: m.timeout})
			}
		}
	}
	var h *helper.Helper
	if k := p.helperAt[slot]; k >= 0 {
		h = &p.helpers[k]
	} else {
		// callx: the helper's ID is in Ret.
		id := m.ctx.Ret
		found, ok := p.table.Lookup(int32(id))
		if !ok || id > 1<<31-1 {
			ins := p.insns[p.index[slot]]
			return 0, 0, p.errAt(slot, fmt.Errorf("callx: r%d = %#x is not the ID of a helper available to this program", ins.Dst, id))
		}
		h = &found
	}
	if p.mapCalls != nil && p.mapCalls[slot] != nil {
		if r, done, err := m.mapCall(p.mapCalls[slot]); done {
			if err != nil {
				return 0, 0, p.errAt(slot, fmt.Errorf("helper %d (%s): %w", h.ID, h.Name, err))
			}
			m.ctx.Ret = r
			return p.base + uintptr(p.out.HelperResume), 0, nil
		}
	}
	r10 := m.ctx.Regs[10]
	c := &m.call
	if r10 != m.stackFor {
		m.stackFor = r10
		c.SetStack(m.stackRegion(r10))
	}
	// The helper stub stored r1 to r5 in c.Args.
	r, err := h.Func(c)
	m.prog = p
	if m.stackFor != r10 {
		// A callback changed the stack the Call sees.
		m.stackFor = r10
		c.SetStack(m.stackRegion(r10))
	}
	if err != nil {
		switch err := err.(type) {
		case *helper.TailCall:
			target, ok := err.Target.(*Program)
			if ok && m.ctx.TailCalls < helper.MaxTailCalls {
				m.ctx.TailCalls++
				if !slices.Contains(m.progs, target) {
					m.progs = append(m.progs, target)
				}
				m.prog = target
				return target.base + uintptr(target.out.TailEntry), 0, nil
			}
			r = 0
		default:
			if errors.Is(err, helper.ErrExitProgram) {
				return 0, r, nil
			}
			return 0, 0, p.errAt(slot, fmt.Errorf("helper %d (%s): %w", h.ID, h.Name, err))
		}
	}
	m.ctx.Ret = r
	return p.base + uintptr(p.out.HelperResume), 0, nil
}

// Helper IDs the runtime serves itself for maps known at compile time.
const (
	helperMapLookupElem = 1
	helperMapUpdateElem = 2
)

// mapCall serves a lookup or update of a map known at compile time whose
// key (and value) are on the stack, without the helper's generic path;
// done is false when they are not, and the helper must be called.
func (m *Machine) mapCall(mc *mapCall) (r uint64, done bool, err error) {
	args := &m.call.Args
	key := m.stackBytes(args[1], mc.key)
	if key == nil {
		return 0, false, nil
	}
	if !mc.update {
		r, err = kernel.MapLookup(&m.call, mc.m, key)
		return r, true, err
	}
	value := m.stackBytes(args[2], mc.value)
	if value == nil {
		return 0, false, nil
	}
	r, err = kernel.MapUpdate(mc.m, key, value, args[3], m.call.CPU)
	return r, true, err
}

// stackBytes returns the n bytes at addr if they are on the machine's
// stack, or nil.
func (m *Machine) stackBytes(addr, n uint64) []byte {
	base := unsafe.Pointer(unsafe.SliceData(m.stack))
	size := uint64(len(m.stack)) * 8
	off := addr - uint64(uintptr(base))
	if off >= size || size-off < n {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(base, off)), n)
}

// stackRegion is the stack of the frames up to the one whose r10 is r10.
func (m *Machine) stackRegion(r10 uint64) memory.Region {
	lo := r10 - engine.StackSize
	base := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.stack))))
	if lo < base || r10 > m.stackTop {
		return memory.Region{Kind: memory.KindStack}
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(m.stack))), len(m.stack)*8)
	return memory.NewRegion(b[lo-base:], true, memory.KindStack)
}

// CallFunction runs the function fn of the program that called the
// running helper in a new frame: callbacks of bpf_loop and
// for_each_map_elem. It implements helper.Engine.
func (m *Machine) CallFunction(fn uint64, args [5]uint64) (uint64, error) {
	p := m.prog
	if p == nil || fn&engine.FuncMask != engine.FuncTag {
		return 0, fmt.Errorf("callback %#x is not a function of the program", fn)
	}
	slot := fn &^ engine.FuncMask
	if slot >= uint64(len(p.out.Slots)) || p.funcs == nil || !p.funcs[slot] {
		return 0, fmt.Errorf("callback %#x is not a function of the program", fn)
	}
	r10 := m.ctx.Regs[10] // the calling frame's, stored by its helper exit
	if (m.stackTop-r10)/engine.StackSize+1 >= engine.MaxFrames {
		return 0, engine.ErrCallDepth
	}
	m.syncRest() // before the callback's run, whose Repeat is 1
	if p.funcLen != nil {
		// Verified code charges a callback's length as it enters (checked
		// code counts its basic blocks).
		if err := m.charge(uint64(p.funcLen[slot])); err != nil {
			return 0, p.errAt(int(slot), err)
		}
	}
	// The calling frame's registers, where it resumes and the entry's
	// state, which the callback's own entry and exits overwrite.
	saved, callArgs := m.ctx, m.call.Args
	m.ctx.Args = args
	m.ctx.StackTop = r10 - engine.StackSize
	m.ctx.Target = uint64(p.base) + uint64(p.out.Slots[slot])
	m.ctx.Repeat = 1
	m.ctx.TailCallsAtEntry = m.ctx.TailCalls
	// The callback goes on with the run's budget, and the caller with what
	// the callback leaves of it (its one run has Repeat 1).
	m.ctx.BudgetAtEntry = m.ctx.Budget
	restRepeat := m.restRepeat
	m.restRepeat = 1
	if p.checked {
		m.setStackWindow(r10 - engine.StackSize)
	}
	r, err := m.loop(p.base + uintptr(p.out.Entry))
	m.ctx.NativeSP, m.ctx.Resume, m.ctx.Regs = saved.NativeSP, saved.Resume, saved.Regs
	// The tail-call count goes on from the callback's, as in the
	// interpreter.
	m.ctx.Args, m.ctx.StackTop, m.ctx.Target, m.ctx.Repeat = saved.Args, saved.StackTop, saved.Target, saved.Repeat
	m.ctx.TailCallsAtEntry = saved.TailCallsAtEntry
	m.ctx.BudgetAtEntry, m.restRepeat = saved.BudgetAtEntry, restRepeat
	m.ctx.MayGoto = saved.MayGoto // the callback had a count of its own
	m.call.Args = callArgs
	m.prog = p
	if p.checked {
		m.setStackWindow(r10)
	}
	return r, err
}

// errAt builds the error for the instruction at slot.
func (p *Program) errAt(slot int, err error) error {
	return &engine.Error{Slot: slot, Instruction: p.insns[p.index[slot]], Err: err}
}

// emulate carries out the instruction at slot on the registers in the
// Context. done means the run ended, with r or err.
func (m *Machine) emulate(p *Program, slot int) (done bool, r uint64, err error) {
	ins := p.insns[p.index[slot]]
	regs := &m.ctx.Regs
	switch ins.Class() {
	case isa.ClassLD:
		off := uint32(ins.Imm)
		if ins.Mode() == isa.ModeIND {
			off += uint32(regs[ins.Src])
		}
		size := uint64(ins.Size().Bytes())
		ptr := m.Packet.Pointer(m.Packet.Start+uint64(off), size)
		if ptr == nil {
			// Out of the packet: the program ends and returns 0.
			return true, 0, nil
		}
		switch size {
		case 1:
			regs[0] = uint64(*(*uint8)(ptr))
		case 2:
			regs[0] = uint64(bits.ReverseBytes16(*(*uint16)(ptr)))
		default:
			regs[0] = uint64(bits.ReverseBytes32(*(*uint32)(ptr)))
		}
		return false, 0, nil
	case isa.ClassLDX:
		size := uint64(ins.Size().Bytes())
		addr := regs[ins.Src] + uint64(int64(ins.Offset))
		v, err := m.load(regs[10], addr, size)
		if err != nil {
			return true, 0, p.errAt(slot, err)
		}
		if ins.Mode() == isa.ModeMEMSX {
			shift := 64 - 8*size
			v = uint64(int64(v<<shift) >> shift)
		}
		regs[ins.Dst] = v
		return false, 0, nil
	case isa.ClassST, isa.ClassSTX:
		size := uint64(ins.Size().Bytes())
		addr := regs[ins.Dst] + uint64(int64(ins.Offset))
		if ins.Mode() == isa.ModeATOMIC {
			if err := m.atomic(ins, addr, size); err != nil {
				return true, 0, p.errAt(slot, err)
			}
			return false, 0, nil
		}
		v := uint64(ins.Imm)
		if ins.Class() == isa.ClassSTX {
			v = regs[ins.Src]
		}
		if err := m.store(regs[10], addr, size, v); err != nil {
			return true, 0, p.errAt(slot, err)
		}
		return false, 0, nil
	}
	return true, 0, p.errAt(slot, fmt.Errorf("the compiled code cannot carry out this instruction"))
}

// lookup returns the address of an access of size bytes at addr by an
// emulated instruction in the frame whose r10 is r10, with the
// interpreter's checks: the active stack frames, then the run's regions
// and the maps' values.
func (m *Machine) lookup(r10, addr, size uint64, acc memory.Access) (unsafe.Pointer, error) {
	stack := m.stackRegion(r10)
	if p := stack.Pointer(addr, size); p != nil {
		return p, nil
	}
	p, err := m.Memory.Lookup(addr, size, acc)
	if err != nil {
		all := memory.Memory{Regions: append([]memory.Region{stack}, m.Memory.Regions...)}
		return nil, all.Explain(addr, size, acc)
	}
	return p, nil
}

// virtualAt returns the virtual region (a context Go serves) that holds
// the size bytes at addr, or nil.
func (m *Machine) virtualAt(addr, size uint64) *memory.Region {
	for i := range m.Memory.Regions {
		if r := &m.Memory.Regions[i]; r.Virtual != nil && r.Pointer(addr, size) != nil {
			return r
		}
	}
	return nil
}

// load reads size bytes at addr for an emulated instruction: a context
// field served by Go, or plain memory.
func (m *Machine) load(r10, addr, size uint64) (uint64, error) {
	if r := m.virtualAt(addr, size); r != nil {
		v, ok := r.Virtual.Load(addr-r.Start, size)
		if !ok {
			return 0, &memory.Fault{Access: memory.Read, Addr: addr, Size: size,
				Reason: fmt.Sprintf("the %s has no field of %d bytes at offset %d that the program may read", r.Kind, size, addr-r.Start)}
		}
		return v, nil
	}
	ptr, err := m.lookup(r10, addr, size, memory.Read)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(*(*uint8)(ptr)), nil
	case 2:
		return uint64(*(*uint16)(ptr)), nil
	case 4:
		return uint64(*(*uint32)(ptr)), nil
	}
	return *(*uint64)(ptr), nil
}

// store writes size bytes at addr for an emulated instruction.
func (m *Machine) store(r10, addr, size, v uint64) error {
	if r := m.virtualAt(addr, size); r != nil {
		if !r.Virtual.Store(addr-r.Start, size, v) {
			return &memory.Fault{Access: memory.Write, Addr: addr, Size: size,
				Reason: fmt.Sprintf("the %s has no field of %d bytes at offset %d that the program may write", r.Kind, size, addr-r.Start)}
		}
		return nil
	}
	ptr, err := m.lookup(r10, addr, size, memory.Write)
	if err != nil {
		return err
	}
	switch size {
	case 1:
		*(*uint8)(ptr) = uint8(v)
	case 2:
		*(*uint16)(ptr) = uint16(v)
	case 4:
		*(*uint32)(ptr) = uint32(v)
	default:
		*(*uint64)(ptr) = v
	}
	return nil
}

// atomic carries out an atomic instruction of checked code.
func (m *Machine) atomic(ins isa.Instruction, addr, size uint64) error {
	if int32(ins.Imm) == isa.AtomicLoadAcquire {
		addr = m.ctx.Regs[ins.Src] + uint64(int64(ins.Offset)) // a load: the address is in src
	}
	if addr%size != 0 {
		return &memory.Fault{Access: memory.Atomic, Addr: addr, Size: size,
			Reason: fmt.Sprintf("atomic access is not aligned to %d bytes", size)}
	}
	regs := &m.ctx.Regs
	if r := m.virtualAt(addr, size); r != nil {
		return &memory.Fault{Access: memory.Atomic, Addr: addr, Size: size,
			Reason: fmt.Sprintf("the %s does not allow atomic operations", r.Kind)}
	}
	switch int32(ins.Imm) {
	case isa.AtomicLoadAcquire: // an aligned plain load, zero-extended into dst
		v, err := m.load(regs[10], addr, size)
		if err == nil {
			regs[ins.Dst] = v
		}
		return err
	case isa.AtomicStoreRelease: // an aligned plain store
		return m.store(regs[10], addr, size, regs[ins.Src])
	}
	ptr, err := m.lookup(regs[10], addr, size, memory.Atomic)
	if err != nil {
		return err
	}
	op := int32(ins.Imm)
	src := &regs[ins.Src]
	var old uint64
	if size == 4 {
		o, err := readModifyWrite((*uint32)(ptr), op, uint32(*src), uint32(regs[0]), atomic.LoadUint32, atomic.CompareAndSwapUint32)
		if err != nil {
			return err
		}
		old = uint64(o)
	} else {
		o, err := readModifyWrite((*uint64)(ptr), op, *src, regs[0], atomic.LoadUint64, atomic.CompareAndSwapUint64)
		if err != nil {
			return err
		}
		old = o
	}
	switch {
	case op == isa.AtomicCmpXchg:
		regs[0] = old
	case op&isa.AtomicFetch != 0:
		*src = old
	}
	return nil
}

// readModifyWrite applies the atomic operation op with operand v (and
// want, cmpxchg's expected value) to *p, and returns what *p held.
func readModifyWrite[T uint32 | uint64](p *T, op int32, v, want T, load func(*T) T, cas func(*T, T, T) bool) (T, error) {
	for {
		old := load(p)
		var next T
		switch op &^ isa.AtomicFetch {
		case isa.AtomicAdd:
			next = old + v
		case isa.AtomicOr:
			next = old | v
		case isa.AtomicAnd:
			next = old & v
		case isa.AtomicXor:
			next = old ^ v
		case isa.AtomicXchg &^ isa.AtomicFetch:
			next = v
		case isa.AtomicCmpXchg &^ isa.AtomicFetch:
			next = old
			if old == want {
				next = v
			}
		default:
			return 0, fmt.Errorf("unknown atomic operation %#x", op)
		}
		if cas(p, old, next) {
			return old, nil
		}
	}
}

// Code returns the program's machine code (a copy).
func (p *Program) Code() []byte { return append([]byte(nil), p.code.mem[:p.codeSize]...) }
