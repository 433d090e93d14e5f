// Package abi is what compiled eBPF code and Go agree on, whatever the
// machine: the Context through which they talk, the reasons compiled code
// returns to Go, and what a backend (package amd64, package arm64) takes and
// gives. A backend turns an Input into an Output; package jit maps the code
// and runs it.
package abi

import (
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/isa"
)

// Context is the block of memory through which compiled code and Go talk:
// a register the backend chooses (r12 on amd64, x27 on arm64) points to it while
// compiled code runs. The trampoline fills GoRegs on entry; compiled code
// restores them to return to Go.
type Context struct {
	// GoRegs are the registers of Go's that the entry trampoline saves
	// and every exit restores, in the machine's order: on amd64 SP, BP,
	// R14 (g) and R15; on arm64 RSP, R29 (FP), R28 (g) and
	// R30 (LR). They are the first field: the trampolines address them
	// at offsets 0 to 24.
	GoRegs [4]uint64
	// NativeSP is the stack pointer of compiled code: where an entry
	// starts, and where an exit left it to be resumed.
	NativeSP uint64
	ExitCode uint64 // why compiled code returned to Go: Exit*
	// ExitArg is the program's ID << 32 | the slot of the instruction
	// that exited. For callx, Ret holds the helper's ID at the exit.
	ExitArg uint64
	Ret     uint64 // r0: the program's result, or a helper's
	// Regs are r0 to r10: r1 to r5 and r10 going in, r1 to r10 at a
	// helper exit, all of them at an emulation exit.
	Regs [11]uint64
	// Target is the address of the function the entry stub calls, Args
	// its r1 to r5, StackTop its r10 (the frame's top), Repeat how many
	// times it calls it.
	Target   uint64
	Args     [5]uint64
	StackTop uint64
	Repeat   uint64
	// TailCalls counts the tail calls of the current run; the entry stub
	// sets it to TailCallsAtEntry before each call (0 for a run, the
	// caller's count for a callback, which shares it as in the
	// interpreter).
	TailCalls        uint64
	TailCallsAtEntry uint64
	// MayGoto is how many more times may_goto falls through in the
	// current run; the entry stub sets it to isa.MayGotoLimit before each
	// call.
	MayGoto uint64
	// Resume is where a helper exit continues.
	Resume uint64
	// CPU is the run's CPU slot.
	CPU uint64
	// CallArgs is the address of the helper.Call's Args, where a helper
	// exit also stores r1 to r5.
	CallArgs uint64

	// Budget is how many more instructions may be charged before the
	// next budget exit, at which Go refills it from the rest of the
	// run's budget. Checked code counts it down in memory; verified code
	// keeps it in a register while it runs and stores it here at every
	// exit (and the entry stub's last return), reloading it when it
	// resumes. An exit for the budget leaves it below zero (as an
	// int64): minus the instructions charged beyond it.
	Budget uint64
	// BudgetAtEntry is what verified code's entry stub sets Budget to
	// before each call: each run of a repeat starts afresh (Go gives it
	// the rest of a whole budget when it first refills it: Repeat tells
	// the runs apart), and a callback starts with what its caller left.
	BudgetAtEntry uint64

	// Checked code only (Input.Checked):

	// Windows are the memory that checked code accesses without an exit:
	// the active stack frames, and one more region. An access outside
	// them exits for Go to check and carry out.
	Windows [2]Window
	// FrameTop is r10 of frame 0.
	FrameTop uint64
	// MinCallR10: a bpf-to-bpf call from a frame whose r10 is at or below
	// this would nest too deep.
	MinCallR10 uint64
}

// Window is memory that checked code accesses directly: [Lo, Lo+LoadLen)
// for loads, [Lo, Lo+StoreLen) for stores.
type Window struct {
	Lo, LoadLen, StoreLen uint64
}

// Reasons compiled code returns to Go.
const (
	ExitDone    = 1 // the function at Target returned r0 in Ret, Repeat times
	ExitHelper  = 2 // a helper call; resume at HelperResume with r0 in Ret (it jumps to Resume)
	ExitEmulate = 3 // an instruction for Go to carry out on Regs; resume at EmulateResume
	// ExitBudget: Budget ran out (it is below zero); resume at
	// EmulateResume, with Budget refilled.
	ExitBudget = 4
	// Checked code only.
	ExitCallDepth = 5 // a bpf-to-bpf call nested too deep
)

