// Package memory is the model of the memory an eBPF program may touch: a set
// of regions that waggle owns, each with its bounds and permission. Registers
// hold the regions' real addresses, so that interpreted and compiled code see
// the same pointers; every access that is not proven safe in advance is
// checked here first.
package memory

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Kind says what a region holds, for error messages and for the verifier.
type Kind uint8

// Region kinds.
const (
	KindStack Kind = iota
	KindContext
	KindPacket
	KindMapValue
	KindHelper // memory a helper handed to the program
)

func (k Kind) String() string {
	switch k {
	case KindStack:
		return "stack"
	case KindContext:
		return "context"
	case KindPacket:
		return "packet"
	case KindMapValue:
		return "map value"
	case KindHelper:
		return "helper memory"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Region is a block of memory the program may access.
type Region struct {
	base     unsafe.Pointer // keeps the memory alive and anchors pointer arithmetic
	Start    uint64         // the address of the first byte
	Size     uint64
	Writable bool
	Kind     Kind
	// Virtual, when set, serves the region's loads and stores instead of
	// its memory: a program context such as struct xdp_md, whose fields
	// the kernel rewrites into loads of other things. Helpers cannot reach
	// a virtual region as memory.
	Virtual Virtual
}

// Virtual serves the loads and stores of a virtual region at an offset.
// They return false to refuse the access (a field that does not exist, a
// wrong size, a read-only field).
type Virtual interface {
	Load(off, size uint64) (uint64, bool)
	Store(off, size, value uint64) bool
}

// NewVirtualRegion describes a virtual region at the address of b (which
// only reserves the addresses), served by v.
func NewVirtualRegion(b []byte, v Virtual, kind Kind) Region {
	r := NewRegion(b, true, kind)
	r.Virtual = v
	return r
}

// NewRegion describes the bytes of b. An empty b gives an empty region that
// no access can hit.
func NewRegion(b []byte, writable bool, kind Kind) Region {
	if len(b) == 0 {
		return Region{Kind: kind}
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	return Region{base: p, Start: uint64(uintptr(p)), Size: uint64(len(b)), Writable: writable, Kind: kind}
}

// End is the address one past the region's last byte.
func (r *Region) End() uint64 { return r.Start + r.Size }

// Pointer returns the address of the n bytes at addr if they lie inside the
// region, or nil. The comparison is done on offsets, so an address
// computation that wrapped around never passes.
func (r *Region) Pointer(addr, n uint64) unsafe.Pointer {
	off := addr - r.Start
	if off < r.Size && r.Size-off >= n {
		return unsafe.Add(r.base, off)
	}
	return nil
}

// Bytes returns the region's bytes as a slice.
func (r *Region) Bytes() []byte {
	if r.base == nil {
		return nil
	}
	return unsafe.Slice((*byte)(r.base), r.Size)
}

// Access is the kind of memory access.
type Access uint8

// Accesses.
const (
	Read Access = iota
	Write
	Atomic
)

func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "atomic update"
}

// Fault describes an access outside the memory a program may touch.
type Fault struct {
	Access Access
	Addr   uint64
	Size   uint64
	Reason string // why the access was refused
}

func (f *Fault) Error() string {
	return fmt.Sprintf("%s of %d bytes at %#x: %s", f.Access, f.Size, f.Addr, f.Reason)
}

// Memory is the set of regions one run may access. The zero value has none.
type Memory struct {
	Regions []Region
}

// Add appends a region.
func (m *Memory) Add(r Region) {
	if r.Size > 0 {
		m.Regions = append(m.Regions, r)
	}
}

// AddBytes appends the region of the bytes of b (as NewRegion describes
// them, an empty one included) and returns its index. It fills the new
// region in place: a run's setup calls it for every run, and building a
// Region and then copying it in stalls the copy's loads on the stores just
// made (store forwarding fails for a 16-byte load over two 8-byte stores).
func (m *Memory) AddBytes(b []byte, writable bool, kind Kind) int {
	i := len(m.Regions)
	m.Regions = append(m.Regions, Region{})
	r := &m.Regions[i]
	r.Kind = kind
	if len(b) != 0 {
		r.base = unsafe.Pointer(unsafe.SliceData(b))
		r.Start = uint64(uintptr(r.base))
		r.Size = uint64(len(b))
		r.Writable = writable
	}
	return i
}

// Reset removes all regions, keeping the allocation.
func (m *Memory) Reset() { m.Regions = m.Regions[:0] }

// Lookup returns a pointer to the n bytes at addr if the access is allowed,
// or a Fault that says why not.
func (m *Memory) Lookup(addr, n uint64, access Access) (unsafe.Pointer, error) {
	if p, found, err := lookupIn(m.Regions, addr, n, access); found {
		return p, err
	}
	if r := FindShared(addr, n); r != nil {
		return checkAccess(r, addr, n, access)
	}
	return nil, m.Explain(addr, n, access)
}

// lookupIn looks for the region of regions that holds the access; found is
// false if there is none.
func lookupIn(regions []Region, addr, n uint64, access Access) (p unsafe.Pointer, found bool, err error) {
	for i := range regions {
		r := &regions[i]
		if r.Pointer(addr, n) != nil {
			p, err := checkAccess(r, addr, n, access)
			return p, true, err
		}
	}
	return nil, false, nil
}

// checkAccess returns a pointer to the n bytes at addr of r, which holds
// them, if r allows the access.
func checkAccess(r *Region, addr, n uint64, access Access) (unsafe.Pointer, error) {
	if r.Virtual != nil {
		return nil, &Fault{Access: access, Addr: addr, Size: n,
			Reason: fmt.Sprintf("the %s at [%#x, %#x) is not memory that helpers can access", r.Kind, r.Start, r.End())}
	}
	if access != Read && !r.Writable {
		return nil, &Fault{Access: access, Addr: addr, Size: n,
			Reason: fmt.Sprintf("the %s at [%#x, %#x) is read-only", r.Kind, r.Start, r.End())}
	}
	return r.Pointer(addr, n), nil
}

// Slice returns the n bytes at addr as a slice if the access is allowed.
func (m *Memory) Slice(addr, n uint64, access Access) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	p, err := m.Lookup(addr, n, access)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), n), nil
}

