package waggle

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
	"github.com/waggle-ebpf/waggle/verifier"
)

// StackSize is the stack of each call frame in bytes, as in the kernel.
const StackSize = engine.StackSize

// MaxCallDepth is the deepest nesting of bpf-to-bpf calls (frames), as in
// the kernel.
const MaxCallDepth = engine.MaxFrames

// DefaultBudget is the number of instructions a run may execute unless
// RunOptions.Budget says otherwise.
const DefaultBudget = engine.DefaultBudget

// RawMemory is the program type of programs that run on plain memory:
// r1 = the address of a copy of RunOptions.Data, r2 = its length. It is the
// type of a ProgramSpec whose Type is left 0, and the way to embed eBPF in a
// Go program without a kernel context.
const RawMemory = kernel.RawMemory

// Seccomp is waggle's program type for system call policies,
// SEC("seccomp"): the context is the kernel's struct seccomp_data (a run
// takes it as RunOptions.Context, 64 bytes) and the result a SECCOMP_RET_*
// action.
const Seccomp = kernel.Seccomp

// Errors that end a run. Match them with errors.Is; memory faults are
// *MemoryFault, matched with errors.As.
var (
	// ErrBudgetExhausted: the run executed its whole instruction budget.
	ErrBudgetExhausted = engine.ErrBudgetExhausted
	// ErrCallDepth: bpf-to-bpf calls nested deeper than MaxCallDepth.
	ErrCallDepth = engine.ErrCallDepth
)

// MemoryFault describes a load, store or atomic operation outside the memory
// the program may access. A *RunError wraps it.
type MemoryFault = memory.Fault

// RunError is a run that stopped at an instruction. Its Err is a
// *MemoryFault, ErrBudgetExhausted, ErrCallDepth, the context's error, the
// timeout's (which matches context.DeadlineExceeded), or a helper's error.
type RunError = engine.Error

// ProgramSpec describes a program to load.
type ProgramSpec struct {
	// Name is the program's name, for messages.
	Name string
	// Type is the program's type, which sets its context, the helpers it
	// may call and the meaning of RunOptions. 0 means RawMemory.
	Type ebpf.ProgramType
	// AttachType is the expected attach type, as the kernel's
	// expected_attach_type at load: for cgroup_skb, cgroup_sock and
	// cgroup_sock_addr programs it decides the context fields the
	// program may read and write and the values it may return (connect4
	// may rewrite user_ip4, recvmsg4 must return 1). cgroup_sock_addr
	// programs need one; 0 is ingress for cgroup_skb and sock_create for
	// cgroup_sock. Other types ignore it.
	AttachType ebpf.AttachType
	// Instructions is the program. Its first instruction is the entry
	// point; subprograms follow.
	Instructions isa.Instructions
	// License, when set, is checked as the kernel checks it: GPL-only
	// helpers (bpf_trace_printk, bpf_probe_read_*, ...) need a
	// GPL-compatible license ("GPL", "Dual BSD/GPL", ...). Empty means no
	// check.
	License string
}

// ProgramOptions control how a program is loaded.
type ProgramOptions struct {
	// Helpers are helper functions of your own, by ID, available to the
	// program on top of the kernel helpers its type may call (a helper
	// here replaces a kernel helper with the same ID).
	Helpers *helper.Table
	// Trace receives the output of bpf_trace_printk; nil discards it.
	Trace io.Writer
	// CPUs is the number of CPU slots runs are spread over (per-CPU maps
	// have one value per slot); 0 means runtime.GOMAXPROCS(0).
	CPUs int
	// SkipVerification loads the program without the verifier. Then only
	// the checked interpreter stands between the program and the host: a
	// bad access ends the run with an error instead of being refused at
	// load. For programs you trust, or to study what an unsafe program
	// does.
	SkipVerification bool
	// Strict verifies with the kernel's rules for unprivileged programs
	// (no pointer leaks, no reads of uninitialised stack...), for
	// plug-ins you did not write. By default the verifier applies the
	// rules the kernel applies to root.
	Strict bool
	// Engine selects what runs the program: EngineAuto (the default)
	// compiles verified programs to machine code where waggle can.
	Engine Engine
}

