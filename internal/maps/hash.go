package maps

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// hashTab is BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and
// (holding objects instead of values) HASH_OF_MAPS.
//
// # Layout
//
// Like the kernel's preallocated hash map, the table has max_entries
// element slots, allocated at creation and recycled through a free list;
// slot i's value (all CPU slots of it, for per-CPU maps) is slot i of the
// value memory. Keys, chains and locks live in Go memory: a power-of-two
// number of buckets (max_entries rounded up, as in the kernel), each the
// head of a chain of slots linked through their next field.
//
// # Concurrency
//
// Buckets are grouped in lock stripes. Writers (update, delete, eviction)
// take the stripe's mutex; a writer that unlinks an element also bumps the
// stripe's sequence count before and after, so that lookups can run without
// any lock: a lookup reads the sequence, walks the chain with atomic loads
// and retries (and after a few tries takes the lock) if the sequence moved.
// All chain and key words are atomics, so the race detector checks this
// protocol. Replacing the value of an existing key writes the value in place,
// so a program's atomic operations through a pointer it got earlier are
// never lost to a concurrent update of the same key. A slot freed by a delete
// may be reused at once, as in the kernel's preallocated maps: a program
// still holding a pointer to the old value then sees the new element's.
//
// # Iteration order
//
// NextKey walks buckets in index order and each chain from its head (the
// most recently inserted element first), as the kernel does; a key that is
// not in the map restarts at the first element. The order depends on the
// map's random hash seed (zero with BPF_F_ZERO_SEED).
//
// # LRU
//
// The LRU types never fail with E2BIG: when no slot is free an update evicts
// an element chosen by the CLOCK (second chance) approximation of least
// recently used: a program's lookup, like the kernel's, sets the element's
// reference bit (lookups from Go code do not), an insert sets it too, and the
// eviction hand clears reference bits until it finds an element whose bit is
// clear. BPF_F_NO_COMMON_LRU is accepted and behaves as the common LRU.
type hashTab struct {
	base
	keySize  int
	keyWords int
	size     int     // value size
	stride   uintptr // ValueStride(size)
	cpus     int     // CPU slots per value: 1 unless per-CPU
	percpu   bool
	lru      bool
	objects  bool // hash_of_maps: objs holds the values
	seed     uint64
	mask     uint32 // n_buckets - 1

	buckets []atomic.Uint32 // slot+1 of the chain's head; 0 when empty
	slots   []hslot
	keys    []atomic.Uint64 // keyWords words per slot, little-endian, zero-padded
	stripes []stripe
	smask   uint32

	vals    values
	regions []memory.Region
	objs    []atomic.Pointer[objBox]

	freeMu sync.Mutex
	free   []uint32

	clockMu sync.Mutex
	hand    uint32
}

// hslot is an element slot's bookkeeping.
type hslot struct {
	next atomic.Uint32 // slot+1 of the next element in the chain; 0 at the end
	hash atomic.Uint32
	used atomic.Bool // linked in a chain
	ref  atomic.Bool // LRU reference bit
}

// stripe is the lock of a group of buckets, on its own cache line.
type stripe struct {
	mu  sync.Mutex
	seq atomic.Uint32
	_   [52]byte
}

// maxStripes bounds the number of lock stripes.
const maxStripes = 256

// objBox holds an object of an object map.
type objBox struct{ v any }

// checkHashSpec is htab_map_alloc_check.
func checkHashSpec(s *Spec) error {
	if err := checkFlags(s, hashCreateFlags); err != nil {
		return err
	}
	lru := s.Type == ebpf.LRUHash || s.Type == ebpf.LRUCPUHash
	if !lru && s.Flags&FlagNoCommonLRU != 0 {
		return specErr(s, "flags: BPF_F_NO_COMMON_LRU is only for LRU hash maps")
	}
	if lru && s.Flags&FlagNoPrealloc != 0 {
		return specErrno(ErrNotSupp, s, "flags: LRU hash maps cannot have BPF_F_NO_PREALLOC")
	}
	if s.KeySize == 0 {
		return specErr(s, "key_size must not be 0")
	}
	if s.ValueSize == 0 {
		return specErr(s, "value_size must not be 0")
	}
	if uint64(s.KeySize)+uint64(s.ValueSize) >= kmallocMax-htabElemOverhead {
		return specErrno(ErrFull, s, "key_size %d + value_size %d = %d bytes is too large: a hash element holds at most %d (KMALLOC_MAX_SIZE less its 48-byte header, less 1)",
			s.KeySize, s.ValueSize, uint64(s.KeySize)+uint64(s.ValueSize), kmallocMax-htabElemOverhead-1)
	}
	if IsPerCPU(s.Type) && uint64(s.ValueSize) > pcpuMinUnitSize {
		return specErrno(ErrFull, s, "value_size %d is more than a per-CPU value may have (%d, PCPU_MIN_UNIT_SIZE)", s.ValueSize, pcpuMinUnitSize)
	}
	if s.MaxEntries > maxHashEntries {
		return specErrno(ErrFull, s, "max_entries %d is more than a hash map may have (%d: its buckets, a power of 2, take 16 bytes each and must fit in 4 GiB)", s.MaxEntries, maxHashEntries)
	}
	return nil
}

