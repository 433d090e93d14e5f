package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// neg returns -e as a helper's result.
func neg(e errno.Errno) uint64 { return uint64(-int64(e)) }

// runOf returns the Run of a call, or an error ending the run.
func runOf(c *helper.Call) (*Run, error) {
	r, ok := c.State.(*Run)
	if !ok || r == nil {
		return nil, errors.New("this helper needs the run's state (kernel.Run) in RunArgs.State")
	}
	return r, nil
}

func errNotType(r *Run, want string) error {
	return fmt.Errorf("this helper works on %s contexts, and the run is of a %s program", want, TypeName(r.typ))
}

// mapOf resolves a map handle. A value that is no map's handle ends the run:
// the kernel's verifier refuses a program that could pass one.
func mapOf(h uint64) (maps.Map, error) {
	m := maps.ByHandle(h)
	if m == nil {
		return nil, fmt.Errorf("%#x is not the handle of a map", h)
	}
	return m, nil
}

// result turns a map error into the helper's result: -errno for the
// kernel's errors, the end of the run for anything else.
func result(err error) (uint64, error) {
	if err == nil {
		return 0, nil
	}
	var me *maps.Error
	if errors.As(err, &me) {
		return neg(me.Errno), nil
	}
	var en errno.Errno
	if errors.As(err, &en) {
		return neg(en), nil
	}
	return 0, err
}

// readKey reads the map's key at addr.
func readKey(c *helper.Call, m maps.Map, addr uint64) ([]byte, error) {
	return c.Read(addr, uint64(m.Spec().KeySize))
}

// mapLookupElem is bpf_map_lookup_elem(map, key): the address of the
// value (on this CPU slot for per-CPU maps), or 0; for map-in-map the
// inner map's handle.
func mapLookupElem(c *helper.Call) (uint64, error) {
	m, err := mapOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	key, err := readKey(c, m, c.Args[1])
	if err != nil {
		return 0, err
	}
	return MapLookup(c, m, key)
}

// MapLookup is bpf_map_lookup_elem on a map and key already resolved:
// engines that know both call it directly. An inner map that it returns
// is held by the run (c.State, a *Run) until the run ends, so that its
// values stay in memory while the program may hold their addresses even
// if Go removes the map from the outer map and closes it meanwhile.
func MapLookup(c *helper.Call, m maps.Map, key []byte) (uint64, error) {
	switch m.Spec().Type {
	case ebpf.ArrayOfMaps, ebpf.HashOfMaps:
		om, ok := m.(maps.ObjectMap)
		if !ok {
			return 0, fmt.Errorf("map %s of type %s holds no objects", m.Spec().Name, m.Spec().Type)
		}
		inner, ok := om.LookupObject(key).(maps.Map)
		if !ok || inner == nil {
			return 0, nil
		}
		if r, ok := c.State.(*Run); ok && r != nil {
			r.held = append(r.held, inner)
		}
		return inner.Handle(), nil
	}
	p := m.Lookup(key, c.CPU)
	return uint64(uintptr(p)), nil
}

// MapUpdate is bpf_map_update_elem on a map, key and value already
// resolved: engines that know them call it directly.
func MapUpdate(m maps.Map, key, value []byte, flags uint64, cpu int) (uint64, error) {
	return result(m.Update(key, value, flags, cpu))
}

// mapUpdateElem is bpf_map_update_elem(map, key, value, flags).
func mapUpdateElem(c *helper.Call) (uint64, error) {
	m, err := mapOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	key, err := readKey(c, m, c.Args[1])
	if err != nil {
		return 0, err
	}
	value, err := c.Read(c.Args[2], uint64(m.Spec().ValueSize))
	if err != nil {
		return 0, err
	}
	return MapUpdate(m, key, value, c.Args[3], c.CPU)
}

// mapDeleteElem is bpf_map_delete_elem(map, key).
func mapDeleteElem(c *helper.Call) (uint64, error) {
	m, err := mapOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	key, err := readKey(c, m, c.Args[1])
	if err != nil {
		return 0, err
	}
	return result(m.Delete(key))
}

