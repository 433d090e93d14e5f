package maps

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Map creation flags (the BPF_F_* of map_create), spelled out here so that
// the package builds on every platform.
const (
	FlagNoPrealloc    uint32 = 1 << 0  // BPF_F_NO_PREALLOC
	FlagNoCommonLRU   uint32 = 1 << 1  // BPF_F_NO_COMMON_LRU
	FlagNUMANode      uint32 = 1 << 2  // BPF_F_NUMA_NODE
	FlagRdOnly        uint32 = 1 << 3  // BPF_F_RDONLY
	FlagWrOnly        uint32 = 1 << 4  // BPF_F_WRONLY
	FlagZeroSeed      uint32 = 1 << 6  // BPF_F_ZERO_SEED
	FlagRdOnlyProg    uint32 = 1 << 7  // BPF_F_RDONLY_PROG
	FlagWrOnlyProg    uint32 = 1 << 8  // BPF_F_WRONLY_PROG
	FlagMmapable      uint32 = 1 << 10 // BPF_F_MMAPABLE
	FlagPreserveElems uint32 = 1 << 11 // BPF_F_PRESERVE_ELEMS
	FlagInnerMap      uint32 = 1 << 12 // BPF_F_INNER_MAP

	flagsAccess = FlagRdOnly | FlagWrOnly | FlagRdOnlyProg | FlagWrOnlyProg
)

// The create-time flags each family of map types accepts (the kernel's
// *_CREATE_FLAG_MASK).
const (
	arrayCreateFlags = FlagNUMANode | FlagMmapable | flagsAccess | FlagPreserveElems | FlagInnerMap
	hashCreateFlags  = FlagNoPrealloc | FlagNoCommonLRU | FlagNUMANode | flagsAccess | FlagZeroSeed
	lpmCreateFlags   = FlagNoPrealloc | FlagNUMANode | flagsAccess
	queueCreateFlags = FlagNUMANode | flagsAccess
	bloomCreateFlags = FlagNUMANode | FlagZeroSeed | flagsAccess
	ringCreateFlags  = FlagNUMANode
)

// Kernel limits, as Linux 6.18 on x86-64 applies them (measured as root by
// TestKernelLimits, table testdata/kernel_limits.txt).
const (
	kmallocMax       = 4 << 20                                   // KMALLOC_MAX_SIZE on x86-64 and arm64 with 4 KiB pages
	pcpuMinUnitSize  = 32 << 10                                  // PCPU_MIN_UNIT_SIZE: the largest per-CPU value
	pageSize         = 4096                                      // ring buffers are whole pages
	maxRingRecord    = 1<<32/4 - 1                               // RINGBUF_MAX_RECORD_SZ
	htabElemOverhead = 48                                        // sizeof(struct htab_elem), for the kernel's size check
	lpmNodeSize      = 24                                        // sizeof(struct lpm_trie_node), for LPM_VAL_SIZE_MAX
	lpmDataSizeMax   = 256                                       // LPM_DATA_SIZE_MAX
	lpmValueSizeMax  = kmallocMax - lpmDataSizeMax - lpmNodeSize // LPM_VAL_SIZE_MAX
	intMax           = 1<<31 - 1                                 // INT_MAX: the largest array value
)

