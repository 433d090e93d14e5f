package verifier

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/isa"
)

// The kernel rewrites every load and store that goes through the context
// (and through a socket) into an access of the real structure behind it:
// one rewriting per instruction, chosen from the pointer the instruction
// saw during verification (insn_aux_data's ptr_type). So an instruction
// may not go through the context on one path and through other memory on
// another — the rewriting would be wrong for one of them — and the kernel
// refuses it ("same insn cannot be used with different pointers"). Other
// pointers (stack, map values, packet, memory) need no rewriting and may
// share an instruction. waggle's engines need the same knowledge to
// rewrite context accesses: Stats.ContextAccesses.

// mismatchOK reports whether an instruction that accesses memory through a
// pointer of type t may go through a pointer of another type on another
// path, as the kernel's reg_type_mismatch_ok.
func mismatchOK(t regType) bool {
	switch t {
	case regCtx, regSock:
		return false
	}
	return true
}

// savePtrType remembers the type of the pointer (ptr, in register regno)
// that the instruction being checked accessed memory through, and refuses
// the instruction if it went through a pointer of a type that must not be
// mixed with this one on an earlier path.
func (v *verifier) savePtrType(regno int, ptr *reg) *vErr {
	prev := &v.ptrTypes[v.insn]
	if prev.typ == regNotInit {
		*prev = *ptr
		return nil
	}
	if prev.typ == ptr.typ || (mismatchOK(prev.typ) && mismatchOK(ptr.typ)) {
		return nil
	}
	which := "a socket"
	if prev.typ == regCtx || ptr.typ == regCtx {
		which = "the context"
	}
	return v.errf(regno, "same insn cannot be used with different pointers",
		"%s holds %s on this path, but on another path this same instruction accessed %s. "+
			"Every access to %s is rewritten into an access of the real structure behind it, one way for each instruction, "+
			"so one instruction cannot serve both kinds of pointer: give each path its own load or store "+
			"(for example, read the field before the paths join, or duplicate the access in each branch)",
		regName(isa.Register(regno)), v.typeWords(ptr), v.ptrKindWords(prev), which)
}

// ptrKindWords describes the kind of pointer that p is, without the
// details that depend on a path's state.
func (v *verifier) ptrKindWords(p *reg) string {
	switch p.typ {
	case regCtx:
		return "the context"
	case regSock:
		return "a socket"
	case regStack:
		return "the stack"
	case regMapValue:
		return fmt.Sprintf("a value of map %s", v.mapOf(p.aux).Name)
	case regMapKey:
		return fmt.Sprintf("a key of map %s", v.mapOf(p.aux).Name)
	case regPacket:
		if v.raw {
			return "the memory"
		}
		return "the packet"
	case regPacketMeta:
		return "the packet's metadata"
	case regMem:
		if p.flags&flagRingbuf != 0 {
			return "a ring buffer record"
		}
		return "memory a helper gave"
	}
	return v.kernelTypeOf(p.typ)
}

// contextAccesses lists the instructions that accessed memory through
// the context, in order.
func (v *verifier) contextAccesses() []int {
	out := []int{}
	for i := range v.ptrTypes {
		if v.ptrTypes[i].typ == regCtx {
			out = append(out, i)
		}
	}
	return out
}
