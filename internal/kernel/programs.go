package kernel

import (
	"strings"

	"github.com/cilium/ebpf"
)

// ProgramType is everything waggle knows of one program type, in one
// place, as the kernel's bpf_types.h entry with its verifier and test-run
// operations: the verifier, the engines and the loader ask it and never
// switch on program types. Each program type is one file (prog_*.go)
// and one line of programTypes.
type ProgramType struct {
	// Name is libbpf's name of the type, for documentation.
	Name string
	// Types are the kernel's program types it covers (tc's sched_cls and
	// sched_act share one).
	Types []ebpf.ProgramType
	// Sections are the ELF section names of programs of the type, as
	// libbpf spells them; one ending in "/" is a prefix. The loader uses
	// them for sections cilium/ebpf does not know.
	Sections []string
	// Context describes the context (r1) as the verifier checks accesses
	// to it.
	Context CtxDesc
	// CTypes are the C names of the context structure, by which the BTF
	// of a global function's argument says it takes the context.
	CTypes []string
	// WritesPacket: the program may write the packet directly.
	WritesPacket bool
	// LegacyPacketLoads: the program may use LD_ABS and LD_IND.
	LegacyPacketLoads bool
	// RawPacket: r1 points to memory of r2 bytes, which the verifier
	// treats as a packet whose end is r1 + r2 (RawMemory).
	RawPacket bool
	// Sleepable: the program may call helpers that might sleep, and may
	// use only the map types sleepable programs may.
	Sleepable bool
	// NoSpinLock, if set, says why the type may not use maps that hold
	// a bpf_spin_lock.
	NoSpinLock *Refusal
	// PreallocatedHashOnly: hash maps must be preallocated (perf_event).
	PreallocatedHashOnly bool

	// helpers is the class of the type in the helpers' definitions.
	helpers typeSet
	// context lays out runs' contexts and packets.
	context contextImpl
}

// Refusal is why a program type may not do something: whom it concerns,
// in waggle's words ("socket filters"), and the kernel's message.
type Refusal struct {
	Who    string
	Kernel string
}

// programTypes are the program types waggle runs.
var programTypes = []*ProgramType{
	&xdpType,
	&tcType,
	&socketFilterType,
	&kprobeType,
	&tracepointType,
	&rawTracepointType,
	&syscallType,
	&perfEventType,
	&rawMemoryType,
	&seccompType,
}

// ProgramTypeOf returns the description of program type t; ok is false
// for a type waggle cannot run.
func ProgramTypeOf(t ebpf.ProgramType) (*ProgramType, bool) {
	for _, pt := range programTypes {
		for _, x := range pt.Types {
			if x == t {
				return pt, true
			}
		}
	}
	return nil, false
}

// ProgramTypeOfSection returns the program type of an ELF section name,
// and the kernel's program type it stands for.
func ProgramTypeOfSection(section string) (*ProgramType, ebpf.ProgramType, bool) {
	for _, pt := range programTypes {
		for _, s := range pt.Sections {
			if section == s || strings.HasSuffix(s, "/") && strings.HasPrefix(section, s) {
				return pt, pt.Types[0], true
			}
		}
	}
	return nil, 0, false
}

// ContextOf describes the context of programs of type t, as the kernel's
// verifier checks accesses to it; ok is false for types waggle cannot run.
// The descriptions agree with what the contexts of Run allow: a program
// that the description allows an access never faults on it, apart from
// contexts of plain memory shorter than their Size.
func ContextOf(t ebpf.ProgramType) (desc *CtxDesc, ok bool) {
	pt, ok := ProgramTypeOf(t)
	if !ok {
		return nil, false
	}
	return &pt.Context, true
}

// ContextMirror says where compiled code finds the context field of size
// bytes at off of a program of type t.
func ContextMirror(t ebpf.ProgramType, off, size int, write bool) ContextField {
	pt, ok := ProgramTypeOf(t)
	if !ok {
		return ContextField{}
	}
	return pt.context.mirror(off, size, write)
}

// HelperTypes reports the program types that may call helper id; nil if
// waggle does not implement it.
func HelperTypes(id int32) []ebpf.ProgramType {
	d, ok := defByID[id]
	if !ok {
		return nil
	}
	var out []ebpf.ProgramType
	for _, pt := range programTypes {
		if d.types&pt.helpers != 0 {
			out = append(out, pt.Types...)
		}
	}
	return out
}

// typeBit returns the class of a program type in the helpers' definitions.
func typeBit(t ebpf.ProgramType) (typeSet, bool) {
	pt, ok := ProgramTypeOf(t)
	if !ok {
		return 0, false
	}
	return pt.helpers, true
}

// ProgramTypeNamed returns the program type of a name (ProgramType.Name)
// and the kernel's program type it stands for.
func ProgramTypeNamed(name string) (*ProgramType, ebpf.ProgramType, bool) {
	for _, pt := range programTypes {
		if pt.Name == name {
			return pt, pt.Types[0], true
		}
	}
	return nil, 0, false
}

// ProgramTypeNames are the names of the program types, in order.
func ProgramTypeNames() []string {
	names := make([]string, len(programTypes))
	for i, pt := range programTypes {
		names[i] = pt.Name
	}
	return names
}