// Program is a loaded program. It is safe to run from many goroutines at
// once; each run gets its own stack, registers and CPU slot.
type Program struct {
	name  string
	typ   ebpf.ProgramType
	insns isa.Instructions
	// code is the program as its engine runs it (engine.Code): the
	// interpreter's or the JIT's.
	code   engine.Code
	engine Engine
	table  *helper.Table // the helpers it may call
	own    *helper.Table // the caller's own among them
	// contextExtent is how far the program accesses its context, when
	// verified (see kernel.Run.RequireContext).
	contextExtent int
	kopts         kernel.Options
	cpus          *cpuSlots
	states        sync.Pool // of *runState
	// life holds the program's references (see programLife).
	life *programLife
	// refs are the program's map references, for Info's tag; verified is
	// the number of instructions the verifier processed (0: not
	// verified).
	refs     []mapRef
	verified int
}

// runState is what one run at a time needs; a Program keeps them in a pool.
type runState struct {
	machine engine.Machine // of the program's engine
	// mem and packet are the machine's memory and packet region
	// (RunMemory), asked once.
	mem    *memory.Memory
	packet *memory.Region
	args   engine.RunArgs // the run's arguments, State set once
	run    *kernel.Run
	cpu    int // the slot this state last ran on: tried first next time
	out    kernel.Output
	ctx    []byte
}

// NewProgram loads a program with the default options.
func NewProgram(spec *ProgramSpec) (*Program, error) {
	return NewProgramWithOptions(spec, ProgramOptions{})
}

// NewProgramWithOptions loads a program. It fails, naming the instruction,
// if an instruction is not valid eBPF, a jump leaves the program, the
// program calls a helper that its type may not call or that waggle does not
// have, or (unless opts.SkipVerification) the verifier cannot prove it safe
// (a *VerifierError says why). The program refers to a map with an lddw of
// the map's handle, the constant that NewCollection puts there.
func NewProgramWithOptions(spec *ProgramSpec, opts ProgramOptions) (*Program, error) {
	if spec == nil {
		return nil, errors.New("load program: nil ProgramSpec")
	}
	cpus := opts.CPUs
	if cpus <= 0 {
		cpus = runtime.GOMAXPROCS(0)
	}
	var license *string
	if spec.License != "" {
		license = &spec.License
	}
	kopts := kernelOptions(opts.Trace)
	kopts.AttachType = spec.AttachType
	p, err := newProgram(spec.Name, spec.Type, spec.Instructions, license, opts.Helpers, kopts, newCPUSlots(cpus), !opts.SkipVerification, nil)
	if err != nil {
		return nil, fmt.Errorf("load program %s: %w", displayName(spec.Name), err)
	}
	refs := handleRefs(p.insns)
	var verified *verifier.Stats
	if !opts.SkipVerification {
		vp := verifierProgram(spec.Name, spec.Type, p.insns, refs, opts.Helpers)
		vp.AttachType = spec.AttachType
		if verified, err = verify(vp, opts.Strict, cpus); err != nil {
			return nil, fmt.Errorf("load program %s: %w", displayName(spec.Name), err)
		}
	}
	if err := p.open(opts.Engine, verified, refs); err != nil {
		return nil, fmt.Errorf("load program %s: %w", displayName(spec.Name), err)
	}
	return p, nil
}

