package maps

import "unsafe"

// Referenced is an object other than a map that a prog_array keeps alive
// while it holds it: a loaded program. Retain takes a reference and
// reports false once the object is freed; Release drops one.
type Referenced interface {
	Retain() bool
	Release()
}

// ProgramEntry is what a loader stores in a prog_array for a program: a
// reference on the program (Referenced), so that the program, and the maps
// it uses, live as long as the array holds it, and the code that a tail
// call enters (Code, as the engine that runs the program takes it).
type ProgramEntry interface {
	Referenced
	Code() any
}

// ReadValue copies len(dst) bytes of value memory at src into dst, as map
// lookups do: programs may write the memory at the same time.
func ReadValue(dst []byte, src unsafe.Pointer) { copyFromValue(dst, src) }

// WriteValue copies src into value memory at dst, as map updates do.
func WriteValue(dst unsafe.Pointer, src []byte) { copyToValue(dst, src) }

// freezable is implemented by every map of this package (through base).
type freezable interface {
	freeze()
	tryFreeze() bool
	isFrozen() bool
}

// Freeze makes m read-only to Go, as BPF_MAP_FREEZE does (programs'
// access is set by the map's flags): the loader freezes .rodata, whose
// value the verifier relies on.
func Freeze(m Map) {
	if f, ok := m.(freezable); ok {
		f.freeze()
	}
}

// TryFreeze freezes m as Freeze does and reports whether it was not
// frozen before: BPF_MAP_FREEZE answers EBUSY for a map frozen already.
func TryFreeze(m Map) bool {
	f, ok := m.(freezable)
	return ok && f.tryFreeze()
}

// Frozen reports whether m is frozen.
func Frozen(m Map) bool {
	f, ok := m.(freezable)
	return ok && f.isFrozen()
}

// charger is implemented by every map of this package (through base).
type charger interface{ chargedBytes() uint64 }

// Charged is the memory, in bytes, that m holds against its budget now.
func Charged(m Map) uint64 {
	if c, ok := m.(charger); ok {
		return c.chargedBytes()
	}
	return 0
}