// maxHashEntries is the most elements a hash map may have: the kernel
// rounds max_entries up to a power of 2 buckets (above 1<<31: E2BIG) and
// refuses more buckets than U32_MAX / sizeof(struct bucket), 16 bytes on
// x86-64: 1<<28 buckets are too many.
const maxHashEntries = 1 << 27

// hashMemory is what allocHash allocates for a table of n elements in nb
// buckets: value slots of slotSize bytes, and the bookkeeping.
func hashMemory(n, nb, keyWords, slotSize uint64, objects bool) uint64 {
	need := satAdd(
		heapBytes(satMul(n, slotSize)),                                 // values
		heapBytes(satMul(nb, 4)),                                       // buckets
		heapBytes(satMul(n, uint64(unsafe.Sizeof(hslot{})))),           // slots
		heapBytes(satMul(satMul(n, keyWords), 8)),                      // keys
		heapBytes(satMul(n, 4)),                                        // free list
		heapBytes(min(nb, maxStripes)*uint64(unsafe.Sizeof(stripe{}))), // stripes
	)
	if objects {
		need = satAdd(need, heapBytes(satMul(n, 8)), satMul(n, heapBytes(uint64(unsafe.Sizeof(objBox{})))))
	}
	return need
}

func newHash(s *Spec) (Map, error) {
	if err := checkHashSpec(s); err != nil {
		return nil, err
	}
	h, err := allocHash(s, false)
	if err != nil {
		return nil, err
	}
	h.init(s, h)
	return h, nil
}

// allocHash builds the table; objects selects object values instead of
// value memory.
func allocHash(s *Spec, objects bool) (*hashTab, error) {
	h := &hashTab{
		keySize:  int(s.KeySize),
		keyWords: int(align8(uint64(s.KeySize)) / 8),
		size:     int(s.ValueSize),
		stride:   uintptr(ValueStride(s.ValueSize)),
		cpus:     1,
		percpu:   IsPerCPU(s.Type),
		lru:      s.Type == ebpf.LRUHash || s.Type == ebpf.LRUCPUHash,
		objects:  objects,
	}
	if h.percpu {
		h.cpus = s.CPUs
	}
	if s.Flags&FlagZeroSeed == 0 {
		h.seed = randomSeed()
	}
	n := uint64(s.MaxEntries)
	nb := uint64(1)
	for nb < n {
		nb <<= 1
	}
	h.mask = uint32(nb - 1)
	slotSize := satMul(uint64(h.stride), uint64(h.cpus))
	what := fmt.Sprintf("%s of %d-byte keys and %d-byte values", plural(n, "entry", "entries"), s.KeySize, h.stride)
	if h.percpu {
		what += fmt.Sprintf(" on each of %d CPU slots", h.cpus)
	}
	if objects {
		slotSize = 0
		what = fmt.Sprintf("%s of %d-byte keys", plural(n, "entry", "entries"), s.KeySize)
	}
	if err := h.reserve(s, hashMemory(n, nb, uint64(h.keyWords), slotSize, objects), what); err != nil {
		return nil, err
	}
	h.vals = newValues(n, slotSize)
	h.regions = h.vals.regions()
	h.buckets = make([]atomic.Uint32, nb)
	h.slots = make([]hslot, n)
	h.keys = make([]atomic.Uint64, n*uint64(h.keyWords))
	ns := min(nb, maxStripes)
	h.stripes = make([]stripe, ns)
	h.smask = uint32(ns - 1)
	if objects {
		h.objs = make([]atomic.Pointer[objBox], n)
	}
	h.free = make([]uint32, n)
	for i := range h.free {
		h.free[i] = uint32(n) - 1 - uint32(i)
	}
	return h, nil
}