// newProgram validates the instructions and checks the program's helpers
// against its type; open makes its code next, after the verifier.
//
// license, when not nil, is the program's license: as the kernel does,
// waggle refuses GPL-only helpers to programs whose license is not
// GPL-compatible.
//
// verifying says that the verifier will check the program: calls of
// helpers that waggle lacks are then left to it, as the kernel leaves
// them to its verifier, which refuses only those a path reaches (code that
// a frozen .rodata flag turns off may call anything); the others are
// refused here. unresolved are the instructions that CO-RE relocations
// poisoned (kernel.RelocateCORE), named in that refusal.
func newProgram(name string, typ ebpf.ProgramType, insns isa.Instructions, license *string, own *helper.Table, kopts kernel.Options, cpus *cpuSlots, verifying bool, unresolved map[int]string) (*Program, error) {
	if typ == ebpf.UnspecifiedProgram {
		typ = RawMemory
	}
	table, err := kernel.HelpersFor(typ, kopts)
	if err != nil {
		return nil, err
	}
	if own != nil {
		table = table.Clone()
		for _, h := range own.All() {
			if err := table.Register(h); err != nil {
				return nil, err
			}
		}
	}
	if !verifying {
		if err := checkUnresolved(insns, unresolved); err != nil {
			return nil, err
		}
		if err := checkHelpers(typ, insns, table); err != nil {
			return nil, err
		}
	}
	if license != nil {
		if err := checkLicense(*license, insns, own); err != nil {
			return nil, err
		}
	}
	if err := insns.Validate(); err != nil {
		return nil, err
	}
	if _, err := kernel.NewRun(typ, kopts); err != nil {
		return nil, err
	}
	p := &Program{name: name, typ: typ, insns: insns, table: table, own: own, kopts: kopts, cpus: cpus}
	p.states.New = func() any {
		run, _ := kernel.NewRun(typ, kopts) // checked above
		run.RequireContext(p.contextExtent)
		st := &runState{run: run, args: engine.RunArgs{State: run}, machine: p.code.NewMachine()}
		st.mem, st.packet = st.machine.RunMemory()
		return st
	}
	return p, nil
}

// open finishes loading a program: it compiles the program if the engine
// says so (verified is what the verifier found, or nil if the program was
// not verified) and takes a reference on every map the program uses
// (refs: by handle or, for global data, by a value's address).
func (p *Program) open(engine Engine, verified *verifier.Stats, refs []mapRef) error {
	used := usedMaps(refs)
	p.refs = refs
	if verified != nil {
		p.verified = verified.InstructionsProcessed
	}
	if err := p.setEngine(engine, verified, used); err != nil {
		return err
	}
	life, err := newProgramLife(p.name, p.code, used)
	if err != nil {
		return err
	}
	p.life = life
	runtime.AddCleanup(p, (*programLife).closeUser, life)
	return nil
}

// setEngine makes the program's code: compiled if the engine says so,
// else for the interpreter.
func (p *Program) setEngine(eng Engine, verified *verifier.Stats, used []maps.Map) error {
	if verified != nil {
		p.contextExtent = contextExtent(p.insns, verified.ContextAccesses)
	}
	compile, checked, err := useJIT(eng, verified != nil)
	if err != nil {
		return err
	}
	insns, table := p.insns, p.table
	if verified != nil {
		insns, table = kernel.WithUnreachableHelpers(insns, table)
	}
	if compile {
		// newProgram validated the instructions.
		opts := jit.Options{Type: p.typ, Checked: checked, OwnHelpers: p.own, Validated: true, Maps: used}
		if verified != nil {
			opts.ContextAccesses = verified.ContextAccesses
		}
		code, err := jit.Compile(insns, table, opts)
		switch {
		case err == nil:
			p.code, p.engine = code, EngineJIT
			return nil
		case eng != EngineAuto || !errors.Is(err, jit.ErrNoExecutableMemory):
			return fmt.Errorf("compile: %w", err)
		}
		// The system will not run generated code: interpret instead.
	}
	code, err := interp.Compile(insns, table)
	if err != nil {
		return err
	}
	p.code, p.engine = code, EngineInterpreter
	return nil
}

// contextExtent is how far into its context a verified program reads or
// writes: the end of its furthest context access (the verifier allows them
// only through the unmodified context pointer, at the instruction's
// offset).
func contextExtent(insns isa.Instructions, accesses []int) int {
	n := 0
	for _, i := range accesses {
		if i < 0 || i >= len(insns) {
			continue
		}
		ins := insns[i]
		n = max(n, int(ins.Offset)+ins.Size().Bytes())
	}
	return n
}