// New creates a map as the kernel's map_create does: it checks the spec
// with the kernel's rules (the errors carry the kernel's errno and name the
// offending field), charges the memory the map needs to spec.Budget (or
// the process's budget; ENOMEM if it does not fit), allocates it and
// registers a handle for the map. Close releases it.
func New(spec *Spec) (Map, error) {
	if spec == nil {
		return nil, Errorf(ErrInvalid, "nil map spec")
	}
	s := *spec
	if s.InnerMap != nil {
		inner := *s.InnerMap
		s.InnerMap = &inner
	}
	if err := checkCommon(&s); err != nil {
		return nil, err
	}
	var (
		m   Map
		err error
	)
	switch s.Type {
	case ebpf.Array, ebpf.PerCPUArray:
		m, err = newArray(&s)
	case ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash, ebpf.LRUCPUHash:
		m, err = newHash(&s)
	case ebpf.LPMTrie:
		m, err = newLPMTrie(&s)
	case ebpf.RingBuf:
		m, err = newRingBuf(&s)
	case ebpf.Queue, ebpf.Stack:
		m, err = newQueue(&s)
	case ebpf.BloomFilter:
		m, err = newBloom(&s)
	case ebpf.ProgramArray, ebpf.ArrayOfMaps:
		m, err = newObjArray(&s)
	case ebpf.HashOfMaps:
		m, err = newHashOfMaps(&s)
	case ebpf.DevMap, ebpf.DevMapHash:
		m, err = newDevMap(&s)
	case ebpf.PerfEventArray:
		m, err = newPerfEventArray(&s)
	case ebpf.CGroupArray:
		m, err = newCgroupArray(&s)
	case ebpf.StackTrace:
		m, err = newStackTrace(&s)
	default:
		return nil, Errorf(ErrInvalid, "map %q: map type %s is not supported", s.Name, s.Type)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// checkCommon applies the checks that map_create does for every type.
func checkCommon(s *Spec) error {
	if s.MapExtra != 0 && s.Type != ebpf.BloomFilter {
		return specErr(s, "map_extra %#x: only bloom filters take map_extra", s.MapExtra)
	}
	if s.Flags&FlagRdOnly != 0 && s.Flags&FlagWrOnly != 0 {
		return specErr(s, "flags: BPF_F_RDONLY and BPF_F_WRONLY exclude each other")
	}
	// bloom_map_alloc_check comes next, before the type's other checks.
	if s.Type == ebpf.BloomFilter && s.ValueSize > kmallocMax {
		return specErrno(ErrFull, s, "value_size %d is too large: bloom filter values have at most %d bytes (KMALLOC_MAX_SIZE)", s.ValueSize, kmallocMax)
	}
	if s.MaxEntries == 0 {
		return specErr(s, "max_entries must not be 0")
	}
	if s.Flags&FlagRdOnlyProg != 0 && s.Flags&FlagWrOnlyProg != 0 {
		return specErr(s, "flags: BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other")
	}
	if IsPerCPU(s.Type) && s.CPUs < 1 {
		return specErr(s, "CPUs is %d; a per-CPU map needs at least 1 CPU slot", s.CPUs)
	}
	if s.Flags&FlagNUMANode != 0 && IsPerCPU(s.Type) {
		return specErr(s, "flags: BPF_F_NUMA_NODE is not allowed for per-CPU maps")
	}
	return nil
}

// checkFlags refuses flags outside allowed.
func checkFlags(s *Spec, allowed uint32) error {
	if bad := s.Flags &^ allowed; bad != 0 {
		return specErr(s, "flags %#x: %#x not supported by %s maps", s.Flags, bad, s.Type)
	}
	return nil
}

// specErr is an EINVAL naming the map.
func specErr(s *Spec, format string, args ...any) *Error {
	return Errorf(ErrInvalid, "map %q (%s): %s", s.Name, s.Type, fmt.Sprintf(format, args...))
}

// specErrno is specErr with another errno.
func specErrno(base *Error, s *Spec, format string, args ...any) *Error {
	return Errorf(base, "map %q (%s): %s", s.Name, s.Type, fmt.Sprintf(format, args...))
}

// updateFlagsErr checks the flags of map_update_elem: BPF_ANY, BPF_NOEXIST
// or BPF_EXIST, optionally with BPF_F_LOCK, which no map supports yet
// because waggle does not implement bpf_spin_lock in values (the kernel also
// answers EINVAL for BPF_F_LOCK on a value without a spin lock).
func updateFlagsErr(flags uint64) error {
	if flags&^UpdateLock > UpdateExist {
		return Errorf(ErrInvalid, "update flags %#x: want BPF_ANY, BPF_NOEXIST or BPF_EXIST", flags)
	}
	if flags&UpdateLock != 0 {
		return Errorf(ErrInvalid, "update flags %#x: BPF_F_LOCK needs a bpf_spin_lock in the value, which is not supported", flags)
	}
	return nil
}

// base is what every map has: its spec, its handle and a reference count.
// The creator holds one reference (dropped by Close); a map stored in an
// array_of_maps or hash_of_maps holds one more, so that its handle stays
// valid while an outer map can still give it to programs. The handle is
// unregistered when the last reference goes.
type base struct {
	spec      Spec
	handle    uint64
	refs      atomic.Int64
	closeOnce sync.Once
	onFree    func()          // called once the last reference is gone
	shared    []memory.Region // the value memory made accessible to programs
	frozen    atomic.Bool     // read-only to Go (BPF_MAP_FREEZE)
	acct      *Budget         // the account charged for the map's memory
	charged   atomic.Uint64   // the bytes charged to acct
}

// reserve charges acct (s.Budget, or the process's budget) for the memory
// the map is about to allocate, before it does: need bytes, which what
// describes for the error ("1024 entries of 64 bytes"), plus the map's
// fixed overhead. It fails with ENOMEM if the budget does not cover them.
func (b *base) reserve(s *Spec, need uint64, what string) error {
	need = satAdd(need, mapOverhead)
	if need > maxMapBytes {
		return specErrno(errNoMem, s, "%s need %d bytes of memory, more than one Go allocation may have (%d)", whatOr(what), need, uint64(maxMapBytes))
	}
	acct := s.Budget
	if acct == nil {
		acct = Process
	}
	if err := acct.charge(s, need, what, true); err != nil {
		return err
	}
	b.acct = acct
	b.charged.Add(need)
	return nil
}

// maxMapBytes bounds what one map may be charged whatever the budget: Go
// cannot allocate more at once (1<<48 on amd64 and arm64).
const maxMapBytes = 1 << 47

// whatOr is what, or "the map's elements" when it is empty.
func whatOr(what string) string {
	if what == "" {
		return "the map's elements"
	}
	return what
}

// grow charges n more bytes that the map allocates while it lives (records
// waiting to be read, for example); it reports false if the budget does
// not cover them, and then the map must not allocate them.
func (b *base) grow(n uint64) bool {
	if b.acct == nil || b.acct.charge(&b.spec, n, "", false) != nil {
		return false
	}
	b.charged.Add(n)
	return true
}

// shrink gives back n bytes that grow charged (no more than the map
// holds: nothing once it is freed).
func (b *base) shrink(n uint64) {
	for {
		cur := b.charged.Load()
		m := min(n, cur)
		if b.charged.CompareAndSwap(cur, cur-m) {
			if m > 0 {
				b.acct.refund(m)
			}
			return
		}
	}
}

// unreserve gives back everything the map was charged: when the map is
// freed, or when its constructor fails after reserve.
func (b *base) unreserve() {
	if n := b.charged.Swap(0); n != 0 {
		b.acct.refund(n)
	}
}

func (b *base) freeze()              { b.frozen.Store(true) }
func (b *base) isFrozen() bool       { return b.frozen.Load() }
func (b *base) tryFreeze() bool      { return b.frozen.CompareAndSwap(false, true) }
func (b *base) chargedBytes() uint64 { return b.charged.Load() }

// init copies the spec, registers self and makes its value memory
// accessible to programs (memory.AddShared). Constructors call it last.
func (b *base) init(s *Spec, self Map) {
	b.spec = *s
	b.refs.Store(1)
	b.handle = Register(self)
	b.shared = self.Regions()
	for _, r := range b.shared {
		memory.AddShared(r)
	}
}

// Spec returns the map's description; callers must not modify it.
func (b *base) Spec() *Spec { return &b.spec }

// Handle is the map's handle.
func (b *base) Handle() uint64 { return b.handle }

// Close drops the creator's reference. It may be called more than once.
func (b *base) Close() { b.closeOnce.Do(b.release) }

// acquire takes a reference; it fails once the map is released.
func (b *base) acquire() bool {
	for {
		n := b.refs.Load()
		if n <= 0 {
			return false
		}
		if b.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference.
func (b *base) release() {
	if b.refs.Add(-1) == 0 {
		for _, r := range b.shared {
			memory.RemoveShared(r.Start)
		}
		Unregister(b.handle)
		if b.onFree != nil {
			b.onFree()
		}
		b.unreserve()
	}
}

// refCounted is implemented by every map of this package (through base).
type refCounted interface {
	acquire() bool
	release()
}

// LookupAndDeleter is implemented by the maps whose elements Go code can
// remove and read in one step, as BPF_MAP_LOOKUP_AND_DELETE_ELEM does: hash
// maps (all four kinds), and queues and stacks (a pop; key is empty).
type LookupAndDeleter interface {
	LookupAndDeleteUser(key, value []byte) error
}

// Retain takes a reference on m (a map of this package), so that its handle
// stays registered until the matching Release even if its creator closes it.
// It reports false if m is already released.
func Retain(m Map) bool {
	r, ok := m.(refCounted)
	return ok && r.acquire()
}

// Release drops a reference taken with Retain.
func Release(m Map) {
	if r, ok := m.(refCounted); ok {
		r.release()
	}
}

// checkUser checks the sizes of a user-side call's key and value (value
// nil: not checked), so that Go callers get EINVAL rather than a panic.
func (b *base) checkUser(key, value []byte) error {
	if len(key) != int(b.spec.KeySize) {
		return errBadSize("key", len(key), int(b.spec.KeySize))
	}
	if value == nil {
		return nil
	}
	want := int(b.spec.ValueSize)
	if IsPerCPU(b.spec.Type) {
		want = b.spec.CPUs * int(ValueStride(b.spec.ValueSize))
	}
	if len(value) != want {
		return errBadSize("value", len(value), want)
	}
	return nil
}

// checkNext checks the sizes of NextKey's arguments.
func (b *base) checkNext(key, next []byte) error {
	if key != nil && len(key) != int(b.spec.KeySize) {
		return errBadSize("key", len(key), int(b.spec.KeySize))
	}
	if len(next) != int(b.spec.KeySize) {
		return errBadSize("next key", len(next), int(b.spec.KeySize))
	}
	return nil
}
