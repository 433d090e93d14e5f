package waggle

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/verifier"
)

// MapOptions control how a map is created.
type MapOptions struct {
	// CPUs is the number of CPU slots of per-CPU maps: the length of the
	// slices that per-CPU values are read into and written from. 0 means
	// runtime.GOMAXPROCS(0).
	CPUs int
	// MemoryLimit is the most memory, in bytes, that the map may hold:
	// its values and the bookkeeping of its type (see SetMapMemoryLimit).
	// A map that needs more is refused with ENOMEM. 0 sets no limit of
	// its own; the limit for all the maps of the process always applies.
	MemoryLimit uint64

	// budget, set by NewCollectionWithOptions, is the account of the
	// collection's maps.
	budget *maps.Budget
}

// Map is an eBPF map that lives in user space. Its API is modelled on
// cilium/ebpf's *ebpf.Map, with the same marshalling of keys and values, so
// code written against cilium/ebpf works with few changes. A Map is safe for
// concurrent use, also while programs use it.
//
// Keys and values are marshalled as cilium/ebpf does: a []byte of exactly
// the size, a string, an unsafe.Pointer to the right number of bytes, an
// encoding.BinaryMarshaler (BinaryUnmarshaler for output), or a fixed-size
// value or pointer to one (integers, arrays, structs without padding...),
// encoded with encoding/binary in the host's byte order. Values of per-CPU
// maps are slices with one element per CPU slot (see CPUs); each element
// takes ValueSize bytes, padded to 8 bytes in the raw form that LookupBytes
// returns.
//
// Errors match ebpf.ErrKeyNotExist, ebpf.ErrKeyExist and the kernel's
// errnos (unix.E2BIG, ...) with errors.Is. The errnos keep Linux's values
// on every system; elsewhere they match the host's syscall.Errno of the
// same name (errors.Is(err, syscall.E2BIG)).
type Map struct {
	impl maps.Map

	name       string
	typ        ebpf.MapType
	keySize    uint32
	valueSize  uint32
	maxEntries uint32
	flags      uint32
	cpus       int
	percpu     bool
	fullValue  int  // bytes of a whole value: CPUs × stride for per-CPU maps
	retained   bool // wraps an inner map: Close drops a reference, not the map
	closed     atomic.Bool
	// progClaim is the type and the engine of the programs a prog_array
	// holds (progClaimOf), set by the first one stored (0 before): as in
	// the kernel, a program array holds programs of one type, since a tail
	// call keeps the context, and of one kind of code (the kernel's
	// "jited"), since a tail call stays in the engine it runs in.
	progClaim atomic.Uint64
}

// progClaimOf is what a program array records of the first program it
// holds.
func progClaimOf(p *Program) uint64 { return uint64(p.typ) | uint64(p.Engine())<<32 }

// claimProgramType refuses to store p in a program array that holds
// programs of another type, or run by another engine.
func (m *Map) claimProgramType(p *Program) error {
	c := progClaimOf(p)
	if m.progClaim.CompareAndSwap(0, c) {
		return nil
	}
	held := m.progClaim.Load()
	typ, engine := ebpf.ProgramType(uint32(held)), Engine(held>>32)
	switch {
	case typ != p.typ:
		return maps.Errorf(maps.ErrInvalid, "%s holds %s programs, not %s (%s)", m.typ, typ, p.typ, displayName(p.name))
	case engine != p.Engine():
		return maps.Errorf(maps.ErrInvalid, "%s holds programs run by the %s, and %s is run by the %s: a tail call cannot change engines (load both with the same Engine)", m.typ, engine, displayName(p.name), p.Engine())
	}
	return nil
}

// NewMap creates a map with the default options.
func NewMap(spec *ebpf.MapSpec) (*Map, error) {
	return NewMapWithOptions(spec, MapOptions{})
}