// queueOf resolves a queue, stack or bloom filter.
func queueOf(h uint64) (maps.Queue, error) {
	m, err := mapOf(h)
	if err != nil {
		return nil, err
	}
	q, ok := m.(maps.Queue)
	if !ok {
		return nil, fmt.Errorf("map %s of type %s is not a queue, stack or bloom filter", m.Spec().Name, m.Spec().Type)
	}
	return q, nil
}

// mapPushElem is bpf_map_push_elem(map, value, flags).
func mapPushElem(c *helper.Call) (uint64, error) {
	q, err := queueOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	value, err := c.Read(c.Args[1], uint64(q.Spec().ValueSize))
	if err != nil {
		return 0, err
	}
	return result(q.Push(value, c.Args[2]))
}

// mapPopElem is bpf_map_pop_elem(map, value).
func mapPopElem(c *helper.Call) (uint64, error) {
	q, err := queueOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	value, err := c.Write(c.Args[1], uint64(q.Spec().ValueSize))
	if err != nil {
		return 0, err
	}
	return result(q.Pop(value))
}

// mapPeekElem is bpf_map_peek_elem(map, value): for a bloom filter, value
// is the value to test, and the result is 0 or -ENOENT.
func mapPeekElem(c *helper.Call) (uint64, error) {
	q, err := queueOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	var value []byte
	if q.Spec().Type == ebpf.BloomFilter {
		value, err = c.Read(c.Args[1], uint64(q.Spec().ValueSize))
	} else {
		value, err = c.Write(c.Args[1], uint64(q.Spec().ValueSize))
	}
	if err != nil {
		return 0, err
	}
	return result(q.Peek(value))
}

// tailCall is bpf_tail_call(ctx, prog_array, index): an index out of range
// or an empty slot returns 0 and the program goes on; otherwise the engine
// replaces the program (and gives up after helper.MaxTailCalls).
func tailCall(c *helper.Call) (uint64, error) {
	m, err := mapOf(c.Args[1])
	if err != nil {
		return 0, err
	}
	om, ok := m.(maps.ObjectMap)
	if !ok || m.Spec().Type != ebpf.ProgramArray {
		return 0, fmt.Errorf("map %s of type %s is not a program array", m.Spec().Name, m.Spec().Type)
	}
	idx := uint32(c.Args[2])
	if idx >= m.Spec().MaxEntries {
		return 0, nil
	}
	var key [4]byte
	binary.NativeEndian.PutUint32(key[:], idx)
	target := om.LookupObject(key[:])
	if target == nil {
		return 0, nil
	}
	if e, ok := target.(maps.ProgramEntry); ok {
		// The run keeps the program, and so its maps, until it ends. A
		// program whose last reference went between the lookup and here
		// was removed from the slot meanwhile: the slot is empty.
		if !e.Retain() {
			return 0, nil
		}
		if r, ok := c.State.(*Run); ok && r != nil {
			r.heldPrograms = append(r.heldPrograms, e)
		} else {
			defer e.Release()
		}
		target = e.Code()
	}
	return 0, &helper.TailCall{Target: target}
}

// The lock word of a bpf_spin_lock: 0 free, 1 held. Maps that take the lock
// for BPF_F_LOCK updates use the same protocol on the same word.

// lockWait is how long bpf_spin_lock waits for a lock. A run holds a lock
// for a bounded number of instructions, so a lock still taken after this
// long is not held by any run: the program stored to the lock word, or
// locks memory that is not a lock (which the kernel's verifier refuses).
const lockWait = time.Second

// lockWord spins until it takes the lock, yielding the processor between
// attempts; it gives up when done is closed or after lockWait.
func lockWord(p *uint32, done <-chan struct{}) error {
	var deadline time.Time
	for i := 0; ; i++ {
		if atomic.CompareAndSwapUint32(p, 0, 1) {
			return nil
		}
		if i%64 == 63 {
			select {
			case <-done:
				return errLockCanceled
			default:
			}
			if now := time.Now(); deadline.IsZero() {
				deadline = now.Add(lockWait)
			} else if now.After(deadline) {
				return fmt.Errorf("the lock word is %d and no run released it in %v: it is not a lock, or the program wrote to it", atomic.LoadUint32(p), lockWait)
			}
		}
		runtime.Gosched()
	}
}

