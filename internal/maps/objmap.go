package maps

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Object maps: prog_array and array_of_maps (objArray), hash_of_maps
// (hashOfMaps). Their values are objects, stored with UpdateObject and read
// with LookupObject; programs never get the address of a value, so Lookup
// returns nil and there is no value memory. The byte-oriented LookupUser and
// UpdateUser answer EOPNOTSUPP.
//
// Inner maps: UpdateObject accepts a Map that matches the InnerMap template
// as the kernel's map_meta_equal does (same type, key size, value size and
// flags; for arrays also max_entries, unless the template has
// BPF_F_INNER_MAP). An outer map holds a reference on each inner map, so an
// inner map's handle stays valid, even after its creator closed it, until it
// is removed from every outer map or they are all closed.

// checkObjSpec applies the checks of fd maps (value_size 4, a usable inner
// map template).
func checkObjSpec(s *Spec) error {
	if s.ValueSize != 4 {
		return specErr(s, "value_size is %d, the values of %s maps are 4 bytes", s.ValueSize, s.Type)
	}
	// fd_array_map_alloc_check: prog_array and array_of_maps (not
	// hash_of_maps) refuse the program access flags.
	if s.Type != ebpf.HashOfMaps && s.Flags&(FlagRdOnlyProg|FlagWrOnlyProg) != 0 {
		return specErr(s, "flags: BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are not allowed for %s maps", s.Type)
	}
	if s.Type == ebpf.ProgramArray {
		return nil
	}
	in := s.InnerMap
	if in == nil {
		return specErrno(ErrInvalid, s, "InnerMap: a map of maps needs an inner map template")
	}
	switch in.Type {
	case ebpf.ArrayOfMaps, ebpf.HashOfMaps:
		return specErr(s, "InnerMap: an inner map cannot be a map of maps (%s)", in.Type)
	case ebpf.ProgramArray:
		return specErr(s, "InnerMap: an inner map cannot be a prog_array")
	}
	return nil
}

// checkInner checks that obj may be stored in the map of maps s.
func checkInner(s *Spec, obj any) (Map, error) {
	m, ok := obj.(Map)
	if !ok || m == nil {
		return nil, Errorf(ErrInvalid, "map %q: %T is not a map", s.Name, obj)
	}
	in, got := s.InnerMap, m.Spec()
	switch {
	case got.Type != in.Type:
		return nil, Errorf(ErrInvalid, "map %q: inner map %q is a %s, want %s", s.Name, got.Name, got.Type, in.Type)
	case got.KeySize != in.KeySize:
		return nil, Errorf(ErrInvalid, "map %q: inner map %q has key_size %d, want %d", s.Name, got.Name, got.KeySize, in.KeySize)
	case got.ValueSize != in.ValueSize:
		return nil, Errorf(ErrInvalid, "map %q: inner map %q has value_size %d, want %d", s.Name, got.Name, got.ValueSize, in.ValueSize)
	case got.Flags != in.Flags:
		return nil, Errorf(ErrInvalid, "map %q: inner map %q has flags %#x, want %#x", s.Name, got.Name, got.Flags, in.Flags)
	case (in.Type == ebpf.Array || in.Type == ebpf.PerCPUArray) && in.Flags&FlagInnerMap == 0 && got.MaxEntries != in.MaxEntries:
		return nil, Errorf(ErrInvalid, "map %q: inner map %q has max_entries %d, want %d", s.Name, got.Name, got.MaxEntries, in.MaxEntries)
	}
	return m, nil
}

// acquireObj checks an object for an object map and takes a reference on
// it if it is a map.
func acquireObj(s *Spec, obj any) error {
	if obj == nil {
		return Errorf(ErrInvalid, "map %q: cannot store a nil object", s.Name)
	}
	if s.Type == ebpf.ProgramArray {
		if _, ok := obj.(Map); ok {
			return Errorf(ErrInvalid, "map %q: a prog_array holds programs, not maps", s.Name)
		}
		if r, ok := obj.(Referenced); ok && !r.Retain() {
			return Errorf(ErrInvalid, "map %q: the program is closed", s.Name)
		}
		return nil
	}
	m, err := checkInner(s, obj)
	if err != nil {
		return err
	}
	if r, ok := m.(refCounted); ok && !r.acquire() {
		return Errorf(ErrInvalid, "map %q: inner map %q is closed", s.Name, m.Spec().Name)
	}
	return nil
}