// useJIT says whether to compile a program for the engine, and whether in
// checked mode (for a program that was not verified).
func useJIT(engine Engine, verified bool) (compile, checked bool, err error) {
	switch engine {
	case EngineAuto:
		return jit.Supported && verified, false, nil
	case EngineInterpreter:
		return false, false, nil
	case EngineJIT:
		if !jit.Supported {
			return false, false, fmt.Errorf("%s: use EngineAuto or EngineInterpreter", jit.Unsupported)
		}
		return true, !verified, nil
	}
	return false, false, fmt.Errorf("unknown engine %d", engine)
}

// Engine is the engine that runs the program.
func (p *Program) Engine() Engine { return p.engine }

// tailCallTarget is what a program array holds for p: a reference on the
// program, with the code of its engine.
func (p *Program) tailCallTarget() maps.ProgramEntry { return p.life }

// Close releases the program. Runs in progress end first; later runs fail
// with an error matching os.ErrClosed. The program then drops its
// references on the maps it uses, unless a prog_array still holds it: as
// in the kernel, tail calls into it go on working until it is removed from
// the array. A program that is not closed is released once it is garbage
// collected. Close waits for the runs in progress of every program that
// shares its CPU slots (its collection's), so a helper must not call it.
// Close may be called more than once.
func (p *Program) Close() error {
	if !p.life.userClosed.CompareAndSwap(false, true) {
		return nil
	}
	p.cpus.drain()
	p.life.Release()
	return nil
}

// errClosed is the error of a run of a closed program.
func (p *Program) errClosed() error {
	return fmt.Errorf("run program %s: %w", displayName(p.name), os.ErrClosed)
}

// kernelOptions are the options of the kernel helpers: trace_printk
// writes to trace, perf_event_output to the perf event array's own queue.
func kernelOptions(trace io.Writer) kernel.Options {
	return kernel.Options{Trace: trace, PerfOutput: func(rec kernel.PerfRecord) error {
		pa, ok := rec.Map.(*maps.PerfEventArray)
		if !ok {
			return fmt.Errorf("map %s is not a perf event array", rec.Map.Spec().Name)
		}
		return pa.Output(rec.Index, rec.Data)
	}}
}

// checkLicense refuses GPL-only kernel helpers (not helpers of your own
// with the same ID) to a program that is not GPL-compatible.
func checkLicense(license string, insns isa.Instructions, own *helper.Table) error {
	if kernel.LicenseGPLCompatible(license) {
		return nil
	}
	slot := 0
	for _, ins := range insns {
		if ins.IsHelperCall() {
			id := int32(ins.Imm)
			if _, mine := own.Lookup(id); !mine && kernel.HelperGPLOnly(id) {
				return fmt.Errorf("instruction %d calls %s (helper %d), which only GPL-compatible programs may call; the license is %q", slot, helper.Name(id), id, license)
			}
		}
		slot += ins.Slots()
	}
	return nil
}

// checkHelpers explains a helper call that the table cannot serve: one the
// program's type may not call, or one waggle does not have.
func checkHelpers(typ ebpf.ProgramType, insns isa.Instructions, table *helper.Table) error {
	slot := 0
	for _, ins := range insns {
		if ins.IsHelperCall() {
			id := int32(ins.Imm)
			if _, ok := table.Lookup(id); !ok {
				known, allowed := kernel.HelperAllowed(typ, id)
				switch {
				case known && !allowed:
					return fmt.Errorf("instruction %d calls %s (helper %d), which %s programs may not call", slot, helper.Name(id), id, typ)
				default:
					return fmt.Errorf("instruction %d calls %s (helper %d), which waggle does not implement", slot, helper.Name(id), id)
				}
			}
		}
		slot += ins.Slots()
	}
	return nil
}