// errLockCanceled: the run's context ended while bpf_spin_lock waited.
var errLockCanceled = errors.New("canceled")

func unlockWord(p *uint32) { atomic.StoreUint32(p, 0) }

// lockAt returns the lock word at addr in program memory.
func lockAt(c *helper.Call, addr uint64) (*uint32, error) {
	if addr%4 != 0 {
		return nil, fmt.Errorf("bpf_spin_lock at %#x is not aligned to 4 bytes", addr)
	}
	b, err := c.Write(addr, 4)
	if err != nil {
		return nil, err
	}
	return (*uint32)(unsafe.Pointer(unsafe.SliceData(b))), nil
}

// spinLock is bpf_spin_lock(lock). A run holds at most one lock, as the
// verifier requires; Finish (or the next Setup) releases a lock that a
// failed run still holds, so that it cannot block the next runs.
func spinLock(c *helper.Call) (uint64, error) {
	p, err := lockAt(c, c.Args[0])
	if err != nil {
		return 0, err
	}
	r, _ := c.State.(*Run)
	if r != nil && r.lock != nil {
		return 0, errors.New("bpf_spin_lock: the program already holds a lock")
	}
	var done <-chan struct{}
	if c.Context != nil {
		done = c.Context.Done()
	}
	if err := lockWord(p, done); err == errLockCanceled {
		return 0, fmt.Errorf("bpf_spin_lock: %w", c.Context.Err())
	} else if err != nil {
		return 0, fmt.Errorf("bpf_spin_lock at %#x: %w", c.Args[0], err)
	}
	if r != nil {
		r.lock = p
	}
	return 0, nil
}

// spinUnlock is bpf_spin_unlock(lock).
func spinUnlock(c *helper.Call) (uint64, error) {
	p, err := lockAt(c, c.Args[0])
	if err != nil {
		return 0, err
	}
	if r, _ := c.State.(*Run); r != nil {
		if r.lock != p {
			return 0, errors.New("bpf_spin_unlock: the program does not hold this lock")
		}
		r.lock = nil
	}
	unlockWord(p)
	return 0, nil
}

// ringOf resolves a ring buffer.
func ringOf(h uint64) (maps.RingBuffer, error) {
	m, err := mapOf(h)
	if err != nil {
		return nil, err
	}
	rb, ok := m.(maps.RingBuffer)
	if !ok {
		return nil, fmt.Errorf("map %s of type %s is not a ring buffer", m.Spec().Name, m.Spec().Type)
	}
	return rb, nil
}

// Ring buffer flags.
const (
	rbNoWakeup    = 1 // BPF_RB_NO_WAKEUP
	rbForceWakeup = 2 // BPF_RB_FORCE_WAKEUP
)

// reserve is a ring buffer record a program reserved.
type reserve struct {
	rb maps.RingBuffer
	p  unsafe.Pointer
}

// ringbufOutput is bpf_ringbuf_output(ringbuf, data, size, flags).
func ringbufOutput(c *helper.Call) (uint64, error) {
	rb, err := ringOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	if c.Args[3]&^(rbNoWakeup|rbForceWakeup) != 0 {
		return neg(errno.EINVAL), nil
	}
	data, err := c.Read(c.Args[1], c.Args[2])
	if err != nil {
		return 0, err
	}
	return result(rb.Output(data))
}

// ringbufReserve is bpf_ringbuf_reserve(ringbuf, size, flags): the address
// of the record, or 0 (ring full, size too large, flags not 0).
func ringbufReserve(c *helper.Call) (uint64, error) {
	rb, err := ringOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	if c.Args[2] != 0 {
		return 0, nil
	}
	p := rb.Reserve(c.Args[1])
	if p == nil {
		return 0, nil
	}
	addr := uint64(uintptr(p))
	if r.reserved == nil {
		r.reserved = make(map[uint64]reserve)
	}
	r.reserved[addr] = reserve{rb: rb, p: p}
	return addr, nil
}

