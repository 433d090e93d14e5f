// Package maps implements eBPF maps in user space with the kernel's
// semantics: the same types, flags, limits and errors, safe for many
// goroutines running programs and Go code using the maps at once.
//
// # Memory
//
// A program reaches map values through real pointers (map_lookup_elem
// returns the address of the value, global data is loaded by address), so
// every map keeps its values in memory that never moves and that holds
// nothing but values: keys, hash chains, locks and other bookkeeping live in
// ordinary Go memory that no program can reach. Regions lists the value
// memory, which the engines let programs read and write. Value memory is
// allocated once, when the map is created (the kernel's preallocation), and
// never freed while the map lives, so a pointer a program got earlier stays
// safe to use even if its element is deleted meanwhile (as in the kernel, the
// slot may then be reused by another key).
//
// Every map charges what it allocates to a Budget (the process's, and
// optionally one of its own) before allocating it, and gives it back when
// it is freed: a map that does not fit is refused with ENOMEM rather than
// letting a refused Go allocation end the process.
//
// Values are laid out at 8-byte alignment, so that 4- and 8-byte atomic
// operations on them are aligned.
//
// # Per-CPU
//
// Per-CPU maps keep one value per CPU slot; a run holds one slot for its
// whole duration (the engine guarantees that no two concurrent runs hold the
// same slot), so a program's plain loads and stores on its own slot do not
// race with other programs, as in the kernel.
//
// # Data races
//
// Programs and Go code may access the same value concurrently, exactly as in
// the kernel: a program's plain store can tear against a concurrent user-space
// read. Go-side copies of value memory therefore go through the functions of
// this package marked //go:norace (copyFromValue, copyToValue), so that the
// race detector checks the maps' own bookkeeping, not the eBPF memory model.
package maps

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Flags of map updates.
const (
	UpdateAny     uint64 = 0 // BPF_ANY: create or replace
	UpdateNoExist uint64 = 1 // BPF_NOEXIST: create only
	UpdateExist   uint64 = 2 // BPF_EXIST: replace only
	UpdateLock    uint64 = 4 // BPF_F_LOCK: update under the value's bpf_spin_lock
)

// Error is a map error with the kernel's errno. It matches, with errors.Is,
// both its errno and the matching cilium/ebpf sentinel (ebpf.ErrKeyNotExist
// for ENOENT, ebpf.ErrKeyExist for EEXIST), so that code written against
// cilium/ebpf keeps working.
type Error struct {
	Errno errno.Errno
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// Is matches the errno and cilium/ebpf's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case e.Errno:
		return true
	case ebpf.ErrKeyNotExist:
		return e.Errno == errno.ENOENT
	case ebpf.ErrKeyExist:
		return e.Errno == errno.EEXIST
	}
	if t, ok := target.(*Error); ok {
		return t.Errno == e.Errno
	}
	return false
}

// The errors of map operations. A helper returns -Errno to the program.
var (
	ErrKeyNotExist = &Error{errno.ENOENT, "key does not exist"}
	ErrKeyExist    = &Error{errno.EEXIST, "key already exists"}
	ErrFull        = &Error{errno.E2BIG, "map is full"}                  // max_entries reached
	ErrInvalid     = &Error{errno.EINVAL, "invalid argument"}            // bad flags, index out of range...
	ErrNotSupp     = &Error{errno.EOPNOTSUPP, "operation not supported"} // not for this map type
	ErrNoSpace     = &Error{errno.ENOSPC, "no space left"}
	ErrAgain       = &Error{errno.EAGAIN, "try again"} // ring buffer full
)

// Errorf returns an error with base's errno and a more specific message.
func Errorf(base *Error, format string, args ...any) *Error {
	return &Error{Errno: base.Errno, Msg: fmt.Sprintf(format, args...)}
}