// hashKey hashes a key.
func (h *hashTab) hashKey(key []byte) uint32 {
	switch len(key) {
	case 4:
		return uint32(hashTail(h.seed, 4, uint64(binary.LittleEndian.Uint32(key))))
	case 8:
		return uint32(hash8(h.seed, binary.LittleEndian.Uint64(key)))
	}
	return uint32(hashBytes(h.seed, key))
}

// stripeOf returns the lock stripe of bucket b.
func (h *hashTab) stripeOf(b uint32) *stripe { return &h.stripes[b&h.smask] }

// keyEqual reports whether slot s holds key.
func (h *hashTab) keyEqual(s uint32, key []byte) bool {
	kw := h.keys[int(s)*h.keyWords:][:h.keyWords]
	i := 0
	for ; len(key) >= 8; i++ {
		if kw[i].Load() != binary.LittleEndian.Uint64(key) {
			return false
		}
		key = key[8:]
	}
	return len(key) == 0 || kw[i].Load() == tailWord(key)
}

// storeKey writes key into slot s.
func (h *hashTab) storeKey(s uint32, key []byte) {
	kw := h.keys[int(s)*h.keyWords:][:h.keyWords]
	i := 0
	for ; len(key) >= 8; i++ {
		kw[i].Store(binary.LittleEndian.Uint64(key))
		key = key[8:]
	}
	if len(key) > 0 {
		kw[i].Store(tailWord(key))
	}
}

// loadKey copies slot s's key into dst.
func (h *hashTab) loadKey(s uint32, dst []byte) {
	kw := h.keys[int(s)*h.keyWords:][:h.keyWords]
	for i := 0; len(dst) > 0; i++ {
		w := kw[i].Load()
		if len(dst) >= 8 {
			binary.LittleEndian.PutUint64(dst, w)
			dst = dst[8:]
			continue
		}
		for j := range dst {
			dst[j] = byte(w >> (8 * j))
		}
		dst = nil
	}
}

// walk searches bucket b for key. ok is false if the walk gave up because
// the chain changed under it (lock-free walks only).
func (h *hashTab) walk(b, hv uint32, key []byte) (slot uint32, found, ok bool) {
	n := h.buckets[b].Load()
	for steps := 0; n != 0; steps++ {
		if steps > len(h.slots) {
			return 0, false, false
		}
		s := n - 1
		m := &h.slots[s]
		if m.hash.Load() == hv && h.keyEqual(s, key) {
			return s, true, true
		}
		n = m.next.Load()
	}
	return 0, false, true
}

// find looks key up without locking when it can.
func (h *hashTab) find(key []byte) (uint32, bool) {
	hv := h.hashKey(key)
	b := hv & h.mask
	st := h.stripeOf(b)
	for range 3 {
		seq := st.seq.Load()
		if seq&1 != 0 {
			break // a writer is unlinking: wait for it on the lock
		}
		s, found, ok := h.walk(b, hv, key)
		if ok && st.seq.Load() == seq {
			return s, found
		}
	}
	st.mu.Lock()
	s, found, _ := h.walk(b, hv, key)
	st.mu.Unlock()
	return s, found
}

// value returns the address of slot s's value on cpu.
func (h *hashTab) value(s uint32, cpu int) unsafe.Pointer {
	return unsafe.Add(h.vals.slot(s), uintptr(cpu)*h.stride)
}

// Lookup returns the value's address on this CPU slot, or nil.
func (h *hashTab) Lookup(key []byte, cpu int) unsafe.Pointer {
	if h.objects || uint(cpu) >= uint(h.cpus) && h.percpu {
		return nil
	}
	s, ok := h.find(key)
	if !ok {
		return nil
	}
	if h.lru {
		if m := &h.slots[s]; !m.ref.Load() {
			m.ref.Store(true)
		}
	}
	if !h.percpu {
		return h.vals.slot(s)
	}
	return h.value(s, cpu)
}

// writeValue stores an element's value: on one CPU slot (cpu >= 0, the
// others zeroed if the element is new) or the whole slot (cpu < 0).
func (h *hashTab) writeValue(s uint32, value []byte, cpu int, fresh bool) {
	p := h.vals.slot(s)
	switch {
	case cpu < 0:
		copyToValue(p, value)
	case h.percpu:
		if fresh {
			zeroValue(p, h.vals.slotSize)
		}
		copyToValue(h.value(s, cpu), value[:h.size])
	default:
		if fresh && uintptr(h.size) != h.stride {
			zeroValue(p, h.stride)
		}
		copyToValue(p, value[:h.size])
	}
}