// checkUnresolved refuses, for a program loaded without the verifier, the
// first instruction that a CO-RE relocation poisoned: nothing proves that
// no path reaches it.
func checkUnresolved(insns isa.Instructions, unresolved map[int]string) error {
	slot := 0
	for i, ins := range insns {
		if why, ok := unresolved[i]; ok {
			return fmt.Errorf("instruction %d: %s (without the verifier, waggle cannot tell that no path reaches it)", slot, why)
		}
		slot += ins.Slots()
	}
	return nil
}

func displayName(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return fmt.Sprintf("%q", name)
}

// Name is the program's name.
func (p *Program) Name() string { return p.name }

// Type is the program's type.
func (p *Program) Type() ebpf.ProgramType { return p.typ }

// Instructions returns the program's instructions.
func (p *Program) Instructions() isa.Instructions { return p.insns }

// RunOptions are the inputs of Program.Run, as for cilium/ebpf's
// Program.Run (the kernel's BPF_PROG_TEST_RUN).
type RunOptions struct {
	// Data is the program's input: the packet of XDP, tc and socket
	// filter programs, or the memory of a RawMemory program (r1 = the
	// address of a copy, r2 = its length). The program works on a copy:
	// Data itself is never changed.
	Data []byte
	// DataOut, if not nil, receives the data as the program left it (an
	// XDP program may have moved the packet's head or tail), and is then
	// cut to its length. It must be large enough, else Run fails with
	// ENOSPC after filling it.
	DataOut []byte
	// Context is the program's context input (ctx_in): nil, a []byte, or
	// a fixed-size value or pointer to one (such as a struct xdp_md or
	// __sk_buff laid out in Go), encoded in the host's byte order.
	Context any
	// ContextOut, if not nil, receives the context after the run: a
	// []byte or a pointer to a fixed-size value.
	ContextOut any
	// Repeat, when not 0, runs the program this many times and measures
	// the average time of one run, as BPF_PROG_TEST_RUN does. 0 runs it
	// once, untimed, which saves reading the clock.
	Repeat uint32
	// Flags: BPF_F_TEST_RUN_ON_CPU (1) runs the program on CPU slot CPU.
	Flags uint32
	// CPU is the CPU slot with BPF_F_TEST_RUN_ON_CPU; without it, a run
	// takes any free slot.
	CPU uint32
	// Cancel, if not nil, stops the run with its error when it is done:
	// the engines look every 65,536 instructions (and compiled code at
	// every helper call too).
	Cancel context.Context
	// Budget is the most instructions one run may execute before it stops
	// with ErrBudgetExhausted; 0 means DefaultBudget. The interpreter
	// counts every instruction, checked compiled code (EngineJIT without
	// verification) every basic block. Verified compiled code charges it
	// where a program could go on: at each backward jump taken, the
	// instructions from its target to the jump, and at each bpf-to-bpf
	// call or callback, the length of the function called. That is what
	// the program runs, give or take the length of the functions entered,
	// so a looping program stops after about Budget instructions (sooner
	// if its loops jump over part of their bodies).
	Budget uint64
	// Timeout, if not 0, stops Run (all its Repeat runs) once it has run
	// that long, with an error that matches context.DeadlineExceeded
	// (errors.Is) and names the timeout. The engines read the clock when
	// they look at Cancel, not at every instruction.
	Timeout time.Duration
	// Task, if not nil, is the thread the run acts for: what
	// bpf_get_current_pid_tgid, bpf_get_current_uid_gid and
	// bpf_get_current_comm return, and the memory bpf_probe_read_user and
	// bpf_probe_read_user_str read. nil: the waggle process, whose user
	// memory programs may not read (-EFAULT).
	Task *helper.Task
	// Result, if not nil, receives the whole result of a run that Run
	// ends without error: the return value in 64 bits (r0 of a RawMemory
	// program, which Run's uint32 cuts) and, with Repeat, the average
	// time of one run (which cilium/ebpf's Benchmark returns).
	Result *RunResult
	// Tunnel, if not nil, is the tunnel metadata of a tc program's packet
	// (as a tunnel device's receive path leaves it): what
	// bpf_skb_get_tunnel_key and bpf_skb_get_tunnel_opt read. The
	// kernel's test run has no way to give it.
	Tunnel *TunnelKey
	// FIB, if not nil, is the forwarding information (devices, routes,
	// neighbours) that bpf_fib_lookup consults; HostFIB reads the
	// host's. Without it every lookup answers -ENODEV.
	FIB *FIB
	// Cookie is the attach cookie that bpf_get_attach_cookie returns: the
	// BPF cookie a hook gives the program's attachment (a USDT site's
	// spec ID in link.AttachUprobe, as libbpf's USDT support gives it).
	Cookie uint64
}