// NewMapWithOptions creates a map from a cilium/ebpf MapSpec: its Name,
// Type, KeySize, ValueSize, MaxEntries, Flags, MapExtra and InnerMap, with
// the kernel's checks and errors, and fills it with the spec's Contents.
// Supported types: Array, PerCPUArray, Hash, PerCPUHash, LRUHash,
// LRUCPUHash, LPMTrie, RingBuf, Queue, Stack, ProgramArray, ArrayOfMaps,
// HashOfMaps, BloomFilter, PerfEventArray (whose max_entries defaults to
// the number of CPU slots, as it does to the number of CPUs in
// cilium/ebpf), DevMap and DevMapHash. Contents whose values name a
// program or a map (a prog_array or map-in-map initialised in an object)
// are left to NewCollection.
func NewMapWithOptions(spec *ebpf.MapSpec, opts MapOptions) (*Map, error) {
	if spec == nil {
		return nil, errors.New("create map: nil MapSpec")
	}
	cpus := opts.CPUs
	if cpus < 0 {
		return nil, fmt.Errorf("create map %s: MapOptions.CPUs is %d", spec.Name, cpus)
	}
	if cpus == 0 {
		cpus = runtime.GOMAXPROCS(0)
	}
	ispec := internalSpec(spec, cpus)
	ispec.Budget = opts.budget
	if opts.MemoryLimit > 0 {
		ispec.Budget = maps.NewBudget(opts.budget, opts.MemoryLimit, "this map", "MapOptions.MemoryLimit")
	}
	impl, err := maps.New(ispec)
	if err != nil {
		return nil, fmt.Errorf("create map: %w", err) // maps.New names the map
	}
	m := wrapMap(impl, false)
	for _, kv := range spec.Contents {
		if _, named := kv.Value.(string); named {
			if _, objects := impl.(maps.ObjectMap); objects {
				continue
			}
		}
		if err := m.Update(kv.Key, kv.Value, ebpf.UpdateAny); err != nil {
			m.Close()
			return nil, fmt.Errorf("create map %s: contents: key %v: %w", spec.Name, kv.Key, err)
		}
	}
	return m, nil
}

// internalSpec converts a cilium/ebpf MapSpec.
func internalSpec(spec *ebpf.MapSpec, cpus int) *maps.Spec {
	s := &maps.Spec{
		Name:       spec.Name,
		Type:       spec.Type,
		KeySize:    spec.KeySize,
		ValueSize:  spec.ValueSize,
		MaxEntries: spec.MaxEntries,
		Flags:      spec.Flags,
		MapExtra:   spec.MapExtra,
		CPUs:       cpus,
	}
	s.SpinLockOffset, s.HasSpinLock = verifier.SpinLockOffset(spec.Value)
	if s.Type == ebpf.PerfEventArray && s.MaxEntries == 0 {
		s.MaxEntries = uint32(cpus)
	}
	if spec.InnerMap != nil {
		s.InnerMap = internalSpec(spec.InnerMap, cpus)
	}
	return s
}

// wrapMap makes the public Map of impl.
func wrapMap(impl maps.Map, retained bool) *Map {
	s := impl.Spec()
	m := &Map{
		impl:       impl,
		name:       s.Name,
		typ:        s.Type,
		keySize:    s.KeySize,
		valueSize:  s.ValueSize,
		maxEntries: s.MaxEntries,
		flags:      s.Flags,
		cpus:       max(s.CPUs, 1),
		percpu:     maps.IsPerCPU(s.Type),
		fullValue:  int(s.ValueSize),
		retained:   retained,
	}
	if m.percpu {
		m.fullValue = m.cpus * int(maps.ValueStride(s.ValueSize))
	}
	return m
}

// String describes the map like cilium/ebpf does.
func (m *Map) String() string {
	if m.name != "" {
		return fmt.Sprintf("%s(%s)#%#x", m.typ, m.name, m.impl.Handle())
	}
	return fmt.Sprintf("%s#%#x", m.typ, m.impl.Handle())
}

// Type is the map's type.
func (m *Map) Type() ebpf.MapType { return m.typ }

// KeySize is the size of a key in bytes.
func (m *Map) KeySize() uint32 { return m.keySize }

