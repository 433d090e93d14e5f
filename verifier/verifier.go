package verifier

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/isa"
)

// DefaultMaxInstructions is the number of instructions Verify processes
// before it gives up, as the kernel's BPF_COMPLEXITY_LIMIT_INSNS.
const DefaultMaxInstructions = 1_000_000

// Options configure a verification.
type Options struct {
	// Strict applies the kernel's rules for unprivileged programs: no
	// pointer may leak (into maps, the return value, helpers' scalar
	// arguments, by comparison or arithmetic that yields a scalar), no
	// uninitialised stack may be read, no bounded loops, ... By default
	// Verify follows the rules the kernel applies to root (CAP_BPF and
	// CAP_PERFMON).
	Strict bool
	// MaxInstructions is the number of instructions the verifier may
	// process, counting every instruction of every path it explores,
	// before it gives up with an error saying so; 0 means
	// DefaultMaxInstructions.
	MaxInstructions int
	// CPUs is the number of CPU slots the program runs on (waggle's
	// CollectionOptions.CPUs): bpf_get_smp_processor_id returns less than
	// it, which the kernel knows as nr_cpu_ids. 0 means not known: the
	// result is any number.
	CPUs int
	// Log receives the verifier's log when LogLevel is above 0.
	Log io.Writer
	// LogLevel is 1 for the verdict and statistics, 2 for the state of
	// the registers and stack after every instruction, as the kernel's log
	// level 2.
	LogLevel int
}

// olderRules are rules of older kernels' verifiers where the kernel
// waggle's verifier follows, Linux 6.18.44, is more precise (see
// kerneltest.VerifierChanges).
type olderRules uint8

const (
	// olderSext: a 64-bit sign extension (movsx, ldsx) works from the
	// 64-bit signed range and gives the whole range of the narrow type
	// for one across zero, even one that lies in the narrow type and so
	// does not change (coerce_reg_to_size_sx before the change Linux
	// 6.18.44 has; see scalar.sextOlder).
	olderSext olderRules = 1 << iota
	// olderNoCross64: a 64-bit signed range across zero is not tightened
	// with the unsigned bounds (as the 32-bit one always was).
	olderNoCross64
)

// older holds the rules of an older kernel that the verifier applies
// instead of Linux 6.18.44's: none, except in a test binary that a test
// started to learn what an older host kernel would say (the tests set it
// from the environment before anything runs; see verifier's
// olderVerdicts).
var older olderRules

// Map describes a map that a program refers to.
type Map struct {
	Type       ebpf.MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	Name       string
	// InnerMap describes the maps that a map of maps holds.
	InnerMap *Map
	// Value is the value of element 0 of a frozen read-only array (the
	// .rodata of an object, BPF_F_RDONLY_PROG): the verifier reads
	// constants (and the format strings of bpf_snprintf and bpf_strncmp)
	// from it, as the kernel does. nil for other maps.
	Value []byte
	// HasSpinLock is set when the value holds a struct bpf_spin_lock, at
	// SpinLockOffset: bpf_spin_lock and bpf_spin_unlock take a pointer to
	// it, and loads and stores may not touch it.
	HasSpinLock    bool
	SpinLockOffset uint32
}

// Program is a program to verify.
type Program struct {
	Name string
	// Type is the program type: ebpf.XDP, ebpf.SchedCLS, ebpf.SchedACT,
	// ebpf.SocketFilter, ebpf.Kprobe, ebpf.TracePoint,
	// ebpf.RawTracepoint, ebpf.Syscall, ebpf.PerfEvent or
	// kernel.RawMemory (r1 points to r2 bytes of writable memory).
	Type ebpf.ProgramType
	// Instructions refer to maps with lddw: Src isa.PseudoMapFD with Imm
	// the index of the map in Maps, or isa.PseudoMapValue with the index
	// in the low 32 bits of Imm and the offset into the value in the high
	// 32 bits. Functions are referred to with lddw of Src
	// isa.PseudoFunc, subprograms called with local calls.
	Instructions isa.Instructions
	Maps         []*Map
	// Source, if set, returns the source line of an instruction (by its
	// index in Instructions), as "file.c:12: the C line", or "".
	Source func(index int) string
	// Helpers are helpers of the user's, by ID: their names and
	// prototypes (Func is not used). A helper whose Proto.Args is nil has
	// an unknown prototype (see helper.Proto); if it replaces a kernel
	// helper of the same ID, the kernel helper's prototype applies.
	Helpers map[int32]helper.Helper
	// GlobalFunctions are the functions verified on their own (see
	// GlobalFunction); ProgramFromSpec fills it from the object's BTF.
	GlobalFunctions []GlobalFunction
	// Unresolved are the instructions whose CO-RE relocation waggle's
	// kernel BTF could not resolve (kernel.RelocateCORE poisons them), by
	// index, with the reason that names the missing field: a path that
	// reaches one is refused, as the kernel refuses libbpf's poisoned
	// instructions, and one that never does is not.
	Unresolved map[int]string
}