// StackSize is one frame's eBPF stack, which compiled code steps r10 by on
// bpf-to-bpf calls.
const StackSize = engine.StackSize

// ContextAccess says how to compile a load or store through the context
// pointer.
type ContextAccess struct {
	Kind ContextKind
	// Off and Size are the field's place in the context's mirror: the
	// bytes the engine keeps past the context that hold the field as
	// compiled code must read it (for example the 64-bit address that a
	// 32-bit xdp_md.data load gives).
	Off  int32
	Size int
}

// ContextKind is how a context access is compiled.
type ContextKind uint8

// Context access kinds.
const (
	// ContextMemory: the context is plain memory; compile the access as it is.
	ContextMemory ContextKind = iota
	// ContextMirror: load Size bytes at Off from the context pointer instead.
	ContextMirror
	// ContextEmulate: return to Go, which carries the access out.
	ContextEmulate
)

// ArrayMap describes an array map whose lookups compiled code inlines.
type ArrayMap struct {
	Values     uintptr // the address of element 0
	MaxEntries uint32
	Stride     uint32 // bytes from one element (or CPU slot of one) to the next
	// CPUs is the number of CPU slots of a per-CPU array, whose element
	// i on CPU c is at Values + (i*CPUs + c)*Stride; 0 for an array.
	CPUs uint32
}

// InlinedArray returns the array map whose bpf_map_lookup_elem compiled
// code may do itself when r1 holds handle (known reports whether the
// compiler knows r1): none in checked code, without Input.Array or when
// handle is not an array's. elemSize is the bytes from one element to the
// next (Stride, times CPUs for a per-CPU array).
func (in Input) InlinedArray(handle uint64, known bool) (m ArrayMap, elemSize uint64, ok bool) {
	if in.Array == nil || in.Checked || !known {
		return ArrayMap{}, 0, false
	}
	if m, ok = in.Array(handle); !ok {
		return ArrayMap{}, 0, false
	}
	elemSize = uint64(m.Stride)
	if m.CPUs > 0 {
		elemSize *= uint64(m.CPUs)
	}
	return m, elemSize, true
}

// HashMap describes a hash map whose lookups compiled code does itself
// (see maps.HashLayout: a lookup that meets a writer at work leaves the
// lookup to Go).
type HashMap struct {
	KeySize                               uint8 // 4 or 8
	Buckets, Stripes, Slots, Keys, Values uintptr
	Mask, StripeMask, SlotCount           uint32
	StripeSize, StripeSeq                 uint32
	SlotSize, SlotNext, SlotHash          uint32
	ValueStride                           uint32
	HashXor, HashMul, HashK0, HashK1      uint64
}

// ProgArray describes a prog_array whose tail calls compiled code makes
// itself (see maps.ProgArrayTails): Tails is the address of its table of
// MaxEntries words, each 0 (an empty slot), TailThroughGo (a program that
// Go enters) or the address to jump to.
type ProgArray struct {
	Tails      uintptr
	MaxEntries uint32
}

// TailThroughGo is the value of a tail table slot whose program compiled
// code enters through Go.
const TailThroughGo = maps.TailThroughGo

// MaxTailCalls is how many tail calls one run may chain.
const MaxTailCalls = helper.MaxTailCalls

