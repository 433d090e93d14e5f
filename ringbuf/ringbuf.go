// Package ringbuf reads the records that programs write to a
// BPF_MAP_TYPE_RINGBUF map (bpf_ringbuf_output, bpf_ringbuf_reserve and
// bpf_ringbuf_submit). Its API is modelled on github.com/cilium/ebpf/ringbuf.
package ringbuf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

var (
	// ErrClosed is returned by Read and ReadInto once the Reader or its
	// map is closed.
	ErrClosed = os.ErrClosed
	// ErrFlushed is returned by Read and ReadInto after Flush, once the
	// records that were in the ring have been read.
	ErrFlushed = errors.New("ring buffer flushed")
)

// Record is a record read from the ring.
type Record struct {
	// RawSample is the record's data.
	RawSample []byte
	// Remaining is the number of bytes still in the ring after this
	// record was read (at least; programs may add more meanwhile).
	Remaining int
}

// closedChan is a channel that is always closed: reads with it as their
// done channel do not block.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Reader reads records from a ring buffer map. Its methods are safe for
// concurrent use; reads are serialized.
type Reader struct {
	ring   maps.RingBuffer
	reader maps.RingReader
	size   int

	mu sync.Mutex // held by a read for its whole duration

	st       sync.Mutex // protects the fields below
	closed   bool
	flush    bool
	deadline time.Time
	changed  chan struct{} // closed (and replaced) when the fields change
}

// NewReader returns a reader of the ring buffer map m.
func NewReader(m *waggle.Map) (*Reader, error) {
	if m == nil {
		return nil, errors.New("ringbuf: nil map")
	}
	if m.Type() != ebpf.RingBuf {
		return nil, fmt.Errorf("ringbuf: map %s is a %s, not a ring buffer", m.Name(), m.Type())
	}
	impl := maps.ByHandle(m.Handle())
	if impl == nil {
		return nil, fmt.Errorf("ringbuf: map %s: %w", m.Name(), ErrClosed)
	}
	ring, ok := impl.(maps.RingBuffer)
	reader, ok2 := impl.(maps.RingReader)
	if !ok || !ok2 {
		return nil, fmt.Errorf("ringbuf: map %s cannot be read", m.Name())
	}
	return &Reader{
		ring:    ring,
		reader:  reader,
		size:    int(m.MaxEntries()),
		changed: make(chan struct{}),
	}, nil
}

// poke wakes a read in progress so that it looks at the reader's state
// again.
func (r *Reader) poke() {
	r.st.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.st.Unlock()
}

// Close closes the reader and interrupts a Read in progress, which then
// returns ErrClosed. It does not close the map.
func (r *Reader) Close() error {
	r.st.Lock()
	if r.closed {
		r.st.Unlock()
		return nil
	}
	r.closed = true
	close(r.changed)
	r.changed = make(chan struct{})
	r.st.Unlock()
	// Wait for a read in progress to notice.
	r.mu.Lock()
	//lint:ignore SA2001 waiting for a read in progress to end
	r.mu.Unlock()
	return nil
}

// SetDeadline makes Read and ReadInto return os.ErrDeadlineExceeded when no
// record is available at or after t. The zero time removes the deadline. It
// applies to a read in progress too.
func (r *Reader) SetDeadline(t time.Time) {
	r.st.Lock()
	r.deadline = t
	close(r.changed)
	r.changed = make(chan struct{})
	r.st.Unlock()
}

// Flush makes reads return the records that are in the ring, then
// ErrFlushed once, instead of waiting for more.
func (r *Reader) Flush() error {
	r.st.Lock()
	r.flush = true
	close(r.changed)
	r.changed = make(chan struct{})
	r.st.Unlock()
	return nil
}

// BufferSize is the size of the ring's data area in bytes.
func (r *Reader) BufferSize() int { return r.size }

// AvailableBytes is the number of bytes in the ring not yet read (records
// still being written included).
func (r *Reader) AvailableBytes() int { return int(r.ring.Query(maps.RingAvailData)) }

// Read waits for the next record and returns it. Records that programs
// discarded are skipped; records are returned in the order they were
// reserved, so one that is still being written holds back those after it.
func (r *Reader) Read() (Record, error) {
	var rec Record
	err := r.ReadInto(&rec)
	return rec, err
}

// ReadInto is Read into rec, reusing rec.RawSample's memory.
func (r *Reader) ReadInto(rec *Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		r.st.Lock()
		closed, flush, deadline, changed := r.closed, r.flush, r.deadline, r.changed
		r.st.Unlock()
		if closed {
			return fmt.Errorf("ringbuf: %w", ErrClosed)
		}
		expired := !deadline.IsZero() && !time.Now().Before(deadline)
		if flush || expired {
			// Return what is there without waiting.
			err := r.readOne(rec, closedChan)
			if !errors.Is(err, maps.ErrCanceled) {
				return err
			}
			if flush {
				r.st.Lock()
				r.flush = false
				r.st.Unlock()
				return ErrFlushed
			}
			return os.ErrDeadlineExceeded
		}
		var timer *time.Timer
		if !deadline.IsZero() {
			timer = time.AfterFunc(time.Until(deadline), r.poke)
		}
		err := r.readOne(rec, changed)
		if timer != nil {
			timer.Stop()
		}
		if !errors.Is(err, maps.ErrCanceled) {
			return err
		}
	}
}

// readOne reads a record, waiting until done closes.
func (r *Reader) readOne(rec *Record, done <-chan struct{}) error {
	buf, remaining, err := r.reader.ReadInto(rec.RawSample, done)
	switch {
	case err == nil:
		rec.RawSample, rec.Remaining = buf, remaining
		return nil
	case errors.Is(err, maps.ErrClosed):
		return fmt.Errorf("ringbuf: map closed: %w", ErrClosed)
	}
	return err
}
