package maps

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// TestConcurrentCounters runs 8 goroutines that count, as programs do, with
// atomic adds through the pointers Lookup returns (creating the elements
// with BPF_NOEXIST when missing), while another goroutine iterates the map
// with NextKey and LookupUser and a third churns other keys. No increment
// may be lost.
func TestConcurrentCounters(t *testing.T) {
	const (
		workers = 8
		iters   = 3000
		keys    = 4
	)
	tests := []struct {
		typ    ebpf.MapType
		percpu bool
	}{
		{ebpf.Hash, false},
		{ebpf.LRUHash, false},
		{ebpf.PerCPUHash, true},
		{ebpf.LRUCPUHash, true},
		{ebpf.Array, false},
		{ebpf.PerCPUArray, true},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			s := Spec{Type: tt.typ, KeySize: 8, ValueSize: 8, MaxEntries: 64, CPUs: workers}
			if tt.typ == ebpf.Array || tt.typ == ebpf.PerCPUArray {
				s.KeySize = 4
			}
			m := mustNew(t, s)
			key := func(i int) []byte {
				if s.KeySize == 4 {
					return u32(uint32(i))
				}
				return u64(uint64(i))
			}
			zero := make([]byte, 8)
			var wg, bg sync.WaitGroup
			stop := make(chan struct{})
			// The iterator.
			bg.Add(1)
			go func() {
				defer bg.Done()
				buf := make([]byte, valueBytes(m))
				for {
					select {
					case <-stop:
						return
					default:
					}
					var k []byte
					for {
						next := make([]byte, s.KeySize)
						if err := m.NextKey(k, next); err != nil {
							break
						}
						if err := m.LookupUser(next, buf); err != nil && !errors.Is(err, errno.ENOENT) {
							t.Error(err)
						}
						k = next
					}
				}
			}()
			// Churn: other keys come and go (for arrays, other
			// indexes get overwritten).
			bg.Add(1)
			go func() {
				defer bg.Done()
				buf := make([]byte, valueBytes(m))
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					k := key(keys + i%32)
					_ = m.UpdateUser(k, buf, UpdateAny)
					_ = m.Delete(k)
				}
			}()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range iters {
						k := key(i % keys)
						p := m.Lookup(k, w)
						if p == nil {
							err := m.Update(k, zero, UpdateNoExist, w)
							if err != nil && !errors.Is(err, errno.EEXIST) {
								t.Error(err)
								return
							}
							if p = m.Lookup(k, w); p == nil {
								t.Error("element vanished")
								return
							}
						}
						atomic.AddUint64((*uint64)(p), 1)
					}
				}()
			}
			wg.Wait()
			close(stop)
			bg.Wait()
			var total uint64
			buf := make([]byte, valueBytes(m))
			for i := range keys {
				checkErr(t, "lookup", m.LookupUser(key(i), buf), 0)
				if !tt.percpu {
					total += binary.NativeEndian.Uint64(buf)
					continue
				}
				for c := range workers {
					n := binary.NativeEndian.Uint64(buf[8*c:])
					if n != iters/keys {
						t.Errorf("key %d CPU %d: %d, want %d", i, c, n, iters/keys)
					}
					total += n
				}
			}
			if total != workers*iters {
				t.Fatalf("counted %d, want %d: increments were lost", total, workers*iters)
			}
		})
	}
}

// TestConcurrentHashChurn hammers one hash map with inserts, deletes,
// lookups and iteration from many goroutines, each on its own keys, and
// checks every goroutine's view.
func TestConcurrentHashChurn(t *testing.T) {
	for _, typ := range []ebpf.MapType{ebpf.Hash, ebpf.LRUHash} {
		t.Run(typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Type: typ, KeySize: 8, ValueSize: 8, MaxEntries: 256})
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 8)
					for i := range 2000 {
						k := u64(uint64(w)<<32 | uint64(i%16))
						v := u64(uint64(w)<<32 | uint64(i))
						if err := m.Update(k, v, UpdateAny, 0); err != nil {
							t.Error(err)
							return
						}
						// LRU maps may evict the key at any time;
						// plain hash maps have room for everyone.
						if p := m.Lookup(k, 0); p != nil {
							got := binary.NativeEndian.Uint64(readPtr(p, 8))
							if got>>32 != uint64(w) {
								t.Errorf("worker %d reads another worker's value %#x", w, got)
								return
							}
						} else if typ == ebpf.Hash {
							t.Error("key vanished")
							return
						}
						if i%3 == 0 {
							err := m.Delete(k)
							if err != nil && (typ == ebpf.Hash || !errors.Is(err, errno.ENOENT)) {
								t.Error(err)
								return
							}
						}
						if i%50 == 0 {
							_ = m.NextKey(nil, buf)
							m.(Iterable).ForEach(0, func(k []byte, v unsafe.Pointer) bool { return true })
						}
					}
				}()
			}
			wg.Wait()
			keys := collectKeys(t, m)
			if len(keys) > 256 {
				t.Fatalf("%d keys", len(keys))
			}
			// Every slot is either linked or free: fill the rest.
			n := len(keys)
			for i := 0; n < 256; i++ {
				if err := m.UpdateUser(u64(1<<63|uint64(i)), u64(0), UpdateNoExist); err != nil {
					t.Fatalf("after %d keys: %v", n, err)
				}
				n++
			}
			if typ == ebpf.Hash {
				checkErr(t, "full", m.UpdateUser(u64(1<<62), u64(0), UpdateNoExist), errno.E2BIG)
			}
		})
	}
}