// objArray is prog_array and array_of_maps.
type objArray struct {
	base
	objs []atomic.Pointer[objBox]
	// A prog_array's tail table (see ProgArrayTails): by slot, 0 for an
	// empty slot, TailThroughGo, or the address compiled code jumps to.
	// mu orders the updates of objs and tails, so that both hold the same
	// program; retired keeps the code of every program that left the
	// table while it could be entered directly (see swapObj).
	tails   []atomic.Uint64
	mu      sync.Mutex
	retired map[any]struct{}
}

// NativeTailCode is implemented by code that compiled code of the same
// engine enters directly in a tail call, without returning to Go.
type NativeTailCode interface {
	// NativeTailEntry is the address to jump to, or 0 when the code
	// must be entered through Go.
	NativeTailEntry() uintptr
}

// TailThroughGo is the value of a tail table slot whose program compiled
// code enters through Go (the bpf_tail_call helper), as it does when the
// slot's code is not NativeTailCode.
const TailThroughGo = 1

// ProgArrayTails returns the tail table of a prog_array, max_entries
// 64-bit words that compiled code reads (with plain 8-byte loads, which
// are atomic) to make a tail call without returning to Go: 0 for an empty
// slot, TailThroughGo, or the address of the slot's program's code to
// jump to. The table lives as long as the map; ok is false for other maps.
//
// The code of a program that leaves the table stays reachable from the
// map until the map itself is unreachable, since a run may have read its
// address just before it left: a running program reaches the table only
// through the map, which it holds.
func ProgArrayTails(m Map) (table unsafe.Pointer, n uint32, ok bool) {
	a, ok := m.(*objArray)
	if !ok || a.tails == nil {
		return nil, 0, false
	}
	return unsafe.Pointer(unsafe.SliceData(a.tails)), uint32(len(a.tails)), true
}

// tailValue is the tail table's value for obj.
func tailValue(obj any) (uint64, any) {
	if e, ok := obj.(ProgramEntry); ok {
		code := e.Code()
		if n, ok := code.(NativeTailCode); ok {
			if addr := n.NativeTailEntry(); addr > TailThroughGo {
				return uint64(addr), code
			}
		}
	}
	return TailThroughGo, nil
}

