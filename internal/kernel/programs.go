package kernel

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/waggle-ebpf/waggle/internal/errno"
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

	// Attach lists the expected attach types the kernel accepts for
	// programs of the type (expected_attach_type at load), each with the
	// context rules and return values that depend on it; empty when the
	// kernel ignores the attach type. Context is then the context of the
	// attach type a program loaded without one gets (ZeroAttach).
	Attach []Attach
	// ZeroAttach is the attach type of a program loaded with attach type
	// 0, as the kernel's bpf_prog_load_fixup_attach_type (cgroup_sock:
	// sock_create), unless NeedsAttach.
	ZeroAttach ebpf.AttachType
	// NeedsAttach: 0 is no attach type of the type, whose programs must
	// name theirs (cgroup_sock_addr).
	NeedsAttach bool
	// Return, when not nil, is the range the program's return value (r0
	// at its exit) must lie in, as the kernel's check_return_code; an
	// Attach may narrow or widen it.
	Return *Range

	// helpers is the class of the type in the helpers' definitions.
	helpers typeSet
	// context lays out runs' contexts and packets.
	context contextImpl
}

// Attach is one expected attach type of a program type and what depends
// on it.
type Attach struct {
	// Type is the kernel's attach type.
	Type ebpf.AttachType
	// Name is libbpf's name of it ("connect4"), for messages.
	Name string
	// Sections are the ELF section names of programs of the attach type.
	Sections []string
	// Context is the context's description for the attach type.
	Context CtxDesc
	// Return, when not nil, replaces the type's Return.
	Return *Range
}

// Range is a range of return values, inclusive.
type Range struct{ Min, Max int64 }

// ForAttach returns the context and the return range of programs of the
// type loaded with expected attach type a; for a type that has attach
// types, an a that is none of them is an error naming those it takes (the
// kernel's bpf_prog_load_check_attach refuses it with EINVAL).
func (pt *ProgramType) ForAttach(a ebpf.AttachType) (*CtxDesc, *Range, error) {
	if len(pt.Attach) == 0 {
		return &pt.Context, pt.Return, nil
	}
	if a == 0 && !pt.NeedsAttach {
		a = pt.ZeroAttach
	}
	for i := range pt.Attach {
		at := &pt.Attach[i]
		if at.Type == a {
			ret := pt.Return
			if at.Return != nil {
				ret = at.Return
			}
			return &at.Context, ret, nil
		}
	}
	names := make([]string, len(pt.Attach))
	for i, at := range pt.Attach {
		names[i] = at.Name
	}
	return nil, nil, fmt.Errorf("%s programs take the expected attach types %s, not %s: %w", pt.Name, strings.Join(names, ", "), attachName(a), errno.EINVAL)
}

// AttachNamed returns the attach type of the type that is named name, as
// libbpf names it ("connect4").
func (pt *ProgramType) AttachNamed(name string) (ebpf.AttachType, bool) {
	for _, at := range pt.Attach {
		if at.Name == name {
			return at.Type, true
		}
	}
	return 0, false
}

// AttachOfSection returns the attach type of an ELF section name of a
// program of the type.
func (pt *ProgramType) AttachOfSection(section string) (ebpf.AttachType, bool) {
	for _, at := range pt.Attach {
		for _, s := range at.Sections {
			if section == s || strings.HasSuffix(s, "/") && strings.HasPrefix(section, s) {
				return at.Type, true
			}
		}
	}
	return 0, false
}

// attachName names an attach type for messages: libbpf's name where a
// program type has it, else cilium/ebpf's.
func attachName(a ebpf.AttachType) string {
	for _, pt := range programTypes {
		for _, at := range pt.Attach {
			if at.Type == a {
				return at.Name
			}
		}
	}
	return a.String()
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
	&cgroupSKBType,
	&cgroupSockType,
	&sockAddrType,
	&sockOpsType,
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