// Spec describes a map to create.
type Spec struct {
	Name       string
	Type       ebpf.MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	MapExtra   uint64 // bloom filter: the number of hash functions in bits 0-3
	// InnerMap is the template of the inner maps of array_of_maps and
	// hash_of_maps.
	InnerMap *Spec
	// CPUs is the number of CPU slots of per-CPU maps (at least 1).
	CPUs int
	// HasSpinLock is set when the value holds a struct bpf_spin_lock (from
	// the map's BTF), at SpinLockOffset.
	HasSpinLock    bool
	SpinLockOffset uint32
	// Budget is the account charged for the map's memory (and through it
	// the process's); nil charges the process's budget alone.
	Budget *Budget
}

// Map is the interface every map implements. Key and value slices passed in
// are exactly KeySize and ValueSize bytes (per-CPU user-side values:
// CPUs × ValueStride bytes); callers check sizes, implementations may panic
// on a wrong size.
//
// Methods without "User" are called from programs (through helpers) and
// report errors as they are returned to programs; the User methods serve Go
// code with the kernel's syscall semantics.
type Map interface {
	// Spec returns the map's description.
	Spec() *Spec
	// Handle is the value a program holds in a register for this map
	// (what lddw of the map gives). See Register.
	Handle() uint64

	// Lookup returns the address of the value for key on this CPU slot,
	// or nil. Maps whose values programs cannot address (queues, ring
	// buffers, ...) return nil.
	Lookup(key []byte, cpu int) unsafe.Pointer
	// Update creates or replaces the value for key (on this CPU slot for
	// per-CPU maps), as map_update_elem does.
	Update(key, value []byte, flags uint64, cpu int) error
	// Delete removes key, as map_delete_elem does.
	Delete(key []byte) error

	// LookupUser copies the value for key into value (for per-CPU maps,
	// every CPU slot's value, each ValueStride bytes apart).
	LookupUser(key, value []byte) error
	// UpdateUser sets the value for key (per-CPU maps: every slot's).
	UpdateUser(key, value []byte, flags uint64) error
	// NextKey writes the key after key into next; a nil key asks for the
	// first. It returns ErrKeyNotExist after the last key.
	NextKey(key, next []byte) error

	// Regions is the value memory that programs may access.
	Regions() []memory.Region
	// Close drops the creator's reference to the map. The handle is
	// unregistered when no reference is left: maps of maps hold one on
	// each inner map, and Retain takes more.
	Close()
}

// ValueStride is the distance between two CPU slots' values of a per-CPU
// map, and the size of one value slot in every map: the value size rounded
// up to 8 bytes.
func ValueStride(valueSize uint32) uint32 { return (valueSize + 7) &^ 7 }

// IsPerCPU reports whether maps of type t keep a value per CPU slot.
func IsPerCPU(t ebpf.MapType) bool {
	switch t {
	case ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash:
		return true
	}
	return false
}

// Handles. A program holds a map as a handle: a value with handleTag in
// the top bits and the map's registry index below. The top bits make it an
// address that is never in user space, so a program that dereferences it
// faults in every engine.
const (
	handleTag  uint64 = 0xffff_a000_0000_0000
	handleMask uint64 = 0xffff_f000_0000_0000
)

// The registry of live maps, by handle. A handle is handleTag | the
// slot's generation << 32 | the slot << 3: a slot is reused after its map
// is gone, under a new generation, so a stale handle resolves to nothing
// rather than to another map.
var registry struct {
	mu   sync.Mutex
	maps atomic.Pointer[[]registered] // copy on write, read without locking
	free []int
	gens []uint32 // each slot's generation
}

// registered is a map and its handle.
type registered struct {
	m Map
	h uint64
}

const (
	maxSlots = 1 << 29
	genMask  = 0xfff // 12 bits of generation, in bits 32-43
)

