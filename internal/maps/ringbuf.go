package maps

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Ring buffer record header bits and query flags, as in the kernel's UAPI.
const (
	RingBusyBit    = 1 << 31 // BPF_RINGBUF_BUSY_BIT
	RingDiscardBit = 1 << 30 // BPF_RINGBUF_DISCARD_BIT
	RingHeaderSize = 8       // BPF_RINGBUF_HDR_SZ

	RingAvailData = 0 // BPF_RB_AVAIL_DATA
	RingSize      = 1 // BPF_RB_RING_SIZE
	RingConsPos   = 2 // BPF_RB_CONS_POS
	RingProdPos   = 3 // BPF_RB_PROD_POS
)

// ErrCanceled is returned by a ring buffer read whose done channel closed
// before a record arrived.
var ErrCanceled = errors.New("ring buffer read canceled")

// RingReader is implemented by the ring buffers of this package: ReadInto
// is RingBuffer.Read that reuses buf's memory for the record and also
// reports how many bytes are left in the ring after it.
type RingReader interface {
	ReadInto(buf []byte, done <-chan struct{}) (rec []byte, remaining int, err error)
}

// ringBuf is BPF_MAP_TYPE_RINGBUF. Its value memory is the data area of
// max_entries bytes. Producer and consumer positions grow without bound
// as in the kernel (a record sits at pos mod size); each record is an 8-byte
// header (u32 length with the busy and discard bits, u32 page offset)
// followed by the data, padded to 8 bytes.
//
// Every record is contiguous in the data area, so a program writes a
// reserved record in place through one pointer: when a record does not fit
// between the producer position and the end of the area, a discarded padding
// record fills the rest of the area and the record starts at offset 0. The
// kernel maps the area twice instead, so near the end of the area a
// reservation can fail here that would succeed in the kernel; the ring
// otherwise has the kernel's capacity: the producer may run at most size-1
// bytes ahead of the consumer.
//
// The headers are written for fidelity, but the bookkeeping that reading
// relies on is kept in Go memory (recs), so a program that scribbles over
// a header cannot confuse the reader. A mutex serializes reservations,
// commits and reads; readers wait on a channel that commits close.
type ringBuf struct {
	base
	size    uint64
	mask    uint64
	vals    values
	regions []memory.Region

	cons, prod atomic.Uint64 // written under mu

	mu     sync.Mutex
	recs   recQueue
	wake   chan struct{} // closed by the next commit; nil if no one waits
	closed bool
}

// Record states.
const (
	recBusy uint8 = iota
	recCommitted
	recDiscarded
)

// ringRec is an outstanding record.
type ringRec struct {
	pos   uint64
	len   uint32 // data bytes
	total uint32 // bytes of the area it takes: header, data, alignment
	state uint8
}

// recQueue is a growable ring of records in position order.
type recQueue struct {
	buf  []ringRec
	head int
	n    int
}

// push appends r; the queue has room for it (see ringBuf.roomForRecords).
func (q *recQueue) push(r ringRec) {
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = r
	q.n++
}

// resize moves the records to a buffer of size (a power of 2) records.
func (q *recQueue) resize(size int) {
	nb := make([]ringRec, size)
	for i := range q.n {
		nb[i] = *q.at(i)
	}
	q.buf, q.head = nb, 0
}

// recQueueBytes is what a record queue of size records takes.
func recQueueBytes(size int) uint64 {
	return heapBytes(uint64(size) * uint64(unsafe.Sizeof(ringRec{})))
}

// roomForRecords makes room for k more records, charging the map's budget
// for a larger queue; it reports false if the budget does not cover it.
// The records waiting to be read are at most one per 8 bytes of the ring,
// but rings are usually far from that full, so the queue is charged as it
// grows rather than for the worst case.
func (r *ringBuf) roomForRecords(k int) bool {
	q := &r.recs
	if q.n+k <= len(q.buf) {
		return true
	}
	size := max(16, 2*len(q.buf))
	for size < q.n+k {
		size *= 2
	}
	if !r.grow(recQueueBytes(size)) {
		return false
	}
	old := recQueueBytes(len(q.buf))
	q.resize(size)
	r.shrink(old)
	return true
}