// ValueSize is the size of a value in bytes (of one CPU slot's value for
// per-CPU maps).
func (m *Map) ValueSize() uint32 { return m.valueSize }

// MaxEntries is the map's capacity (the data area's size for ring buffers).
func (m *Map) MaxEntries() uint32 { return m.maxEntries }

// Flags are the map's creation flags.
func (m *Map) Flags() uint32 { return m.flags }

// Name is the map's name.
func (m *Map) Name() string { return m.name }

// Handle is the value by which programs refer to the map, as the kernel's
// programs refer to a map by its file descriptor (cilium/ebpf's Map.FD): a
// program built in Go loads it with an lddw (isa.Instruction{Opcode:
// isa.OpLdDW, Dst: r, Imm: int64(m.Handle())}), as NewCollection puts it
// in the programs of an object. It is 0 once the map
// is closed. A handle is no address: a program that dereferences it
// faults.
func (m *Map) Handle() uint64 {
	if m.closed.Load() {
		return 0
	}
	return m.impl.Handle()
}

// CPUs is the number of CPU slots: the length of per-CPU value slices.
func (m *Map) CPUs() int { return m.cpus }

// errClosed is the error of operations on a closed Map.
func (m *Map) errClosed(op string) error {
	return fmt.Errorf("%s: map %s: %w", op, m.name, os.ErrClosed)
}

// Lookup copies the value of key into valueOut. For queues and stacks
// (key nil) it reads the next value without removing it; for a bloom filter
// valueOut is the value to test, and the result is nil if it may be in the
// filter or an error matching ebpf.ErrKeyNotExist if it is not. For
// prog_array and maps of maps, valueOut is a pointer to a variable of the
// stored object's type (**Map for maps of maps; the Map it gets must be
// closed by the caller).
func (m *Map) Lookup(key, valueOut any) error {
	if m.closed.Load() {
		return m.errClosed("lookup")
	}
	k, err := m.marshalKey(key)
	if err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	if err := m.lookup(k, valueOut); err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	return nil
}

// lookup is Lookup with a marshalled key.
func (m *Map) lookup(k []byte, valueOut any) error {
	if om, ok := m.impl.(maps.ObjectMap); ok {
		return m.lookupObject(om, k, valueOut)
	}
	if m.typ == ebpf.BloomFilter {
		v, err := marshalBytes(valueOut, int(m.valueSize), "value")
		if err != nil {
			return err
		}
		return m.impl.LookupUser(k, v)
	}
	if m.percpu {
		buf := make([]byte, m.fullValue)
		if err := m.impl.LookupUser(k, buf); err != nil {
			return err
		}
		return m.unmarshalPerCPU(valueOut, buf)
	}
	// Read straight into valueOut's memory when its layout is the raw
	// value's.
	if raw := rawMemory(valueOut); len(raw) == m.fullValue {
		if _, ok := valueOut.(encoding.BinaryUnmarshaler); !ok {
			return m.impl.LookupUser(k, raw)
		}
	}
	buf := make([]byte, m.fullValue)
	if err := m.impl.LookupUser(k, buf); err != nil {
		return err
	}
	return unmarshalBytes(valueOut, buf, "value")
}

// lookupObject reads an object map's element.
func (m *Map) lookupObject(om maps.ObjectMap, k []byte, valueOut any) error {
	obj := om.LookupObject(k)
	if obj == nil {
		return maps.ErrKeyNotExist
	}
	if inner, ok := obj.(maps.Map); ok {
		out, ok := valueOut.(**Map)
		if !ok || out == nil {
			return fmt.Errorf("%s holds maps: need a **Map to read into, got %T", m.typ, valueOut)
		}
		if !maps.Retain(inner) {
			return maps.ErrKeyNotExist
		}
		*out = wrapMap(inner, true)
		return nil
	}
	rv := reflect.ValueOf(valueOut)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || !reflect.TypeOf(obj).AssignableTo(rv.Type().Elem()) {
		return fmt.Errorf("%s holds %T: cannot read it into %T", m.typ, obj, valueOut)
	}
	rv.Elem().Set(reflect.ValueOf(obj))
	return nil
}

