package maps

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// The stack trace map's flags and limits, as the kernel's stackmap.c.
const (
	// FlagStackBuildID (BPF_F_STACK_BUILD_ID) makes a stack trace map hold
	// struct bpf_stack_build_id entries instead of addresses.
	FlagStackBuildID = 1 << 5
	// StackBuildIDSize is sizeof(struct bpf_stack_build_id).
	StackBuildIDSize = 32
	// StackBuildIDStatusIP is BPF_STACK_BUILD_ID_IP: the entry holds an
	// address, its build ID unknown.
	StackBuildIDStatusIP = 2
	// MaxStackDepth is sysctl kernel.perf_event_max_stack's default.
	MaxStackDepth = 127

	stackFastCmp    = 1 << 9  // BPF_F_FAST_STACK_CMP
	stackReuseID    = 1 << 10 // BPF_F_REUSE_STACKID
	stackSkipMask   = 0xff    // BPF_F_SKIP_FIELD_MASK
	stackUserStack  = 1 << 8  // BPF_F_USER_STACK
	stackIDFlagsAll = stackSkipMask | stackUserStack | stackFastCmp | stackReuseID
)

// errNoFrame is bpf_get_stackid's EFAULT: no frame left after the
// skipped ones.
var errNoFrame = &Error{errno.EFAULT, "no frame left after the skipped ones"}

// StackTrace is a stack trace map (BPF_MAP_TYPE_STACK_TRACE), which
// bpf_get_stackid fills: its keys are stack IDs, the hash of a stack
// masked to the buckets (max_entries rounded up to a power of 2), its
// values the stack's addresses (or build ID entries), zero-padded. As in
// the kernel, at most max_entries stacks are held at once.
type StackTrace struct {
	base
	mu      sync.Mutex
	buckets []*stackBucket
	used    int
	elem    int // bytes per entry: 8, or StackBuildIDSize
}

type stackBucket struct {
	hash uint32
	nr   int
	data []byte // nr entries
}

func newStackTrace(s *Spec) (Map, error) {
	if err := checkFlags(s, FlagNUMANode|FlagRdOnly|FlagWrOnly|FlagStackBuildID); err != nil {
		return nil, err
	}
	if s.KeySize != 4 || s.ValueSize < 8 || s.ValueSize%8 != 0 {
		return nil, specErr(s, "stack trace maps have 4-byte keys and values of a multiple of 8 bytes, not %d and %d", s.KeySize, s.ValueSize)
	}
	elem := 8
	if s.Flags&FlagStackBuildID != 0 {
		if s.ValueSize%StackBuildIDSize != 0 {
			return nil, specErr(s, "value_size %d: with BPF_F_STACK_BUILD_ID values are whole %d-byte entries", s.ValueSize, StackBuildIDSize)
		}
		elem = StackBuildIDSize
	}
	if s.ValueSize/uint32(elem) > MaxStackDepth {
		return nil, specErr(s, "value_size %d holds %d frames, more than perf_event_max_stack (%d)", s.ValueSize, s.ValueSize/uint32(elem), MaxStackDepth)
	}
	if s.MaxEntries > 1<<31 {
		return nil, specErrno(ErrFull, s, "max_entries %d: at most 2^31", s.MaxEntries)
	}
	n := uint64(1) << bits.Len32(s.MaxEntries-1)
	st := &StackTrace{elem: elem}
	need := satAdd(heapBytes(satMul(n, 8)), satMul(uint64(s.MaxEntries), heapBytes(uint64(s.ValueSize))+uint64(unsafe.Sizeof(stackBucket{}))))
	if err := st.reserve(s, need, plural(uint64(s.MaxEntries), "stack", "stacks")); err != nil {
		return nil, err
	}
	st.buckets = make([]*stackBucket, n)
	st.init(s, st)
	return st, nil
}

// Elem is the size of one entry of the map's values: 8 bytes, or
// StackBuildIDSize with BPF_F_STACK_BUILD_ID.
func (st *StackTrace) Elem() int { return st.elem }