// Stats are the figures of a verification, as the kernel's log reports
// them ("processed N insns ... total_states ... peak_states").
type Stats struct {
	InstructionsProcessed int
	PeakStates            int
	TotalStates           int
	Duration              time.Duration
	// ContextAccesses are the indexes (into Program.Instructions) of the
	// loads, stores and atomic operations whose address register held
	// the context on the paths the verifier explored, in ascending order:
	// the accesses an engine rewrites for its layout of the context, as
	// the kernel's convert_ctx_accesses. An instruction is never an
	// access of the context on one path and of other memory on another
	// (Verify refuses that, as the kernel does). Empty (not nil) when the
	// program accepted has none; nil when verification failed.
	ContextAccesses []int
}

// Error is a rejection: the first instruction on some path of the program
// that the verifier cannot prove safe, and why.
type Error struct {
	// Index is the instruction's index in Program.Instructions, Slot its
	// 8-byte slot in the bytecode.
	Index, Slot int
	Instruction isa.Instruction
	// Source is the instruction's source line, if Program.Source knows it.
	Source string
	// Reason says what is wrong, in plain words.
	Reason string
	// Register describes the state of the offending register, if one is
	// at fault.
	Register string
	// Path lists the branch decisions that lead to the instruction, first
	// to last: "insn 4: if r2 > r3: taken".
	Path []string
	// KernelMessage is the closest message of the kernel's verifier log,
	// for comparison ("R0 invalid mem access 'map_value_or_null'").
	KernelMessage string
}

// sourceWords prints "file.c:12: the line" as "file.c:12 (the line)".
func sourceWords(s string) string {
	if i := strings.Index(s, ": "); i > 0 && strings.Contains(s[:i], ":") {
		return s[:i] + " (" + s[i+2:] + ")"
	}
	return s
}

// Error formats the rejection on several lines: the instruction, where it
// is and why it is refused, then the register's state and the path.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Index >= 0 {
		fmt.Fprintf(&b, "instruction %d (%s)", e.Index, e.Instruction)
		if e.Source != "" {
			fmt.Fprintf(&b, " at %s", sourceWords(e.Source))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Register != "" {
		fmt.Fprintf(&b, "\n  %s", e.Register)
	}
	if len(e.Path) > 0 {
		b.WriteString("\n  path:")
		for _, p := range e.Path {
			fmt.Fprintf(&b, "\n    %s", p)
		}
	}
	return b.String()
}

// GlobalFunction is a function that the kernel verifies on its own, as it
// does for the functions of global linkage in a program's BTF: once, with
// arguments of the kinds its prototype gives rather than with each
// caller's; a call only checks that the arguments fit the prototype, and
// gives an unknown number. Functions that Program.GlobalFunctions does not
// list are verified with each caller's arguments, as static functions.
type GlobalFunction struct {
	// Start is the index of the function's first instruction.
	Start int
	Name  string
	// Args are the kinds of r1, r2, ... (at most five).
	Args []GlobalArg
}

// GlobalArg is the kind of an argument of a global function.
type GlobalArg struct {
	Kind GlobalArgKind
	// Size is the size of the memory a GlobalArgMem argument points to.
	Size uint32
	// NonNull is set when the pointer cannot be NULL (__arg_nonnull).
	NonNull bool
}

// GlobalArgKind is the kind of a global function's argument.
type GlobalArgKind uint8

const (
	// GlobalArgScalar is a number.
	GlobalArgScalar GlobalArgKind = iota + 1
	// GlobalArgCtx is the program's context.
	GlobalArgCtx
	// GlobalArgMem points to Size bytes of memory, or is NULL.
	GlobalArgMem
)