// LookupBytes returns the raw value of key (for per-CPU maps, every CPU
// slot's value, each padded to 8 bytes), or nil if key is absent.
func (m *Map) LookupBytes(key any) ([]byte, error) {
	if m.closed.Load() {
		return nil, m.errClosed("lookup")
	}
	k, err := m.marshalKey(key)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	buf := make([]byte, m.fullValue)
	err = m.impl.LookupUser(k, buf)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return buf, nil
}

// LookupAndDelete copies the value of key into valueOut and removes the
// element in one step. For queues and stacks (key nil) it pops the next
// value. Hash maps support it too.
func (m *Map) LookupAndDelete(key, valueOut any) error {
	if m.closed.Load() {
		return m.errClosed("lookup and delete")
	}
	if err := m.checkWritable("lookup and delete"); err != nil {
		return err
	}
	ld, ok := m.impl.(maps.LookupAndDeleter)
	if !ok {
		return fmt.Errorf("lookup and delete: %w", maps.Errorf(maps.ErrNotSupp, "not supported by %s maps", m.typ))
	}
	k, err := m.marshalKey(key)
	if err != nil {
		return fmt.Errorf("lookup and delete: %w", err)
	}
	buf := make([]byte, m.fullValue)
	if err := ld.LookupAndDeleteUser(k, buf); err != nil {
		return fmt.Errorf("lookup and delete: %w", err)
	}
	if m.percpu {
		err = m.unmarshalPerCPU(valueOut, buf)
	} else {
		err = unmarshalBytes(valueOut, buf, "value")
	}
	if err != nil {
		return fmt.Errorf("lookup and delete: %w", err)
	}
	return nil
}

// Put creates or replaces the value of key (Update with ebpf.UpdateAny).
func (m *Map) Put(key, value any) error {
	return m.Update(key, value, ebpf.UpdateAny)
}