// ringbufCommit submits or discards the record at c.Args[0].
func ringbufCommit(c *helper.Call, discard bool) (uint64, error) {
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	res, ok := r.reserved[c.Args[0]]
	if !ok {
		return 0, fmt.Errorf("%#x is not a ring buffer record this run reserved", c.Args[0])
	}
	delete(r.reserved, c.Args[0])
	if err := res.rb.Commit(res.p, discard); err != nil {
		return 0, err
	}
	return 0, nil
}

// ringbufSubmit is bpf_ringbuf_submit(data, flags).
func ringbufSubmit(c *helper.Call) (uint64, error) { return ringbufCommit(c, false) }

// ringbufDiscard is bpf_ringbuf_discard(data, flags).
func ringbufDiscard(c *helper.Call) (uint64, error) { return ringbufCommit(c, true) }

// ringbufQuery is bpf_ringbuf_query(ringbuf, flags).
func ringbufQuery(c *helper.Call) (uint64, error) {
	rb, err := ringOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	return rb.Query(c.Args[1]), nil
}

// forEachMapElem is bpf_for_each_map_elem(map, callback, ctx, flags): calls
// callback(map, &key, &value, ctx) for each element until it returns
// non-zero, and returns the number of elements visited. The key is a copy
// in read-only scratch memory; the value pointer is the element's own.
func forEachMapElem(c *helper.Call) (uint64, error) {
	m, err := mapOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	if c.Args[3] != 0 {
		return neg(errno.EINVAL), nil
	}
	it, ok := m.(maps.Iterable)
	if !ok {
		return 0, fmt.Errorf("bpf_for_each_map_elem cannot walk map %s of type %s", m.Spec().Name, m.Spec().Type)
	}
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	const slot = keyScratchSize / 8
	if int(m.Spec().KeySize) > slot {
		return 0, fmt.Errorf("bpf_for_each_map_elem: keys of %d bytes are larger than %d", m.Spec().KeySize, slot)
	}
	if r.keyDepth >= keyScratchSize/slot {
		return 0, errors.New("bpf_for_each_map_elem nested too deep")
	}
	keyBuf := r.keys[r.keyDepth*slot : (r.keyDepth+1)*slot]
	r.keyDepth++
	defer func() { r.keyDepth-- }()
	fn, cbCtx, handle := c.Args[1], c.Args[2], c.Args[0]
	var n uint64
	var cbErr error
	it.ForEach(c.CPU, func(key []byte, value unsafe.Pointer) bool {
		n++
		copy(keyBuf, key)
		ret, err := c.CallFunction(fn, handle, addrOf(keyBuf), uint64(uintptr(value)), cbCtx)
		if err != nil {
			cbErr = err
			return false
		}
		return ret == 0
	})
	if cbErr != nil {
		return 0, cbErr
	}
	return n, nil
}

// maxLoops is BPF_MAX_LOOPS.
const maxLoops = 1 << 23

// loop is bpf_loop(nr_loops, callback, ctx, flags): calls callback(i, ctx)
// for i from 0 until nr_loops or until it returns non-zero, and returns
// the number of calls.
func loop(c *helper.Call) (uint64, error) {
	n := uint32(c.Args[0])
	if c.Args[3] != 0 {
		return neg(errno.EINVAL), nil
	}
	if n > maxLoops {
		// The kernel's verifier inlines bpf_loop with zero flags, and the
		// inlined code sets -E2BIG with a 32-bit move: programs see
		// 0x00000000fffffff9, not the helper's 64-bit -E2BIG.
		return uint64(uint32(neg(errno.E2BIG))), nil
	}
	fn, ctx := c.Args[1], c.Args[2]
	for i := uint32(0); i < n; i++ {
		ret, err := c.CallFunction(fn, uint64(i), ctx)
		if err != nil {
			return 0, err
		}
		if ret != 0 {
			return uint64(i) + 1, nil
		}
	}
	return uint64(n), nil
}
