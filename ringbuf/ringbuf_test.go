package ringbuf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// newRing creates a ring buffer map and returns it with its implementation,
// through which the tests play the program's part.
func newRing(t *testing.T, size uint32) (*waggle.Map, maps.RingBuffer) {
	t.Helper()
	m, err := waggle.NewMap(&ebpf.MapSpec{Name: "events", Type: ebpf.RingBuf, MaxEntries: size})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, maps.ByHandle(m.Handle()).(maps.RingBuffer)
}

func TestNewReaderErrors(t *testing.T) {
	if _, err := NewReader(nil); err == nil {
		t.Error("NewReader(nil) succeeded")
	}
	h, err := waggle.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := NewReader(h); err == nil {
		t.Error("NewReader of a hash map succeeded")
	}
	m, _ := newRing(t, 4096)
	m.Close()
	if _, err := NewReader(m); !errors.Is(err, ErrClosed) {
		t.Errorf("NewReader of a closed map: %v", err)
	}
}

func TestRead(t *testing.T) {
	m, ring := newRing(t, 4096)
	r, err := NewReader(m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.BufferSize() != 4096 || r.AvailableBytes() != 0 {
		t.Fatalf("BufferSize %d, AvailableBytes %d", r.BufferSize(), r.AvailableBytes())
	}
	if err := ring.Output([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	p := ring.Reserve(3)
	if p == nil {
		t.Fatal("reserve failed")
	}
	if err := ring.Commit(p, true); err != nil {
		t.Fatal(err)
	}
	if err := ring.Output([]byte("world!")); err != nil {
		t.Fatal(err)
	}
	if r.AvailableBytes() != 48 {
		t.Fatalf("AvailableBytes = %d, want 48", r.AvailableBytes())
	}
	rec, err := r.Read()
	if err != nil || string(rec.RawSample) != "hello" || rec.Remaining != 32 {
		t.Fatalf("Read = %q, %d, %v", rec.RawSample, rec.Remaining, err)
	}
	// The discarded record is skipped; ReadInto reuses the buffer.
	buf := rec.RawSample
	if err := r.ReadInto(&rec); err != nil || string(rec.RawSample) != "world!" || rec.Remaining != 0 {
		t.Fatalf("ReadInto = %q, %d, %v", rec.RawSample, rec.Remaining, err)
	}
	if &buf[0] != &rec.RawSample[0] {
		t.Error("ReadInto did not reuse RawSample")
	}
}

func TestReadBlocksUntilSubmit(t *testing.T) {
	m, ring := newRing(t, 4096)
	r, err := NewReader(m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make(chan Record)
	go func() {
		rec, err := r.Read()
		if err != nil {
			t.Error(err)
		}
		got <- rec
	}()
	p := ring.Reserve(4)
	select {
	case rec := <-got:
		t.Fatalf("Read returned %q before the record was submitted", rec.RawSample)
	case <-time.After(20 * time.Millisecond):
	}
	copy((*[4]byte)(p)[:], "data")
	if err := ring.Commit(p, false); err != nil {
		t.Fatal(err)
	}
	select {
	case rec := <-got:
		if string(rec.RawSample) != "data" {
			t.Fatalf("Read %q", rec.RawSample)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after the submit")
	}
}

func TestDeadline(t *testing.T) {
	m, ring := newRing(t, 4096)
	r, err := NewReader(m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	r.SetDeadline(start.Add(30 * time.Millisecond))
	if _, err := r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the deadline: %v", err)
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Fatalf("Read returned after %v, before the deadline", d)
	}
	// A past deadline still returns the records that are there.
	r.SetDeadline(time.Now().Add(-time.Second))
	if err := ring.Output([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Read(); err != nil || string(rec.RawSample) != "late" {
		t.Fatalf("Read = %q, %v", rec.RawSample, err)
	}
	if _, err := r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: %v", err)
	}
	// Setting a deadline wakes a read in progress; removing it blocks
	// again.
	r.SetDeadline(time.Time{})
	errc := make(chan error)
	go func() {
		_, err := r.Read()
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	r.SetDeadline(time.Now())
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SetDeadline did not wake the read")
	}
}

func TestClose(t *testing.T) {
	m, _ := newRing(t, 4096)
	r, err := NewReader(m)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error)
	go func() {
		_, err := r.Read()
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}

	// Closing the map wakes readers too.
	m2, _ := newRing(t, 4096)
	r2, err := NewReader(m2)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	go func() {
		_, err := r2.Read()
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	m2.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after the map's Close: %v", err)
	}
}

func TestFlush(t *testing.T) {
	m, ring := newRing(t, 4096)
	r, err := NewReader(m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 3 {
		if err := ring.Output(fmt.Appendf(nil, "r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rec, err := r.Read()
		if err != nil || string(rec.RawSample) != fmt.Sprintf("r%d", i) {
			t.Fatalf("Read %d = %q, %v", i, rec.RawSample, err)
		}
	}
	if _, err := r.Read(); !errors.Is(err, ErrFlushed) {
		t.Fatalf("Read after the flushed records: %v", err)
	}
	// Flush wakes a blocked read.
	errc := make(chan error)
	go func() {
		_, err := r.Read()
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	r.Flush()
	if err := <-errc; !errors.Is(err, ErrFlushed) {
		t.Fatalf("Read: %v", err)
	}
}

func TestManyProducers(t *testing.T) {
	m, ring := newRing(t, 1<<14)
	r, err := NewReader(m)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const producers, each = 4, 500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				rec := ring.Reserve(16)
				if rec == nil {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				copy((*[16]byte)(rec)[:], fmt.Sprintf("p%d-%011d", p, i))
				if err := ring.Commit(rec, false); err != nil {
					t.Error(err)
					return
				}
				i++
			}
		}()
	}
	seen := map[string]bool{}
	last := make([]int, producers)
	for range producers * each {
		rec, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		var p, i int
		if _, err := fmt.Sscanf(string(rec.RawSample), "p%d-%d", &p, &i); err != nil {
			t.Fatalf("record %q: %v", rec.RawSample, err)
		}
		if seen[string(rec.RawSample)] || i < last[p] {
			t.Fatalf("record %q repeated or out of order", rec.RawSample)
		}
		seen[string(rec.RawSample)], last[p] = true, i
	}
	wg.Wait()
}
