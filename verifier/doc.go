// Package verifier proves eBPF programs safe before they run, as the Linux
// kernel's verifier does: it accepts what the kernel (6.18) accepts for
// root and rejects what it rejects, and explains a rejection in words a C
// programmer understands — the instruction and its source line, what is
// wrong and why, the offending register's state, the branch decisions that
// lead there — alongside the kernel's own message for comparison.
//
//	p, _ := verifier.ProgramFromSpec(spec.Programs["xdp_prog"], spec.Maps)
//	stats, err := verifier.Verify(p, verifier.Options{})
//	// err is nil, or a *verifier.Error:
//	// instruction 6 (r1 = *(u64 *)(r0 + 0x0)) at prog.c:23 (*v += 1;): r0 may be NULL
//	// here: bpf_map_lookup_elem at instruction 5 (prog.c:21: ...) can return NULL, and
//	// no test on this path checks it: compare it with 0 before using it
//
// # What acceptance guarantees
//
//   - The program terminates: every path is explored (loops are unrolled
//     until their exit condition is decided), and a program the verifier
//     cannot finish within Options.MaxInstructions is rejected, as is a
//     path that comes back to an instruction in exactly the state it had
//     (an infinite loop).
//   - Every load, store and atomic operation stays inside memory the
//     program may touch with that permission: its stack frame, the context
//     fields its program type may read or write (the descriptions of
//     internal/kernel.ContextOf), the packet between data and data_end (or
//     data_meta and data) as far as comparisons with data_end proved it, map
//     values (read-only maps only read), ring buffer records, memory a
//     helper returned or gave.
//   - A load, store or atomic operation that goes through the context (or
//     a socket) on one path does so on every path, as the kernel demands
//     ("same insn cannot be used with different pointers"): an engine may
//     rewrite it for its layout of the context. Stats.ContextAccesses lists
//     these instructions.
//   - No register is read before it is written; r10 is never written;
//     jumps land on instructions and never inside an lddw; no path falls off
//     the end of a function; every instruction is reachable.
//   - Helpers get arguments of the kinds their prototypes demand (a map of
//     a type the helper takes, a key or value of the map's size in
//     initialised memory, memory and a bounded size, the context,
//     constants, callbacks), and the program type may call them.
//   - Every acquired reference (a ring buffer record) is released, and
//     every bpf_spin_lock unlocked, on every path; no helper or function is
//     called with the lock held.
//   - bpf-to-bpf calls nest at most 8 frames, use at most 512 bytes of
//     stack together (each frame rounded up to 16 bytes, as with the
//     kernel's JIT), keep r6–r9 and clobber r1–r5; a function that makes a
//     tail call has less than 256 bytes of stack in its callers.
//
// # How
//
// The method is the kernel's. Each register holds an abstract value: a
// scalar (a tnum — known and unknown bits — plus signed and unsigned
// bounds of the 64 bits and of the low 32 bits, with transfer functions for
// every ALU operation and refinement of both sides of every conditional
// jump), or a pointer of a type (context, stack, map, map value, map key,
// packet, packet end, packet metadata, memory, function, socket), with a
// fixed and a variable offset, an id linking copies (a NULL test or a
// packet bounds check applies to every copy) and a reference. The stack
// is tracked per byte (never written, data, zero, spilled register) and
// spilled registers keep their whole state. Paths are explored depth
// first; at jump targets the state is compared with the states already
// explored there, and a path whose state is covered by an explored one is
// not followed further. Scalars are "precise" only when some later check
// depended on their exact bounds (found by walking the path back, as the
// kernel's mark_chain_precision), so states that differ only in values
// that do not matter are equivalent; registers dead at an instruction (a
// static liveness analysis) are ignored. Callbacks (bpf_loop,
// bpf_for_each_map_elem) are verified as functions called any number of
// times: after each return to the helper call, imprecise scalars that
// changed are widened, so the iterations converge.
//
// # Program types
//
// XDP, tc (sched_cls, sched_act), socket filters, kprobe, tracepoint,
// raw tracepoint, syscall, perf_event, and waggle's kernel.RawMemory. For
// RawMemory, r1 points to memory of r2 bytes: the verifier treats r1 as a
// packet whose end is r1 + r2, and a comparison of r2 (or of a copy) with
// a constant tells it how many bytes are there:
//
//	if (r2 < 8) goto out; r0 = *(u64 *)(r1 + 0)     // accepted
//
// Contexts of plain memory (kprobe's pt_regs, tracepoint records, raw
// tracepoint arguments, perf_event data, syscall programs' memory) are
// accepted up to the kernel's sizes; at run time the engine checks them
// against the memory the caller gave, which may be shorter.
//
// # Helpers of the user's
//
// Program.Helpers gives the helpers of the user's, each with the prototype
// it declares (helper.Helper.Proto), checked as the kernel's helpers' are:
// Args describes each argument (helper.ArgAnything, helper.ArgMem and
// helper.ArgSize, helper.ArgMap, ...). A helper with nil Args that
// replaces a kernel helper keeps the kernel helper's prototype; any other
// has an unknown prototype and is treated conservatively: r1–r5 must all
// be initialised (any number or pointer), the helper may write any stack
// memory the program has (every spilled register becomes plain data when
// a stack pointer is passed), and r0 is an unknown number.
//
// # Strict mode
//
// Options.Strict applies the kernel's rules for unprivileged programs: no
// pointer may leak (stored into maps, the context or the packet, returned,
// passed as a number to a helper, compared, turned into a number by
// arithmetic), no uninitialised stack may be read (also by helpers), no
// loops, no bpf-to-bpf calls or callbacks, no variable offsets into the
// stack, no helpers that need CAP_BPF or CAP_PERFMON, and every scalar is
// precise. The kernel's Spectre mitigations for unprivileged programs
// (which rewrite or refuse some pointer arithmetic) are not modelled.
//
// # Where waggle differs from the kernel
//
//   - Global functions (Program.GlobalFunctions, from BTF) are verified on
//     their own with their prototypes' argument kinds, as in the kernel;
//     other functions with each caller's arguments. The kernel needs BTF
//     function information for callbacks; waggle needs none.
//   - Reading struct bpf_map through a map pointer (BTF) is refused: in
//     waggle a map pointer is a handle, not an address.
//   - kfuncs and BTF ids are not supported. Load-acquire and
//     store-release are checked as the kernel's (loads and stores with the
//     alignment of atomic operations, never through the context, the
//     packet or a socket). may_goto is verified as the kernel's: the jump
//     is explored first, the fall-through queued with imprecise scalars
//     widened, and loop iterations at a may_goto converge by range
//     comparison. At run time the engines give a run (and each callback
//     call) isa.MayGotoLimit (8M) fall-throughs, counted down; the kernel
//     gives each function frame and tail-called program a count of its
//     own, and on x86-64 since Linux 6.14 bounds may_goto loops by time
//     (timed may_goto) rather than by count.
//   - Division and modulo give unknown results and shifts by a register
//     are unknown, as in 6.18; bounds are otherwise at least as precise as
//     the kernel's (additions and subtractions that wrap consistently keep
//     their range), which can accept a program the kernel rejects for want
//     of precision.
//   - The number of instructions processed and of states differ a little
//     from the kernel's: the heuristics that decide where states are
//     recorded are the kernel's, but the state comparison is not
//     identical.
//
// The corpus of internal/verifiertest (assembly cases and C programs with
// the kernel's recorded verdicts) is checked in the package's tests, and
// every accepted program of it, of the project's objects and of a program
// generator is run by the checked interpreter on random inputs, which must
// never refuse an access (the soundness fuzz targets FuzzSoundness and
// FuzzSoundnessGen).
package verifier