// Explain builds the Fault for an access that matched no region, naming the
// region nearest to the address.
func (m *Memory) Explain(addr, n uint64, access Access) *Fault {
	f := &Fault{Access: access, Addr: addr, Size: n}
	if addr+n < addr {
		f.Reason = "the address range wraps around the end of the address space"
		return f
	}
	var near *Region
	var dist uint64
	all := append(m.Regions[:len(m.Regions):len(m.Regions)], Shared()...)
	for i := range all {
		r := &all[i]
		var d uint64
		switch {
		case addr+n <= r.Start:
			d = r.Start - addr
		case addr >= r.End():
			d = addr - r.End()
		default:
			// Overlaps the region but runs past one of its ends.
			d = 0
		}
		if near == nil || d < dist {
			near, dist = r, d
		}
	}
	switch {
	case near == nil:
		f.Reason = "the program may access no memory here"
	case addr >= near.Start && addr < near.End():
		f.Reason = fmt.Sprintf("runs %d bytes past the end of the %s at [%#x, %#x)", addr+n-near.End(), near.Kind, near.Start, near.End())
	case addr < near.Start && addr+n > near.Start:
		f.Reason = fmt.Sprintf("starts %d bytes before the %s at [%#x, %#x)", near.Start-addr, near.Kind, near.Start, near.End())
	case addr < near.Start:
		f.Reason = fmt.Sprintf("outside the memory the program may access; %d bytes below the %s at [%#x, %#x)", near.Start-addr, near.Kind, near.Start, near.End())
	case addr == near.End():
		f.Reason = fmt.Sprintf("starts just past the end of the %s at [%#x, %#x)", near.Kind, near.Start, near.End())
	default:
		f.Reason = fmt.Sprintf("outside the memory the program may access; %d bytes past the end of the %s at [%#x, %#x)", addr-near.End(), near.Kind, near.Start, near.End())
	}
	return f
}

// The shared regions are the memory every program may access, besides the
// regions of its own run: the values of every live map. A program can only
// obtain pointers into a map it references (the verifier sees to that, and
// map helpers return only their map's values), but with maps created and
// swapped at any time (map-in-map), one process-wide list is what lets every
// engine check such pointers. It is sorted by address (regions of live maps
// never overlap), so a lookup is a binary search, and copied on write and
// read without locks.
var shared struct {
	mu      sync.Mutex
	regions atomic.Pointer[[]Region]
}

// AddShared makes r accessible to every program.
func AddShared(r Region) {
	if r.Size == 0 {
		return
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var cur []Region
	if p := shared.regions.Load(); p != nil {
		cur = *p
	}
	i := sort.Search(len(cur), func(i int) bool { return cur[i].Start > r.Start })
	next := make([]Region, 0, len(cur)+1)
	next = append(next, cur[:i]...)
	next = append(next, r)
	next = append(next, cur[i:]...)
	shared.regions.Store(&next)
}

// RemoveShared removes the shared region that starts at start.
func RemoveShared(start uint64) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	p := shared.regions.Load()
	if p == nil {
		return
	}
	next := make([]Region, 0, len(*p))
	for _, r := range *p {
		if r.Start != start {
			next = append(next, r)
		}
	}
	shared.regions.Store(&next)
}

// SetSharedWritable changes whether programs may write the shared region
// that starts at start (the loader freezes .rodata this way).
func SetSharedWritable(start uint64, writable bool) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	p := shared.regions.Load()
	if p == nil {
		return
	}
	next := make([]Region, len(*p))
	copy(next, *p)
	for i := range next {
		if next[i].Start == start {
			next[i].Writable = writable
		}
	}
	shared.regions.Store(&next)
}

// Shared returns the shared regions. The slice must not be modified.
func Shared() []Region {
	if p := shared.regions.Load(); p != nil {
		return *p
	}
	return nil
}

// FindShared returns the shared region that holds the n bytes at addr, or
// nil.
func FindShared(addr, n uint64) *Region {
	regions := Shared()
	// The last region that starts at or below addr is the only one that
	// can hold it.
	i := sort.Search(len(regions), func(i int) bool { return regions[i].Start > addr })
	if i == 0 || regions[i-1].Pointer(addr, n) == nil {
		return nil
	}
	return &regions[i-1]
}