// FIB is the forwarding information of bpf_fib_lookup: see RunOptions.FIB.
type FIB = kernel.FIB

// HostFIB reads the calling thread's network namespace's devices,
// addresses, routes and neighbours through netlink, for RunOptions.FIB.
func HostFIB() (*FIB, error) { return kernel.HostFIB() }

// cloneTunnel copies tunnel metadata for a RunResult (allocating only
// for runs that have it).
func cloneTunnel(t TunnelKey) *TunnelKey {
	c := t
	c.Options = slices.Clone(t.Options)
	return &c
}

// TunnelKey is an skb's tunnel metadata (the kernel's ip_tunnel_info):
// RunOptions.Tunnel gives it to a tc program, RunResult.Tunnel reports
// it after the run.
type TunnelKey = kernel.TunnelKey

// RunOnCPU is the flag of RunOptions.Flags that selects RunOptions.CPU
// (BPF_F_TEST_RUN_ON_CPU).
const RunOnCPU = 1

// RunResult is the whole outcome of a run, which RunOptions.Result
// receives.
type RunResult struct {
	// ReturnValue is the program's return value: r0 for RawMemory
	// programs, r0 truncated to 32 bits for the kernel's program types
	// (BPF_PROG_TEST_RUN's retval).
	ReturnValue uint64
	// Duration is the average time of one run, when RunOptions.Repeat was
	// set; else 0.
	Duration time.Duration
	// Tunnel is the tc program's tunnel metadata after the run
	// (RunOptions.Tunnel, or what bpf_skb_set_tunnel_key set, with
	// TX set), or nil.
	Tunnel *TunnelKey
}

// runResult runs the program for Run, Test and Benchmark. An error means
// the program did not exit normally (a *RunError says at which
// instruction and why) or the options are wrong.
func (p *Program) runResult(opts *RunOptions) (RunResult, error) {
	if opts == nil {
		opts = &RunOptions{}
	}
	st, err := p.begin(opts)
	if err != nil {
		return RunResult{}, err
	}
	res, err := p.run(st, opts)
	p.end(st)
	if err != nil {
		return RunResult{}, fmt.Errorf("run program %s: %w", displayName(p.name), err)
	}
	return res, nil
}

// begin takes a pooled run state and a CPU slot for a run (the one
// opts.CPU names with RunOnCPU, else any free one, the state's last
// first); end gives them back.
func (p *Program) begin(opts *RunOptions) (*runState, error) {
	st := p.states.Get().(*runState)
	if opts.Flags&RunOnCPU != 0 {
		if int(opts.CPU) >= p.cpus.count() {
			p.states.Put(st)
			return nil, fmt.Errorf("run program %s: CPU %d is not one of the %d CPU slots", displayName(p.name), opts.CPU, p.cpus.count())
		}
		st.cpu = int(opts.CPU)
		p.cpus.acquireSlot(st.cpu)
	} else {
		st.cpu = p.cpus.acquire(st.cpu)
	}
	// Close sets userClosed and then waits for every slot to be free: a
	// run that holds a slot and sees the program open ends before Close
	// returns.
	if p.life.userClosed.Load() {
		p.end(st)
		return nil, p.errClosed()
	}
	return st, nil
}

func (p *Program) end(st *runState) {
	st.run.End()
	p.cpus.release(st.cpu)
	p.states.Put(st)
}

