package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

func newRing(t *testing.T, size uint32) (RingBuffer, RingReader) {
	m := mustNew(t, Spec{Name: "events", Type: ebpf.RingBuf, MaxEntries: size})
	return m.(RingBuffer), m.(RingReader)
}

// reserveWrite reserves a record and fills it with data.
func reserveWrite(t *testing.T, r RingBuffer, data []byte) unsafe.Pointer {
	t.Helper()
	p := r.Reserve(uint64(len(data)))
	if p == nil {
		t.Fatalf("reserve %d bytes failed", len(data))
	}
	if !inRegions(r, p, max(len(data), 1)) {
		t.Fatalf("record at %p is not inside the ring's regions", p)
	}
	copyToValue(p, data)
	return p
}

// tryRead reads a record without waiting.
func tryRead(r RingBuffer) ([]byte, error) {
	done := make(chan struct{})
	close(done)
	return r.Read(done)
}

func mustRead(t *testing.T, r RingBuffer, want []byte) {
	t.Helper()
	got, err := tryRead(r)
	if err != nil {
		t.Fatalf("read: %v (want %q)", err, want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
}

func TestRingBufBasics(t *testing.T) {
	r, _ := newRing(t, 4096)
	if r.Query(RingSize) != 4096 || r.Query(RingAvailData) != 0 || r.Query(RingProdPos) != 0 || r.Query(99) != 0 {
		t.Fatal("query on an empty ring")
	}
	if _, err := tryRead(r); !errors.Is(err, ErrCanceled) {
		t.Fatalf("read on an empty ring: %v", err)
	}

	a := reserveWrite(t, r, []byte("first"))  // 8 + 5 → 16 bytes
	b := reserveWrite(t, r, []byte("second")) // 16 bytes
	c := reserveWrite(t, r, []byte("third!")) // 16 bytes
	if got := r.Query(RingProdPos); got != 48 {
		t.Fatalf("producer position %d, want 48", got)
	}
	if got := r.Query(RingAvailData); got != 48 {
		t.Fatalf("available data %d, want 48", got)
	}
	// The header precedes the data: length with the busy bit.
	hdr := readPtr(unsafe.Add(a, -8), 4)
	if got := binary.NativeEndian.Uint32(hdr); got != 5|RingBusyBit {
		t.Fatalf("header %#x, want %#x", got, 5|RingBusyBit)
	}

	// Records are read in reservation order: b cannot be read before a.
	checkErr(t, "commit b", r.Commit(b, false), 0)
	if _, err := tryRead(r); !errors.Is(err, ErrCanceled) {
		t.Fatalf("read past a busy record: %v", err)
	}
	checkErr(t, "discard a", r.Commit(a, true), 0)
	checkErr(t, "commit a again", r.Commit(a, false), errno.EINVAL)
	checkErr(t, "commit foreign pointer", r.Commit(unsafe.Pointer(&hdr[0]), false), errno.EINVAL)
	checkErr(t, "commit misaligned", r.Commit(unsafe.Add(c, 1), false), errno.EINVAL)
	mustRead(t, r, []byte("second"))
	if got := r.Query(RingConsPos); got != 32 {
		t.Fatalf("consumer position %d, want 32 (past the discarded record)", got)
	}
	checkErr(t, "commit c", r.Commit(c, false), 0)
	checkErr(t, "output", r.Output([]byte("out")), 0)
	mustRead(t, r, []byte("third!"))
	mustRead(t, r, []byte("out"))
	if r.Query(RingAvailData) != 0 {
		t.Fatal("data left")
	}
	// Empty records work.
	checkErr(t, "output empty", r.Output(nil), 0)
	mustRead(t, r, []byte{})
}

func TestRingBufLimits(t *testing.T) {
	r, _ := newRing(t, 4096)
	// The producer may run at most size-1 bytes ahead of the consumer.
	if r.Reserve(4096-8) != nil || r.Reserve(4096) != nil || r.Reserve(1<<40) != nil {
		t.Fatal("reserved a record as large as the ring")
	}
	p := r.Reserve(4096 - 16) // 4088 bytes with the header
	if p == nil {
		t.Fatal("could not reserve the largest record")
	}
	if r.Reserve(0) != nil {
		t.Fatal("reserved in a full ring")
	}
	checkErr(t, "output to full ring", r.Output([]byte{1}), errno.EAGAIN)
	checkErr(t, "commit", r.Commit(p, false), 0)
	if got, err := tryRead(r); err != nil || len(got) != 4080 {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	// After 4088 bytes, a 16-byte record fits before the end of the area
	// and the next one wraps: everything stays contiguous.
	for i := range 10 {
		data := bytes.Repeat([]byte{byte(i)}, 100)
		checkErr(t, "output", r.Output(data), 0)
		mustRead(t, r, data)
	}
}

func TestRingBufWraparound(t *testing.T) {
	r, _ := newRing(t, 4096)
	rng := rand.New(rand.NewPCG(3, 4))
	var pending [][]byte // written, not read yet, in order
	next := 0
	for i := range 20000 {
		if rng.IntN(2) == 0 {
			n := rng.IntN(700)
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(next + j)
			}
			next++
			p := r.Reserve(uint64(n))
			if p == nil {
				if r.Query(RingAvailData) == 0 {
					t.Fatalf("op %d: reserve %d bytes failed on an empty ring", i, n)
				}
				continue
			}
			if !inRegions(r, p, max(n, 1)) {
				t.Fatalf("op %d: record outside the data area", i)
			}
			copyToValue(p, data)
			if rng.IntN(4) == 0 {
				checkErr(t, "discard", r.Commit(p, true), 0)
				continue
			}
			checkErr(t, "commit", r.Commit(p, false), 0)
			pending = append(pending, data)
			continue
		}
		got, err := tryRead(r)
		if len(pending) == 0 {
			if !errors.Is(err, ErrCanceled) {
				t.Fatalf("op %d: read from an empty ring: %q, %v", i, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, pending[0]) {
			t.Fatalf("op %d: read %d bytes (%v), want %d bytes", i, len(got), err, len(pending[0]))
		}
		pending = pending[1:]
	}
	if r.Query(RingProdPos) < 10*4096 {
		t.Fatalf("the test did not wrap around the ring often (%d bytes)", r.Query(RingProdPos))
	}
}

func TestRingBufBlockingRead(t *testing.T) {
	r, _ := newRing(t, 8192)
	var wg sync.WaitGroup
	got := make(chan string, 100)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			rec, err := r.Read(nil)
			if errors.Is(err, ErrClosed) {
				close(got)
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			got <- string(rec)
		}
	}()
	// Concurrent producers.
	var pw sync.WaitGroup
	for w := range 4 {
		pw.Add(1)
		go func() {
			defer pw.Done()
			for i := 0; i < 25; {
				if err := r.Output(fmt.Appendf(nil, "w%d-%d", w, i)); errors.Is(err, errno.EAGAIN) {
					time.Sleep(time.Millisecond)
					continue
				}
				i++
			}
		}()
	}
	pw.Wait()
	seen := map[string]bool{}
	for len(seen) < 100 {
		select {
		case s := <-got:
			seen[s] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d records arrived", len(seen))
		}
	}
	r.Close()
	wg.Wait()
	if _, ok := <-got; ok {
		t.Fatal("records after close")
	}
	if _, err := r.Read(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestRingBufReadCancel(t *testing.T) {
	r, rr := newRing(t, 4096)
	done := make(chan struct{})
	errc := make(chan error)
	go func() {
		_, _, err := rr.ReadInto(nil, done)
		errc <- err
	}()
	select {
	case err := <-errc:
		t.Fatalf("read returned early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(done)
	if err := <-errc; !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled read: %v", err)
	}
	// ReadInto reuses the buffer and reports what is left.
	checkErr(t, "output", r.Output([]byte("abc")), 0)
	checkErr(t, "output", r.Output([]byte("defgh")), 0)
	buf := make([]byte, 0, 64)
	rec, remaining, err := rr.ReadInto(buf, nil)
	if err != nil || string(rec) != "abc" || remaining != 16 || &rec[0] != &buf[:1][0] {
		t.Fatalf("ReadInto = %q, %d, %v", rec, remaining, err)
	}
}