func (q *recQueue) at(i int) *ringRec { return &q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *recQueue) pop() {
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
}

func newRingBuf(s *Spec) (Map, error) {
	if err := checkFlags(s, ringCreateFlags); err != nil {
		return nil, err
	}
	if s.KeySize != 0 || s.ValueSize != 0 {
		return nil, specErr(s, "key_size and value_size are %d and %d, ring buffers have neither (0)", s.KeySize, s.ValueSize)
	}
	n := uint64(s.MaxEntries)
	if n&(n-1) != 0 || n%pageSize != 0 {
		return nil, specErr(s, "max_entries %d must be a power of 2 and a multiple of the page size (%d)", n, pageSize)
	}
	r := &ringBuf{size: n, mask: n - 1}
	if err := r.reserve(s, heapBytes(n), fmt.Sprintf("a data area of %d bytes", n)); err != nil {
		return nil, err
	}
	r.vals = newValues(1, n)
	r.regions = r.vals.regions()
	r.onFree = r.shutdown
	r.init(s, r)
	return r, nil
}

// storeHeader writes a record header into the data area.
//
//go:norace
func storeHeader(p unsafe.Pointer, lenFlags, pgOff uint32) {
	*(*uint32)(p) = lenFlags
	*(*uint32)(unsafe.Add(p, 4)) = pgOff
}

// header writes the header of the record at off.
func (r *ringBuf) header(off uint64, lenFlags uint32) {
	storeHeader(unsafe.Add(r.vals.base, off), lenFlags, uint32(off/pageSize))
}