// Update creates or replaces the value of key as flags say (UpdateAny,
// UpdateNoExist, UpdateExist). For queues and stacks (key nil) it pushes
// value (UpdateExist makes room on a full map by dropping the oldest value);
// for a bloom filter (key nil) it adds value. For prog_array, value is the
// object to store (the loader's program type); for maps of maps it is a
// *Map matching the inner map spec.
func (m *Map) Update(key, value any, flags ebpf.MapUpdateFlags) error {
	if m.closed.Load() {
		return m.errClosed("update")
	}
	if err := m.checkWritable("update"); err != nil {
		return err
	}
	k, err := m.marshalKey(key)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if om, ok := m.impl.(maps.ObjectMap); ok {
		if _, isBytes := value.([]byte); !isBytes {
			return m.updateObject(om, k, value, flags)
		}
	}
	var v []byte
	if m.percpu {
		v, err = m.marshalPerCPU(value)
	} else {
		v, err = marshalBytes(value, int(m.valueSize), "value")
	}
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if err := m.impl.UpdateUser(k, v, uint64(flags)); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

// updateObject stores an object in a prog_array or map of maps.
func (m *Map) updateObject(om maps.ObjectMap, k []byte, value any, flags ebpf.MapUpdateFlags) error {
	obj := value
	switch v := value.(type) {
	case *Map:
		if m.typ == ebpf.ProgramArray {
			return fmt.Errorf("update: cannot store a map in a %s", m.typ)
		}
		if v == nil || v.closed.Load() {
			return fmt.Errorf("update: %w", maps.Errorf(maps.ErrInvalid, "inner map is nil or closed"))
		}
		obj = v.impl
	case *Program:
		if m.typ != ebpf.ProgramArray {
			return fmt.Errorf("update: a %s holds maps: need a *Map, got %T", m.typ, value)
		}
		if v == nil {
			return fmt.Errorf("update: %w", maps.Errorf(maps.ErrInvalid, "cannot store a nil program in a %s", m.typ))
		}
		if err := m.claimProgramType(v); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		obj = v.tailCallTarget()
	case nil:
		return fmt.Errorf("update: %w", maps.Errorf(maps.ErrInvalid, "cannot store nil in a %s", m.typ))
	default:
		if m.typ != ebpf.ProgramArray {
			return fmt.Errorf("update: a %s holds maps: need a *Map, got %T", m.typ, value)
		}
	}
	if err := om.UpdateObject(k, obj, uint64(flags)); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

// Delete removes key. It returns an error matching ebpf.ErrKeyNotExist if
// key is absent (arrays cannot delete: EINVAL).
func (m *Map) Delete(key any) error {
	if m.closed.Load() {
		return m.errClosed("delete")
	}
	if err := m.checkWritable("delete"); err != nil {
		return err
	}
	k, err := m.marshalKey(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := m.impl.Delete(k); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// NextKey writes the key after key into nextKeyOut; a nil key asks for the
// first key. After the last key it returns an error matching
// ebpf.ErrKeyNotExist.
func (m *Map) NextKey(key, nextKeyOut any) error {
	next, err := m.nextKey(key)
	if err != nil {
		return err
	}
	if err := unmarshalBytes(nextKeyOut, next, "key"); err != nil {
		return fmt.Errorf("next key: %w", err)
	}
	return nil
}

// NextKeyBytes returns the key after key as bytes (the first key for a nil
// key), or nil after the last key.
func (m *Map) NextKeyBytes(key any) ([]byte, error) {
	next, err := m.nextKey(key)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, nil
	}
	return next, err
}

func (m *Map) nextKey(key any) ([]byte, error) {
	if m.closed.Load() {
		return nil, m.errClosed("next key")
	}
	var k []byte
	if key != nil {
		var err error
		if k, err = m.marshalKey(key); err != nil {
			return nil, fmt.Errorf("next key: %w", err)
		}
	}
	next := make([]byte, m.keySize)
	if err := m.impl.NextKey(k, next); err != nil {
		return nil, fmt.Errorf("next key: %w", err)
	}
	return next, nil
}

// Close releases the map. A map of maps that still holds it keeps it alive
// for the programs that look it up there, and a pin (Pin) keeps it in
// this process; this Map must not be used afterwards. Closing a Map of a
// pinned map writes its contents to the pin file, and returns the error
// of that write. Close may be called more than once.
func (m *Map) Close() error {
	if m == nil || !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := syncPinOnClose(m.impl) // a pinned map's file gets its contents
	if m.retained {
		maps.Release(m.impl)
	} else {
		m.impl.Close()
	}
	return err
}

// Iterate returns an iterator over the map's elements in NextKey order.
// Several iterators may run at once. If the map changes meanwhile, the
// iteration may miss or repeat keys, as with the kernel.
func (m *Map) Iterate() *MapIterator {
	return &MapIterator{m: m}
}

// MapIterator iterates a Map; see Map.Iterate.
type MapIterator struct {
	m       *Map
	cursor  []byte
	next    []byte
	started bool
	done    bool
	count   uint64
	err     error
}

// Next decodes the next key and value into keyOut and valueOut. It returns
// false at the end or on an error; check Err afterwards. Elements deleted
// between finding their key and reading their value are skipped. After
// more keys than the map can hold (the map kept changing), the iteration
// stops with ebpf.ErrIterationAborted.
func (it *MapIterator) Next(keyOut, valueOut any) bool {
	if it.err != nil || it.done {
		return false
	}
	m := it.m
	if m.closed.Load() {
		it.err = m.errClosed("iterate")
		return false
	}
	if !it.started {
		it.cursor = make([]byte, m.keySize)
		it.next = make([]byte, m.keySize)
	}
	for it.count <= uint64(m.maxEntries) {
		var err error
		if !it.started {
			err = m.impl.NextKey(nil, it.next)
			it.started = true
		} else {
			err = m.impl.NextKey(it.cursor, it.next)
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			it.done = true
			return false
		}
		if err != nil {
			it.err = fmt.Errorf("next key: %w", err)
			return false
		}
		it.cursor, it.next = it.next, it.cursor
		it.count++
		err = m.lookup(it.cursor, valueOut)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			continue
		}
		if err != nil {
			it.err = fmt.Errorf("look up next key: %w", err)
			return false
		}
		if err := unmarshalBytes(keyOut, it.cursor, "key"); err != nil {
			it.err = err
			return false
		}
		return true
	}
	it.err = fmt.Errorf("map %s: %w", m.name, ebpf.ErrIterationAborted)
	return false
}

// Err returns the error that stopped the iteration, if any.
func (it *MapIterator) Err() error { return it.err }

// marshalKey encodes a key; nil is the key of keyless maps. Its errors
// name the map.
func (m *Map) marshalKey(key any) ([]byte, error) {
	if key == nil {
		if m.keySize == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("map %s: nil key for a map with %d-byte keys", m.name, m.keySize)
	}
	b, err := marshalBytes(key, int(m.keySize), "key")
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", m.name, err)
	}
	return b, nil
}

// marshalPerCPU encodes a per-CPU value: a slice of at most CPUs elements,
// each ValueSize bytes, padded to 8 bytes; missing CPUs get zero values.
func (m *Map) marshalPerCPU(value any) ([]byte, error) {
	rv := reflect.ValueOf(value)
	if rv.Kind() != reflect.Slice {
		return nil, fmt.Errorf("per-CPU value: need a slice with one element per CPU, got %T", value)
	}
	if rv.Len() > m.cpus {
		return nil, fmt.Errorf("per-CPU value has %d elements, the map has %d CPUs", rv.Len(), m.cpus)
	}
	stride := int(maps.ValueStride(m.valueSize))
	buf := make([]byte, m.fullValue)
	for i := range rv.Len() {
		b, err := marshalBytes(rv.Index(i).Interface(), int(m.valueSize), "value")
		if err != nil {
			return nil, fmt.Errorf("CPU %d: %w", i, err)
		}
		copy(buf[i*stride:], b)
	}
	return buf, nil
}

// unmarshalPerCPU decodes a per-CPU value into a slice of CPUs elements or
// a pointer to a slice (which it allocates).
func (m *Map) unmarshalPerCPU(out any, buf []byte) error {
	rv := reflect.ValueOf(out)
	var slice reflect.Value
	switch {
	case rv.Kind() == reflect.Slice:
		slice = rv
		if slice.Len() != m.cpus {
			return fmt.Errorf("per-CPU value: the slice has %d elements, want %d (one per CPU)", slice.Len(), m.cpus)
		}
	case rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Slice:
		slice = reflect.MakeSlice(rv.Elem().Type(), m.cpus, m.cpus)
		rv.Elem().Set(slice)
	default:
		return fmt.Errorf("per-CPU value: need a slice or a pointer to a slice, got %T", out)
	}
	stride := int(maps.ValueStride(m.valueSize))
	elemPtr := slice.Type().Elem().Kind() == reflect.Pointer
	for i := range m.cpus {
		ev := slice.Index(i)
		var target any
		if elemPtr {
			if ev.IsNil() {
				ev.Set(reflect.New(ev.Type().Elem()))
			}
			target = ev.Interface()
		} else {
			target = ev.Addr().Interface()
		}
		if err := unmarshalBytes(target, buf[i*stride:i*stride+int(m.valueSize)], "value"); err != nil {
			return fmt.Errorf("CPU %d: %w", i, err)
		}
	}
	return nil
}

// marshalBytes encodes data as size bytes in the host's byte order.
func marshalBytes(data any, size int, what string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	switch v := data.(type) {
	case nil:
		return nil, fmt.Errorf("cannot marshal a nil %s", what)
	case unsafe.Pointer:
		if v == nil {
			return nil, fmt.Errorf("cannot marshal a nil %s pointer", what)
		}
		return unsafe.Slice((*byte)(v), size), nil
	case encoding.BinaryMarshaler:
		b, err = v.MarshalBinary()
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case int16:
		b = binary.NativeEndian.AppendUint16(nil, uint16(v))
	case uint16:
		b = binary.NativeEndian.AppendUint16(nil, v)
	case int32:
		b = binary.NativeEndian.AppendUint32(nil, uint32(v))
	case uint32:
		b = binary.NativeEndian.AppendUint32(nil, v)
	case int64:
		b = binary.NativeEndian.AppendUint64(nil, uint64(v))
	case uint64:
		b = binary.NativeEndian.AppendUint64(nil, v)
	default:
		rv := reflect.ValueOf(data)
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil, fmt.Errorf("cannot marshal a nil %T as %s", data, what)
		}
		if raw := rawMemory(data); raw != nil {
			b = raw
		} else {
			b, err = binary.Append(nil, binary.NativeEndian, data)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("marshal %s %T: %w", what, data, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%s %T is %d bytes, the map's %s size is %d", what, data, len(b), what, size)
	}
	return b, nil
}

// unmarshalBytes decodes b into out, as cilium/ebpf does.
func unmarshalBytes(out any, b []byte, what string) error {
	switch v := out.(type) {
	case nil:
		return fmt.Errorf("cannot unmarshal a %s into nil", what)
	case unsafe.Pointer:
		if v == nil {
			return fmt.Errorf("cannot unmarshal a %s into a nil pointer", what)
		}
		copy(unsafe.Slice((*byte)(v), len(b)), b)
		return nil
	case encoding.BinaryUnmarshaler:
		return v.UnmarshalBinary(b)
	case *[]byte:
		*v = bytes.Clone(b)
		return nil
	case *string:
		*v = string(b)
		return nil
	}
	rv := reflect.ValueOf(out)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return fmt.Errorf("cannot unmarshal a %s into a nil %T", what, out)
	}
	if raw := rawMemory(out); raw != nil {
		if len(raw) != len(b) {
			return fmt.Errorf("%s: %T is %d bytes, the map's %s size is %d", what, out, len(raw), what, len(b))
		}
		copy(raw, b)
		return nil
	}
	if n := binary.Size(out); n >= 0 && n != len(b) {
		return fmt.Errorf("%s: %T is %d bytes, the map's %s size is %d", what, out, n, what, len(b))
	}
	n, err := binary.Decode(b, binary.NativeEndian, out)
	if err != nil {
		return fmt.Errorf("unmarshal %s into %T: %w", what, out, err)
	}
	if n != len(b) {
		return fmt.Errorf("%s: %T takes %d bytes, the map's %s size is %d", what, out, n, what, len(b))
	}
	return nil
}

// rawMemory returns the memory of a pointer to, or slice of, a type whose
// in-memory layout is its encoding/binary encoding in host byte order (no
// padding, no blank or unexported fields), or nil.
func rawMemory(data any) []byte {
	rv := reflect.ValueOf(data)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		t := rv.Type().Elem()
		if t.Kind() == reflect.Slice {
			rv = rv.Elem()
			break
		}
		if !plainType(t) {
			return nil
		}
		return unsafe.Slice((*byte)(rv.UnsafePointer()), t.Size())
	case reflect.Slice:
	default:
		return nil
	}
	et := rv.Type().Elem()
	if !plainType(et) || rv.Len() == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(rv.UnsafePointer()), uintptr(rv.Len())*et.Size())
}

// plainTypes caches plainType.
var plainTypes sync.Map // reflect.Type → bool

// plainType reports whether t's memory is its binary encoding.
func plainType(t reflect.Type) bool {
	if v, ok := plainTypes.Load(t); ok {
		return v.(bool)
	}
	ok := isPlain(t) && binary.Size(reflect.New(t).Interface()) == int(t.Size())
	plainTypes.Store(t, ok)
	return ok
}

func isPlain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int8, reflect.Uint8, reflect.Int16, reflect.Uint16,
		reflect.Int32, reflect.Uint32, reflect.Int64, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return isPlain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "_" || !isPlain(f.Type) {
				return false
			}
		}
		return true
	}
	return false
}