// Register gives m a handle.
func Register(m Map) uint64 {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	var cur []registered
	if p := registry.maps.Load(); p != nil {
		cur = *p
	}
	next := make([]registered, len(cur), len(cur)+1)
	copy(next, cur)
	var idx int
	if n := len(registry.free); n > 0 {
		idx = registry.free[n-1]
		registry.free = registry.free[:n-1]
	} else {
		if len(next) >= maxSlots {
			panic("maps: more than 2^29 live maps")
		}
		idx = len(next)
		next = append(next, registered{})
		registry.gens = append(registry.gens, 0)
	}
	h := handleTag | uint64(registry.gens[idx]&genMask)<<32 | uint64(idx)<<3
	next[idx] = registered{m: m, h: h}
	registry.maps.Store(&next)
	return h
}

// Unregister frees a handle.
func Unregister(h uint64) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	p := registry.maps.Load()
	if p == nil || h&handleMask != handleTag {
		return
	}
	idx := int(h>>3) & (maxSlots - 1)
	cur := *p
	if idx >= len(cur) || cur[idx].h != h {
		return
	}
	next := make([]registered, len(cur))
	copy(next, cur)
	next[idx] = registered{}
	registry.maps.Store(&next)
	registry.gens[idx]++
	registry.free = append(registry.free, idx)
}

// ByHandle returns the map whose handle h is, or nil.
func ByHandle(h uint64) Map {
	if h&handleMask != handleTag || h&7 != 0 {
		return nil
	}
	p := registry.maps.Load()
	if p == nil {
		return nil
	}
	idx := (h >> 3) & (maxSlots - 1)
	if idx >= uint64(len(*p)) {
		return nil
	}
	if e := (*p)[idx]; e.h == h {
		return e.m
	}
	return nil
}

// errBadSize reports a key or value of the wrong size.
func errBadSize(what string, got, want int) error {
	return Errorf(ErrInvalid, "%s is %d bytes, the map's %s size is %d", what, got, what, want)
}

// Queue is implemented by queue, stack and bloom_filter maps: the helpers
// map_push_elem, map_pop_elem and map_peek_elem (for a bloom filter, push
// adds and peek tests membership, returning ErrKeyNotExist when absent).
type Queue interface {
	Map
	Push(value []byte, flags uint64) error
	Pop(value []byte) error
	Peek(value []byte) error
}

// ObjectMap is implemented by maps whose values are objects rather than
// bytes: prog_array (programs, for tail calls) and array_of_maps and
// hash_of_maps (inner maps, whose Handle a program's lookup returns). The
// loader and the Go API store objects; helpers look them up.
type ObjectMap interface {
	Map
	LookupObject(key []byte) any
	UpdateObject(key []byte, obj any, flags uint64) error
}

// RingBuffer is implemented by ringbuf maps.
type RingBuffer interface {
	Map
	// Reserve returns the address of size bytes of record data that the
	// program may write until it submits or discards them, or nil when the
	// ring is full (or size is too large).
	Reserve(size uint64) unsafe.Pointer
	// Commit publishes (discard false) or drops the record at p, as
	// ringbuf_submit and ringbuf_discard do. It reports an error if p is
	// not a reserved record.
	Commit(p unsafe.Pointer, discard bool) error
	// Output copies data into a new record, as ringbuf_output does.
	Output(data []byte) error
	// Query answers ringbuf_query (BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE,
	// BPF_RB_CONS_POS, BPF_RB_PROD_POS).
	Query(flag uint64) uint64
	// Read waits for the next committed record and returns a copy of it,
	// skipping discarded ones; it returns ErrClosed after Close.
	Read(done <-chan struct{}) ([]byte, error)
}

// Iterable is implemented by maps that for_each_map_elem can walk: fn gets
// each element's key and the address of its value on this CPU slot, and
// stops the walk by returning false. It returns the number of elements
// visited.
type Iterable interface {
	Map
	ForEach(cpu int, fn func(key []byte, value unsafe.Pointer) bool) int
}

// ErrClosed is returned by RingBuffer.Read once the map is closed.
var ErrClosed = errors.New("map closed")