func (p *Program) run(st *runState, opts *RunOptions) (RunResult, error) {
	cpu := st.cpu
	ctxIn, err := encodeContext(st.ctx[:0], opts.Context)
	if err != nil {
		return RunResult{}, err
	}
	st.ctx = ctxIn
	st.mem.Reset()
	// Field by field: a composite literal is built aside and copied, and
	// the copy waits for its stores (store forwarding).
	var in kernel.Input
	in.Data, in.Context, in.CPU, in.Task = opts.Data, ctxIn, cpu, opts.Task
	in.Packet, in.Tunnel, in.FIB, in.Cookie = st.packet, opts.Tunnel, opts.FIB, opts.Cookie
	r1, r2, err := st.run.SetupRegs(st.mem, &in)
	if err != nil {
		return RunResult{}, err
	}
	args := &st.args
	args.R1, args.R2 = r1, r2 // R3 to R5 stay 0
	args.CPU, args.Context, args.Budget = cpu, opts.Cancel, opts.Budget
	args.Timeout = opts.Timeout
	if opts.Timeout != 0 {
		args.Deadline = time.Now().Add(opts.Timeout)
	}

	var res RunResult
	if opts.Repeat == 0 {
		res.ReturnValue, err = p.code.Exec(st.machine, args, 1)
	} else {
		start := time.Now()
		res.ReturnValue, err = p.code.Exec(st.machine, args, opts.Repeat)
		res.Duration = time.Since(start) / time.Duration(opts.Repeat)
	}
	if err != nil {
		return RunResult{}, err
	}
	if p.typ != RawMemory {
		res.ReturnValue = uint64(uint32(res.ReturnValue))
	}
	if t, ok := st.run.Tunnel(); ok {
		res.Tunnel = cloneTunnel(t)
	}
	if opts.DataOut == nil && opts.ContextOut == nil {
		return res, nil
	}
	st.run.Finish(&st.out)
	if opts.DataOut != nil {
		n := copy(opts.DataOut, st.out.Data)
		if n < len(st.out.Data) {
			return res, fmt.Errorf("DataOut holds %d bytes, the data out is %d: %w", len(opts.DataOut), len(st.out.Data), errno.ENOSPC)
		}
		// As cilium/ebpf does, DataOut is cut to the size of the data out.
		opts.DataOut = opts.DataOut[:n]
	}
	if err := decodeContext(opts.ContextOut, st.out.Context); err != nil {
		return res, err
	}
	return res, nil
}

// encodeContext appends the bytes of a RunOptions.Context to buf.
func encodeContext(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return buf, nil
	case []byte:
		return append(buf, v...), nil
	}
	if binary.Size(v) < 0 {
		return nil, fmt.Errorf("run options: Context %T is not []byte or a fixed-size value", v)
	}
	w := bytes.NewBuffer(buf)
	if err := binary.Write(w, binary.NativeEndian, v); err != nil {
		return nil, fmt.Errorf("run options: Context: %w", err)
	}
	return w.Bytes(), nil
}

// decodeContext stores the context after a run into a RunOptions.ContextOut.
func decodeContext(out any, ctx []byte) error {
	switch out := out.(type) {
	case nil:
		return nil
	case []byte:
		if len(out) < len(ctx) {
			return fmt.Errorf("ContextOut holds %d bytes, the context is %d: %w", len(out), len(ctx), errno.ENOSPC)
		}
		copy(out, ctx)
		return nil
	}
	if reflect.TypeOf(out).Kind() != reflect.Pointer {
		return fmt.Errorf("ContextOut: %T is not []byte or a pointer", out)
	}
	size := binary.Size(out)
	if size < 0 {
		return fmt.Errorf("ContextOut: %T does not point to a fixed-size value", out)
	}
	if size > len(ctx) {
		padded := make([]byte, size)
		copy(padded, ctx)
		ctx = padded
	}
	return binary.Read(bytes.NewReader(ctx[:size]), binary.NativeEndian, out)
}