// Input is a program to compile.
type Input struct {
	// Instructions is the program, valid (isa.Instructions.Validate) and
	// verified (or Checked), with every lddw resolved to a constant.
	Instructions isa.Instructions
	// ID names the program in exit arguments.
	ID uint32
	// Helper fails if the program may not call the helper with this ID.
	Helper func(id int32) error
	// Context, for the instruction indexes in ContextAccesses, says how
	// to compile each access.
	Context         func(off int16, size int, write bool) ContextAccess
	ContextAccesses []int
	// Array, when not nil, tells whether the map with this handle is an
	// array whose lookups can be inlined.
	Array func(handle uint64) (ArrayMap, bool)
	// Hash, when not nil, tells whether the map with this handle is a
	// hash map whose lookups compiled code can do itself.
	Hash func(handle uint64) (HashMap, bool)
	// ProgArray, when not nil, tells whether the map with this handle is
	// a prog_array whose tail calls verified code makes itself: it jumps
	// to the code in the slot (at most MaxTailCalls a run, counted in
	// Context.TailCalls), continuing the frame, the budget and the run.
	ProgArray func(handle uint64) (ProgArray, bool)
	// Inline tells whether a call of the helper with this ID may be
	// compiled inline (bpf_map_lookup_elem of an array,
	// bpf_get_smp_processor_id): false when the program's helper of
	// that ID is not the kernel's. Nil inlines nothing.
	Inline func(id int32) bool
	// Buffer, if large enough, holds the code being generated (the
	// caller may reuse it once it has copied Output.Code).
	Buffer []byte
	// Checked compiles a program that was not verified: every memory
	// access is checked against Context.Windows (and carried out by Go
	// outside them), atomics are carried out by Go, bpf-to-bpf calls
	// check their depth, and every basic block counts its instructions
	// against Context.Budget. Verified code charges Context.Budget only
	// at backward jumps and bpf-to-bpf calls (see FunctionLengths).
	Checked bool
	// Unbounded compiles verified code that charges no budget, which
	// only benchmarks do: they measure what the charges cost with it.
	Unbounded bool
}

// Output is a compiled program: position-independent code and the offsets
// of its entry points.
type Output struct {
	Code []byte
	// Entry calls Context.Target Context.Repeat times, each time with r1
	// to r5 from Context.Args and r10 = Context.StackTop.
	Entry int
	// HelperResume continues after a helper exit with r0 = Context.Ret.
	HelperResume int
	// TailEntry continues after a helper exit in this program's first
	// instruction, in the frame of the exit (a tail call).
	TailEntry int
	// EmulateResume continues after an emulation exit with all registers
	// from Context.Regs.
	EmulateResume int
	// Slots is the offset of each instruction slot's code (-1 inside an
	// lddw).
	Slots []int32
	// CallMaps are, by the slot of a helper call the code makes, the map
	// handle r1 holds there, where the compiler knows it (an lddw in the
	// same basic block): Go can serve the call without looking the map up.
	CallMaps map[int]uint64
}

// FuncTag marks a function pointer, the interpreter's: lddw of a function
// gives FuncTag | the function's first slot, in every engine.
const FuncTag = engine.FuncTag

// FuncMask selects the tag of a function pointer.
const FuncMask = engine.FuncMask

// FunctionLengths returns, by slot, the number of instructions of the
// function that starts there (0 for slots where none starts): the entry
// function at slot 0 and every target of a bpf-to-bpf call or of a
// function pointer, each up to the next one.
//
// Verified code charges the budget with them: a bpf-to-bpf call charges
// the length of the function it calls, a callback entered from Go the
// length of the callback, and a backward jump taken the instructions from
// its target to itself. Between two backward jumps taken, a frame runs
// forward only, so the instructions it runs add up to at most what those
// jumps charged plus the length of its function: a budget of N stops a
// program after at most about N instructions (fewer when its loops jump
// over part of their bodies, which is charged all the same).
func FunctionLengths(insns isa.Instructions) []int32 {
	nslots := insns.SlotCount()
	start := make([]bool, nslots+1)
	start[0] = true
	slot := 0
	for _, ins := range insns {
		if ins.IsLocalCall() || ins.IsLdDW() && uint8(ins.Src) == isa.PseudoFunc {
			if t, ok := ins.JumpTarget(slot); ok && t >= 0 && t < nslots {
				start[t] = true
			}
		}
		slot += ins.Slots()
	}
	lens := make([]int32, nslots)
	last := 0 // the slot of the function being measured
	slot = 0
	for _, ins := range insns {
		if start[slot] {
			last = slot
		}
		lens[last]++
		slot += ins.Slots()
	}
	return lens
}