// Reserve is ringbuf_reserve: the address of size bytes of a new record,
// or nil if the ring has no room for it.
func (r *ringBuf) Reserve(size uint64) unsafe.Pointer {
	if size > maxRingRecord {
		return nil
	}
	need := align8(size + RingHeaderSize)
	if need > r.mask {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	prod, cons := r.prod.Load(), r.cons.Load()
	off := prod & r.mask
	var pad uint64
	if off+need > r.size {
		pad = r.size - off
		if r.recs.n == 0 {
			// The ring is empty: skip to the start of the area
			// as if a padding record had been read already.
			prod += pad
			r.cons.Store(prod)
			cons, off, pad = prod, 0, 0
		}
	}
	if prod+pad+need-cons > r.mask {
		return nil
	}
	if !r.roomForRecords(2) {
		return nil
	}
	if pad > 0 {
		r.header(off, uint32(pad-RingHeaderSize)|RingDiscardBit)
		r.recs.push(ringRec{pos: prod, total: uint32(pad), state: recDiscarded})
		prod += pad
		off = 0
	}
	r.header(off, uint32(size)|RingBusyBit)
	r.recs.push(ringRec{pos: prod, len: uint32(size), total: uint32(need), state: recBusy})
	r.prod.Store(prod + need)
	return unsafe.Add(r.vals.base, off+RingHeaderSize)
}

// Commit is ringbuf_submit (discard false) and ringbuf_discard.
func (r *ringBuf) Commit(p unsafe.Pointer, discard bool) error {
	off := uint64(uintptr(p)) - uint64(uintptr(r.vals.base)) - RingHeaderSize
	if off >= r.size || off%8 != 0 {
		return Errorf(ErrInvalid, "%#x is not a record of ring buffer %q", uintptr(p), r.spec.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := r.recs.n - 1; i >= 0; i-- {
		rec := r.recs.at(i)
		if rec.pos&r.mask != off || rec.state != recBusy {
			continue
		}
		if discard {
			rec.state = recDiscarded
			r.header(off, rec.len|RingDiscardBit)
		} else {
			rec.state = recCommitted
			r.header(off, rec.len)
		}
		if r.recs.at(0).state != recBusy {
			r.notify()
		}
		return nil
	}
	return Errorf(ErrInvalid, "%#x is not a reserved record of ring buffer %q", uintptr(p), r.spec.Name)
}

// notify wakes the waiting readers; the caller holds mu.
func (r *ringBuf) notify() {
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
}

// Output is ringbuf_output: it copies data into a new record. A full ring
// gives EAGAIN.
func (r *ringBuf) Output(data []byte) error {
	p := r.Reserve(uint64(len(data)))
	if p == nil {
		return Errorf(ErrAgain, "ring buffer %q has no room for %d bytes", r.spec.Name, len(data))
	}
	copyToValue(p, data)
	return r.Commit(p, false)
}

// Query is ringbuf_query; unknown flags give 0.
func (r *ringBuf) Query(flag uint64) uint64 {
	switch flag {
	case RingAvailData:
		// Load cons first: prod only grows, so the difference never
		// goes negative.
		cons := r.cons.Load()
		return r.prod.Load() - cons
	case RingSize:
		return r.size
	case RingConsPos:
		return r.cons.Load()
	case RingProdPos:
		return r.prod.Load()
	}
	return 0
}

// Read waits for the next committed record and returns a copy of it.
func (r *ringBuf) Read(done <-chan struct{}) ([]byte, error) {
	rec, _, err := r.ReadInto(nil, done)
	return rec, err
}

// ReadInto waits for the next committed record and copies it into buf's
// memory, skipping discarded records. It returns ErrClosed once the map is
// closed and ErrCanceled when done closes first.
func (r *ringBuf) ReadInto(buf []byte, done <-chan struct{}) ([]byte, int, error) {
	for {
		r.mu.Lock()
		for r.recs.n > 0 {
			rec := r.recs.at(0)
			if rec.state == recBusy {
				break
			}
			st, pos, n, total := rec.state, rec.pos, int(rec.len), uint64(rec.total)
			r.recs.pop()
			if st == recCommitted {
				buf = slices.Grow(buf[:0], n)[:n]
				copyFromValue(buf, unsafe.Add(r.vals.base, pos&r.mask+RingHeaderSize))
			}
			cons := r.cons.Add(total)
			if st == recCommitted {
				remaining := int(r.prod.Load() - cons)
				r.mu.Unlock()
				return buf, remaining, nil
			}
		}
		if r.closed {
			r.mu.Unlock()
			return nil, 0, ErrClosed
		}
		if r.wake == nil {
			r.wake = make(chan struct{})
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-done:
			return nil, 0, ErrCanceled
		}
	}
}

// shutdown wakes readers for good once the map is released.
func (r *ringBuf) shutdown() {
	r.mu.Lock()
	r.closed = true
	r.notify()
	r.mu.Unlock()
}

// Lookup returns nil: records are reached through reserve.
func (r *ringBuf) Lookup(key []byte, cpu int) unsafe.Pointer { return nil }

// Update is not supported.
func (r *ringBuf) Update(key, value []byte, flags uint64, cpu int) error {
	return Errorf(ErrNotSupp, "ring buffers have no elements")
}

// Delete is not supported.
func (r *ringBuf) Delete(key []byte) error {
	return Errorf(ErrNotSupp, "ring buffers have no elements")
}

// LookupUser is not supported.
func (r *ringBuf) LookupUser(key, value []byte) error {
	return Errorf(ErrNotSupp, "ring buffers have no elements")
}

// UpdateUser is not supported.
func (r *ringBuf) UpdateUser(key, value []byte, flags uint64) error {
	return Errorf(ErrNotSupp, "ring buffers have no elements")
}

// NextKey is not supported.
func (r *ringBuf) NextKey(key, next []byte) error {
	return Errorf(ErrNotSupp, "ring buffers have no keys")
}

// Regions is the data area.
func (r *ringBuf) Regions() []memory.Region { return r.regions }