// link inserts slot s, holding key, at the head of bucket b. The caller
// holds the bucket's stripe lock and has written the value.
func (h *hashTab) link(b, hv, s uint32, key []byte) {
	m := &h.slots[s]
	h.storeKey(s, key)
	m.hash.Store(hv)
	m.ref.Store(true)
	m.next.Store(h.buckets[b].Load())
	m.used.Store(true)
	h.buckets[b].Store(s + 1)
}

// unlink removes slot s from bucket b, under the stripe lock st. It reports
// whether s was in the bucket.
func (h *hashTab) unlink(st *stripe, b, s uint32) bool {
	prev := &h.buckets[b]
	for n := prev.Load(); n != 0; n = prev.Load() {
		if n-1 == s {
			st.seq.Add(1)
			prev.Store(h.slots[s].next.Load())
			st.seq.Add(1)
			h.slots[s].used.Store(false)
			return true
		}
		prev = &h.slots[n-1].next
	}
	return false
}

// popFree takes a free slot.
func (h *hashTab) popFree() (uint32, bool) {
	h.freeMu.Lock()
	defer h.freeMu.Unlock()
	n := len(h.free)
	if n == 0 {
		return 0, false
	}
	s := h.free[n-1]
	h.free = h.free[:n-1]
	return s, true
}

// pushFree returns a slot to the free list.
func (h *hashTab) pushFree(s uint32) {
	h.freeMu.Lock()
	h.free = append(h.free, s)
	h.freeMu.Unlock()
}

// evict frees an LRU slot for an insert: a free one if there is one by now,
// or the first element the CLOCK hand finds without its reference bit. The
// slot is returned unlinked and owned by the caller.
func (h *hashTab) evict() (uint32, bool) {
	h.clockMu.Lock()
	defer h.clockMu.Unlock()
	if s, ok := h.popFree(); ok {
		return s, true
	}
	n := uint32(len(h.slots))
	for range 3 * uint64(n) {
		s := h.hand
		if h.hand++; h.hand == n {
			h.hand = 0
		}
		m := &h.slots[s]
		if !m.used.Load() {
			// Deleted meanwhile: it is (or is about to be) free.
			if s, ok := h.popFree(); ok {
				return s, true
			}
			continue
		}
		if m.ref.Load() {
			m.ref.Store(false)
			continue
		}
		b := m.hash.Load() & h.mask
		st := h.stripeOf(b)
		st.mu.Lock()
		ok := h.unlink(st, b, s)
		st.mu.Unlock()
		if ok {
			return s, true
		}
	}
	return 0, false
}

// update is map_update_elem: value (one CPU slot's if cpu >= 0, else the
// whole slot) or obj for object maps. It returns the object it replaced.
func (h *hashTab) update(key, value []byte, flags uint64, cpu int, obj *objBox) (any, error) {
	if err := updateFlagsErr(flags); err != nil {
		return nil, err
	}
	hv := h.hashKey(key)
	b := hv & h.mask
	st := h.stripeOf(b)
	st.mu.Lock()
	s, found, _ := h.walk(b, hv, key)
	if !found {
		if flags&UpdateExist != 0 {
			st.mu.Unlock()
			return nil, ErrKeyNotExist
		}
		var ok bool
		if s, ok = h.popFree(); !ok {
			if !h.lru {
				st.mu.Unlock()
				return nil, Errorf(ErrFull, "hash map is full (%d entries)", len(h.slots))
			}
			// Evict without holding a stripe lock (eviction takes
			// another stripe's), then look again: the key may have
			// been inserted meanwhile.
			st.mu.Unlock()
			if s, ok = h.evict(); !ok {
				return nil, Errorf(ErrFull, "LRU hash map: nothing to evict")
			}
			st.mu.Lock()
			var s2 uint32
			if s2, found, _ = h.walk(b, hv, key); found {
				h.pushFree(s)
				s = s2
			}
		}
	}
	if found {
		if flags&UpdateNoExist != 0 {
			st.mu.Unlock()
			return nil, ErrKeyExist
		}
		var old any
		if h.objects {
			if p := h.objs[s].Swap(obj); p != nil {
				old = p.v
			}
		} else {
			h.writeValue(s, value, cpu, false)
		}
		st.mu.Unlock()
		return old, nil
	}
	if h.objects {
		h.objs[s].Store(obj)
	} else {
		h.writeValue(s, value, cpu, true)
	}
	h.link(b, hv, s, key)
	st.mu.Unlock()
	return nil, nil
}