// swapObj stores obj (nil: none) at slot i, in the tail table too, and
// returns what the slot held. The code of a program that leaves the tail
// table is retired: kept reachable for as long as the map is, since a run
// may have read its address from the table and be about to jump there, or
// be running it, while its program is released and collected.
func (a *objArray) swapObj(i uint32, obj any) *objBox {
	var box *objBox
	if obj != nil {
		box = &objBox{obj}
	}
	if a.tails == nil {
		return a.objs[i].Swap(box)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.objs[i].Swap(box)
	v := uint64(0)
	if obj != nil {
		v, _ = tailValue(obj)
	}
	a.tails[i].Store(v)
	if old != nil {
		if ov, code := tailValue(old.v); code != nil && ov != v {
			if a.retired == nil {
				a.retired = map[any]struct{}{}
			}
			a.retired[code] = struct{}{}
		}
	}
	return old
}

func newObjArray(s *Spec) (Map, error) {
	if err := checkFlags(s, arrayCreateFlags); err != nil {
		return nil, err
	}
	if s.KeySize != 4 {
		return nil, specErr(s, "key_size is %d, array keys are 4 bytes", s.KeySize)
	}
	if s.Flags&(FlagMmapable|FlagPreserveElems) != 0 {
		return nil, specErr(s, "flags %#x not supported by %s maps", s.Flags&(FlagMmapable|FlagPreserveElems), s.Type)
	}
	if err := checkObjSpec(s); err != nil {
		return nil, err
	}
	a := &objArray{}
	n := uint64(s.MaxEntries)
	need := satAdd(heapBytes(satMul(n, 8)), satMul(n, heapBytes(uint64(unsafe.Sizeof(objBox{})))))
	if s.Type == ebpf.ProgramArray {
		need = satAdd(need, heapBytes(satMul(n, 8))) // the tail table
	}
	if err := a.reserve(s, need, plural(n, "slot", "slots")); err != nil {
		return nil, err
	}
	a.objs = make([]atomic.Pointer[objBox], s.MaxEntries)
	if s.Type == ebpf.ProgramArray {
		a.tails = make([]atomic.Uint64, s.MaxEntries)
	}
	a.onFree = a.clear
	a.init(s, a)
	return a, nil
}

// clear empties every slot, dropping the references they held.
func (a *objArray) clear() {
	for i := range a.objs {
		if p := a.swapObj(uint32(i), nil); p != nil {
			releaseObj(p.v)
		}
	}
}

// Close drops the creator's reference. Closing a prog_array also empties
// it, as the kernel empties one when its last file descriptor is closed:
// a program holds the arrays it tail-calls through and an array holds the
// programs in it, and only this breaks that cycle.
func (a *objArray) Close() {
	a.closeOnce.Do(func() {
		if a.spec.Type == ebpf.ProgramArray {
			a.clear()
		}
		a.release()
	})
}

// Lookup returns nil: programs reach the objects through helpers.
func (a *objArray) Lookup(key []byte, cpu int) unsafe.Pointer { return nil }

// Update fails: programs cannot store objects.
func (a *objArray) Update(key, value []byte, flags uint64, cpu int) error {
	return Errorf(ErrNotSupp, "%s elements are updated with UpdateObject", a.spec.Type)
}

// Delete clears a slot, as fd_array_map_delete_elem does.
func (a *objArray) Delete(key []byte) error {
	i := arrayIndex(key)
	if i >= uint32(len(a.objs)) {
		return Errorf(ErrFull, "index %d is out of the array's %d entries", i, len(a.objs))
	}
	p := a.swapObj(i, nil)
	if p == nil {
		return ErrKeyNotExist
	}
	releaseObj(p.v)
	return nil
}

// LookupUser is not supported: use LookupObject.
func (a *objArray) LookupUser(key, value []byte) error {
	return Errorf(ErrNotSupp, "%s elements are read with LookupObject", a.spec.Type)
}

// UpdateUser is not supported: use UpdateObject.
func (a *objArray) UpdateUser(key, value []byte, flags uint64) error {
	return Errorf(ErrNotSupp, "%s elements are updated with UpdateObject", a.spec.Type)
}

// NextKey iterates indexes as for arrays.
func (a *objArray) NextKey(key, next []byte) error {
	if err := a.checkNext(key, next); err != nil {
		return err
	}
	return arrayNextKey(uint32(len(a.objs)), key, next)
}

// Regions is empty: there is no value memory.
func (a *objArray) Regions() []memory.Region { return nil }

// LookupObject returns the object at an index, or nil.
func (a *objArray) LookupObject(key []byte) any {
	i := arrayIndex(key)
	if i >= uint32(len(a.objs)) {
		return nil
	}
	if p := a.objs[i].Load(); p != nil {
		return p.v
	}
	return nil
}

// UpdateObject stores obj at an index (flags must be BPF_ANY, as in the
// kernel's fd arrays).
func (a *objArray) UpdateObject(key []byte, obj any, flags uint64) error {
	if flags != UpdateAny {
		return Errorf(ErrInvalid, "update flags %#x: %s maps take only BPF_ANY", flags, a.spec.Type)
	}
	i := arrayIndex(key)
	if i >= uint32(len(a.objs)) {
		return Errorf(ErrFull, "index %d is out of the array's %d entries", i, len(a.objs))
	}
	if err := acquireObj(&a.spec, obj); err != nil {
		return err
	}
	if old := a.swapObj(i, obj); old != nil {
		releaseObj(old.v)
	}
	return nil
}

// hashOfMaps is hash_of_maps: a hash table whose values are inner maps.
// It embeds the table as a Map only, so that the hash map's extra
// interfaces (Iterable, LookupAndDeleter) do not leak: the kernel has
// neither for maps of maps.
type hashOfMaps struct {
	hashCore
	h *hashTab
}

// hashCore is the part of hashTab that hashOfMaps exposes.
type hashCore interface {
	Map
	refCounted
}

func newHashOfMaps(s *Spec) (Map, error) {
	if err := checkObjSpec(s); err != nil {
		return nil, err
	}
	if err := checkHashSpec(s); err != nil {
		return nil, err
	}
	h, err := allocHash(s, true)
	if err != nil {
		return nil, err
	}
	m := &hashOfMaps{hashCore: h, h: h}
	h.onFree = func() {
		for i := range h.objs {
			if p := h.objs[i].Swap(nil); p != nil {
				releaseObj(p.v)
			}
		}
	}
	h.init(s, m)
	return m, nil
}

// LookupObject returns the inner map stored for key, or nil.
func (m *hashOfMaps) LookupObject(key []byte) any {
	s, ok := m.h.find(key)
	if !ok {
		return nil
	}
	if p := m.h.objs[s].Load(); p != nil {
		return p.v
	}
	return nil
}

// UpdateObject stores an inner map for key with the hash map's flag rules.
func (m *hashOfMaps) UpdateObject(key []byte, obj any, flags uint64) error {
	if err := updateFlagsErr(flags); err != nil {
		return err
	}
	if err := acquireObj(m.Spec(), obj); err != nil {
		return err
	}
	old, err := m.h.update(key, nil, flags, 0, &objBox{obj})
	if err != nil {
		releaseObj(obj)
		return err
	}
	releaseObj(old)
	return nil
}