// StackID is bpf_get_stackid's store (the kernel's __bpf_get_stackid):
// ips are the stack's addresses after the skipped frames, at most
// value_size/Elem of them; their hash (the kernel's jhash2) masked to the
// buckets is the ID. It returns the stack's ID, or an error whose errno is
// the helper's: EFAULT when no frame is left, EINVAL for unknown flags,
// EEXIST when another stack holds the ID and flags lack
// BPF_F_REUSE_STACKID, ENOMEM when max_entries stacks are held. A map of
// build IDs stores each address as an entry of status
// StackBuildIDStatusIP (waggle reads no build IDs).
func (st *StackTrace) StackID(ips []uint64, flags uint64) (uint32, *Error) {
	if flags&^stackIDFlagsAll != 0 {
		return 0, ErrInvalid
	}
	nr := len(ips)
	if nr == 0 {
		return 0, errNoFrame
	}
	raw := make([]byte, 8*nr)
	for i, ip := range ips {
		binary.NativeEndian.PutUint64(raw[8*i:], ip)
	}
	hash := jhash2(raw, 0)
	entries := raw
	if st.elem == StackBuildIDSize {
		entries = make([]byte, StackBuildIDSize*nr)
		for i, ip := range ips {
			e := entries[StackBuildIDSize*i:]
			binary.NativeEndian.PutUint32(e, StackBuildIDStatusIP)
			binary.NativeEndian.PutUint64(e[24:], ip)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	id := hash & uint32(len(st.buckets)-1)
	b := st.buckets[id]
	matches := b != nil && b.hash == hash
	if matches && flags&stackFastCmp != 0 {
		return id, nil
	}
	if matches && b.nr == nr && string(b.data) == string(entries) {
		return id, nil
	}
	if b != nil && flags&stackReuseID == 0 {
		return 0, ErrKeyExist
	}
	if b == nil {
		if st.used >= int(st.spec.MaxEntries) {
			return 0, errNoMem
		}
		st.used++
	}
	st.buckets[id] = &stackBucket{hash: hash, nr: nr, data: entries}
	return id, nil
}

// Lookup: programs cannot read stacks (the verifier lets only
// bpf_get_stackid take the map).
func (st *StackTrace) Lookup(key []byte, cpu int) unsafe.Pointer { return nil }

// Update is refused for programs.
func (st *StackTrace) Update(key, value []byte, flags uint64, cpu int) error { return ErrNotSupp }

// Delete frees a stack ID.
func (st *StackTrace) Delete(key []byte) error {
	id := binary.NativeEndian.Uint32(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	if id >= uint32(len(st.buckets)) {
		return ErrFull
	}
	if st.buckets[id] == nil {
		return ErrKeyNotExist
	}
	st.buckets[id] = nil
	st.used--
	return nil
}

// LookupUser copies a stack: its entries, then zeros.
func (st *StackTrace) LookupUser(key, value []byte) error {
	id := binary.NativeEndian.Uint32(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	if id >= uint32(len(st.buckets)) || st.buckets[id] == nil {
		return ErrKeyNotExist
	}
	n := copy(value, st.buckets[id].data)
	clear(value[n:])
	return nil
}

// UpdateUser is refused, as the kernel refuses it (EINVAL): only
// bpf_get_stackid stores stacks.
func (st *StackTrace) UpdateUser(key, value []byte, flags uint64) error { return ErrInvalid }

// NextKey walks the IDs that hold a stack; a key that holds none starts
// over, as in the kernel.
func (st *StackTrace) NextKey(key, next []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	id := uint32(0)
	if key != nil {
		id = binary.NativeEndian.Uint32(key)
		if id >= uint32(len(st.buckets)) || st.buckets[id] == nil {
			id = 0
		} else {
			id++
		}
	}
	for id < uint32(len(st.buckets)) && st.buckets[id] == nil {
		id++
	}
	if id >= uint32(len(st.buckets)) {
		return ErrKeyNotExist
	}
	binary.NativeEndian.PutUint32(next, id)
	return nil
}

// Regions: programs cannot address stacks.
func (st *StackTrace) Regions() []memory.Region { return nil }