// remove deletes key, copying its value into value first if value is not
// nil. It returns the object the element held.
func (h *hashTab) remove(key, value []byte) (any, error) {
	hv := h.hashKey(key)
	b := hv & h.mask
	st := h.stripeOf(b)
	st.mu.Lock()
	s, found, _ := h.walk(b, hv, key)
	if !found {
		st.mu.Unlock()
		return nil, ErrKeyNotExist
	}
	if value != nil {
		copyFromValue(value, h.vals.slot(s))
	}
	h.unlink(st, b, s)
	var old any
	if h.objects {
		if p := h.objs[s].Swap(nil); p != nil {
			old = p.v
		}
	}
	st.mu.Unlock()
	h.pushFree(s)
	return old, nil
}

// Update creates or replaces the element; per-CPU maps write this CPU
// slot's value (a new element's other slots are zero).
func (h *hashTab) Update(key, value []byte, flags uint64, cpu int) error {
	if h.objects {
		return Errorf(ErrNotSupp, "hash_of_maps elements are updated with UpdateObject")
	}
	if !h.percpu {
		cpu = 0
	} else if uint(cpu) >= uint(h.cpus) {
		return Errorf(ErrInvalid, "CPU slot %d out of range", cpu)
	}
	_, err := h.update(key, value, flags, cpu, nil)
	return err
}

// Delete removes the element.
func (h *hashTab) Delete(key []byte) error {
	old, err := h.remove(key, nil)
	releaseObj(old)
	return err
}

// LookupUser copies the value (every CPU slot's for per-CPU maps).
func (h *hashTab) LookupUser(key, value []byte) error {
	if h.objects {
		return Errorf(ErrNotSupp, "hash_of_maps elements are read with LookupObject")
	}
	if err := h.checkUser(key, value); err != nil {
		return err
	}
	hv := h.hashKey(key)
	b := hv & h.mask
	st := h.stripeOf(b)
	st.mu.Lock()
	defer st.mu.Unlock()
	s, found, _ := h.walk(b, hv, key)
	if !found {
		return ErrKeyNotExist
	}
	copyFromValue(value, h.vals.slot(s))
	return nil
}

// UpdateUser creates or replaces the element (every CPU slot's value for
// per-CPU maps).
func (h *hashTab) UpdateUser(key, value []byte, flags uint64) error {
	if h.objects {
		return Errorf(ErrNotSupp, "hash_of_maps elements are updated with UpdateObject")
	}
	if err := h.checkUser(key, value); err != nil {
		return err
	}
	if !h.percpu {
		_, err := h.update(key, value, flags, 0, nil)
		return err
	}
	_, err := h.update(key, value, flags, -1, nil)
	return err
}

// LookupAndDeleteUser copies the value and deletes the element atomically.
func (h *hashTab) LookupAndDeleteUser(key, value []byte) error {
	if h.objects {
		return Errorf(ErrNotSupp, "lookup and delete is not supported for hash_of_maps")
	}
	if err := h.checkUser(key, value); err != nil {
		return err
	}
	_, err := h.remove(key, value)
	return err
}

// NextKey follows htab_map_get_next_key.
func (h *hashTab) NextKey(key, next []byte) error {
	if err := h.checkNext(key, next); err != nil {
		return err
	}
	var b uint32
	if key != nil {
		hv := h.hashKey(key)
		kb := hv & h.mask
		st := h.stripeOf(kb)
		st.mu.Lock()
		s, found, _ := h.walk(kb, hv, key)
		if found {
			if n := h.slots[s].next.Load(); n != 0 {
				h.loadKey(n-1, next)
				st.mu.Unlock()
				return nil
			}
			b = kb + 1
		}
		st.mu.Unlock()
	}
	// mask < 2^31, so b cannot wrap around.
	for ; b <= h.mask; b++ {
		if h.buckets[b].Load() == 0 {
			continue
		}
		st := h.stripeOf(b)
		st.mu.Lock()
		if n := h.buckets[b].Load(); n != 0 {
			h.loadKey(n-1, next)
			st.mu.Unlock()
			return nil
		}
		st.mu.Unlock()
	}
	return ErrKeyNotExist
}

// Regions is the value memory.
func (h *hashTab) Regions() []memory.Region { return h.regions }

