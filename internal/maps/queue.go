package maps

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// queue is BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO): up to
// max_entries values without keys, reached only through push, pop and peek,
// so they are kept in Go memory behind a mutex. A push on a full map fails
// with E2BIG unless it has BPF_EXIST, which drops the oldest value (for both
// types, as the kernel does). The syscall-style LookupUser peeks and
// UpdateUser pushes, as BPF_MAP_LOOKUP_ELEM and BPF_MAP_UPDATE_ELEM do.
type queue struct {
	base
	stack bool
	size  int

	mu    sync.Mutex
	buf   []byte // max_entries values
	head  int    // index of the oldest value
	count int
}

func newQueue(s *Spec) (Map, error) {
	if err := checkFlags(s, queueCreateFlags); err != nil {
		return nil, err
	}
	if s.KeySize != 0 {
		return nil, specErr(s, "key_size is %d, %s maps have no keys (0)", s.KeySize, s.Type)
	}
	if s.ValueSize == 0 {
		return nil, specErr(s, "value_size must not be 0")
	}
	if s.ValueSize > kmallocMax {
		return nil, specErrno(ErrFull, s, "value_size %d is too large: %s values have at most %d bytes (KMALLOC_MAX_SIZE)", s.ValueSize, s.Type, kmallocMax)
	}
	q := &queue{
		stack: s.Type == ebpf.Stack,
		size:  int(s.ValueSize),
	}
	total := satMul(uint64(s.MaxEntries), uint64(s.ValueSize))
	if err := q.reserve(s, heapBytes(total), fmt.Sprintf("%s of %d bytes", plural(uint64(s.MaxEntries), "value", "values"), s.ValueSize)); err != nil {
		return nil, err
	}
	q.buf = make([]byte, total)
	q.init(s, q)
	return q, nil
}

// at returns value i counted from the oldest.
func (q *queue) at(i int) []byte {
	j := (q.head + i) % int(q.spec.MaxEntries)
	return q.buf[j*q.size : (j+1)*q.size]
}

// Push adds a value.
func (q *queue) Push(value []byte, flags uint64) error {
	if flags&UpdateNoExist != 0 || flags > UpdateExist {
		return Errorf(ErrInvalid, "push flags %#x: want 0 or BPF_EXIST", flags)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.count == int(q.spec.MaxEntries) {
		if flags&UpdateExist == 0 {
			return Errorf(ErrFull, "%s is full (%d entries)", q.spec.Type, q.count)
		}
		q.head = (q.head + 1) % int(q.spec.MaxEntries)
		q.count--
	}
	copy(q.at(q.count), value[:q.size])
	q.count++
	return nil
}

// get is pop (remove) or peek. On an empty map value is zeroed, as the
// kernel does.
func (q *queue) get(value []byte, remove bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.count == 0 {
		clear(value[:q.size])
		return ErrKeyNotExist
	}
	i := 0
	if q.stack {
		i = q.count - 1
	}
	copy(value, q.at(i))
	if remove {
		if !q.stack {
			q.head = (q.head + 1) % int(q.spec.MaxEntries)
		}
		q.count--
	}
	return nil
}

// Pop removes the next value (oldest for queues, newest for stacks).
func (q *queue) Pop(value []byte) error { return q.get(value, true) }

// Peek reads the next value without removing it.
func (q *queue) Peek(value []byte) error { return q.get(value, false) }

// Lookup returns nil: programs use peek.
func (q *queue) Lookup(key []byte, cpu int) unsafe.Pointer { return nil }

// Update fails with EINVAL, as queue_stack_map_update_elem does.
func (q *queue) Update(key, value []byte, flags uint64, cpu int) error {
	return Errorf(ErrInvalid, "%s maps are updated with push", q.spec.Type)
}

// Delete fails with EINVAL.
func (q *queue) Delete(key []byte) error {
	return Errorf(ErrInvalid, "%s maps have no keys to delete", q.spec.Type)
}

// LookupUser peeks.
func (q *queue) LookupUser(key, value []byte) error {
	if err := q.checkUser(key, value); err != nil {
		return err
	}
	return q.Peek(value)
}

// UpdateUser pushes.
func (q *queue) UpdateUser(key, value []byte, flags uint64) error {
	if err := q.checkUser(key, value); err != nil {
		return err
	}
	return q.Push(value, flags)
}

// LookupAndDeleteUser pops.
func (q *queue) LookupAndDeleteUser(key, value []byte) error {
	if err := q.checkUser(key, value); err != nil {
		return err
	}
	return q.Pop(value)
}

// NextKey fails with EINVAL: there are no keys.
func (q *queue) NextKey(key, next []byte) error {
	return Errorf(ErrInvalid, "%s maps have no keys", q.spec.Type)
}

// Regions is empty.
func (q *queue) Regions() []memory.Region { return nil }