// ForEach walks the elements in NextKey order. Each bucket's chain is read
// under its lock, then fn runs without any lock held, so fn may update or
// delete elements of this map.
func (h *hashTab) ForEach(cpu int, fn func(key []byte, value unsafe.Pointer) bool) int {
	if h.objects || h.percpu && uint(cpu) >= uint(h.cpus) {
		return 0
	}
	if !h.percpu {
		cpu = 0
	}
	var (
		slots []uint32
		keys  []byte
		n     int
	)
	for b := uint32(0); b <= h.mask; b++ {
		if h.buckets[b].Load() == 0 {
			continue
		}
		slots, keys = slots[:0], keys[:0]
		st := h.stripeOf(b)
		st.mu.Lock()
		for s := h.buckets[b].Load(); s != 0; s = h.slots[s-1].next.Load() {
			slots = append(slots, s-1)
			keys = append(keys, make([]byte, h.keySize)...)
			h.loadKey(s-1, keys[len(keys)-h.keySize:])
		}
		st.mu.Unlock()
		for i, s := range slots {
			n++
			if !fn(keys[i*h.keySize:(i+1)*h.keySize], h.value(s, cpu)) {
				return n
			}
		}
	}
	return n
}

// releaseObj drops the reference an object map held on a map or a program.
func releaseObj(obj any) {
	switch r := obj.(type) {
	case refCounted:
		r.release()
	case Referenced:
		r.Release()
	}
}

// HashLayout is how compiled code finds a key in a hash map without Go:
// the addresses of the map's tables, the layout of their elements and the
// map's hash function reduced to constants. A lookup in compiled code
// follows find's protocol: it reads the stripe's sequence count before and
// after walking the chain, and leaves the lookup to Go when a writer was
// at work.
type HashLayout struct {
	Buckets unsafe.Pointer // n uint32 words: slot+1 of a chain's head, 0 when empty
	Mask    uint32         // bucket = hash & Mask

	Stripes     unsafe.Pointer // the lock stripes
	StripeMask  uint32         // stripe = bucket & StripeMask
	StripeSize  uintptr
	StripeSeq   uintptr // offset of the uint32 sequence count in a stripe
	Slots       unsafe.Pointer
	SlotCount   uint32
	SlotSize    uintptr
	SlotNext    uintptr        // offset of the uint32 slot+1 of the next element
	SlotHash    uintptr        // offset of the element's uint32 hash
	Keys        unsafe.Pointer // one 8-byte word per slot: the key, zero-padded
	Values      unsafe.Pointer
	ValueStride uintptr

	// The hash of a key word w is mix(mix(w ^ HashXor, HashMul) ^ hashK0,
	// ... ^ hashK1), mix(a, b) being the high and low halves of the
	// 128-bit product a*b, xored; its low 32 bits are the hash.
	HashXor, HashMul, HashK0, HashK1 uint64
}

// HashLayoutOf returns the layout of m if compiled code can look keys up
// in it: a hash map (not per-CPU, not LRU, not of maps) with 4- or 8-byte
// keys.
func HashLayoutOf(m Map) (HashLayout, bool) {
	h, ok := m.(*hashTab)
	if !ok || h.percpu || h.lru || h.objects || h.keyWords != 1 || (h.keySize != 4 && h.keySize != 8) {
		return HashLayout{}, false
	}
	h0 := h.seed ^ hashK0 ^ uint64(h.keySize)*hashK2
	return HashLayout{
		Buckets:     unsafe.Pointer(unsafe.SliceData(h.buckets)),
		Mask:        h.mask,
		Stripes:     unsafe.Pointer(unsafe.SliceData(h.stripes)),
		StripeMask:  h.smask,
		StripeSize:  unsafe.Sizeof(stripe{}),
		StripeSeq:   unsafe.Offsetof(stripe{}.seq),
		Slots:       unsafe.Pointer(unsafe.SliceData(h.slots)),
		SlotCount:   uint32(len(h.slots)),
		SlotSize:    unsafe.Sizeof(hslot{}),
		SlotNext:    unsafe.Offsetof(hslot{}.next),
		SlotHash:    unsafe.Offsetof(hslot{}.hash),
		Keys:        unsafe.Pointer(unsafe.SliceData(h.keys)),
		Values:      h.vals.base,
		ValueStride: h.vals.slotSize,
		HashXor:     h0 ^ hashK1,
		HashMul:     hashK2 ^ h0>>32,
		HashK0:      hashK0,
		HashK1:      hashK1,
	}, true
}
