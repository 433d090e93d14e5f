package maps

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

func TestQueueStack(t *testing.T) {
	tests := []struct {
		typ ebpf.MapType
		// values popped after pushing 1, 2, 3 into a map of 3 and then
		// pushing 4 with BPF_EXIST (drops the oldest, 1)
		want []uint32
	}{
		{ebpf.Queue, []uint32{2, 3, 4}},
		{ebpf.Stack, []uint32{4, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Type: tt.typ, ValueSize: 4, MaxEntries: 3})
			q := m.(Queue)
			v := make([]byte, 4)
			v[0] = 0xff
			checkErr(t, "pop empty", q.Pop(v), errno.ENOENT)
			if binary.NativeEndian.Uint32(v) != 0 {
				t.Fatal("pop on an empty map does not zero the value")
			}
			checkErr(t, "peek empty", q.Peek(v), errno.ENOENT)
			for i := uint32(1); i <= 3; i++ {
				checkErr(t, "push", q.Push(u32(i), 0), 0)
			}
			checkErr(t, "push full", q.Push(u32(4), 0), errno.E2BIG)
			checkErr(t, "push noexist", q.Push(u32(4), UpdateNoExist), errno.EINVAL)
			checkErr(t, "push bad flags", q.Push(u32(4), 4), errno.EINVAL)
			checkErr(t, "push exist", q.Push(u32(4), UpdateExist), 0)
			checkErr(t, "peek", m.LookupUser(nil, v), 0)
			if got := binary.NativeEndian.Uint32(v); got != tt.want[0] {
				t.Fatalf("peek = %d, want %d", got, tt.want[0])
			}
			for i, want := range tt.want {
				checkErr(t, "pop", m.(LookupAndDeleter).LookupAndDeleteUser(nil, v), 0)
				if got := binary.NativeEndian.Uint32(v); got != want {
					t.Fatalf("pop %d = %d, want %d", i, got, want)
				}
			}
			checkErr(t, "pop empty", q.Pop(v), errno.ENOENT)
			// Wrap around the ring many times.
			for i := range uint32(100) {
				checkErr(t, "push", m.UpdateUser(nil, u32(i), 0), 0)
				checkErr(t, "push", m.UpdateUser(nil, u32(i+1000), 0), 0)
				checkErr(t, "pop", q.Pop(v), 0)
				want := i
				if tt.typ == ebpf.Stack {
					want = i + 1000
				}
				if got := binary.NativeEndian.Uint32(v); got != want {
					t.Fatalf("round %d: pop = %d, want %d", i, got, want)
				}
				checkErr(t, "pop", q.Pop(v), 0)
			}
			checkErr(t, "update", m.Update(nil, v, 0, 0), errno.EINVAL)
			checkErr(t, "delete", m.Delete(nil), errno.EINVAL)
			checkErr(t, "next", m.NextKey(nil, nil), errno.EINVAL)
			if m.Lookup(nil, 0) != nil || m.Regions() != nil {
				t.Fatal("queues have no addressable values")
			}
		})
	}
}

func TestBloomFilter(t *testing.T) {
	for _, hashes := range []uint64{0, 1, 3} {
		m := mustNew(t, Spec{Type: ebpf.BloomFilter, ValueSize: 8, MaxEntries: 1000, MapExtra: hashes})
		q := m.(Queue)
		for i := range uint64(1000) {
			checkErr(t, "push", q.Push(u64(i*7919), 0), 0)
		}
		checkErr(t, "push flags", q.Push(u64(1), UpdateExist), errno.EINVAL)
		for i := range uint64(1000) {
			checkErr(t, "peek (no false negatives)", q.Peek(u64(i*7919)), 0)
			checkErr(t, "lookup", m.LookupUser(nil, u64(i*7919)), 0)
		}
		fp := 0
		for i := range uint64(10000) {
			if q.Peek(u64(1<<40+i)) == nil {
				fp++
			}
		}
		// The false positive rate is about (1 - e^(-k·n/m))^k for k
		// hashes, n values and m bits.
		k := float64(hashes)
		if k == 0 {
			k = 5
		}
		bits := float64(m.(*bloom).mask + 1)
		want := math.Pow(1-math.Exp(-k*1000/bits), k) * 10000
		if float64(fp) > 1.3*want+50 {
			t.Errorf("%d hashes: %d false positives in 10000, expected about %.0f", hashes, fp, want)
		}
		checkErr(t, "pop", q.Pop(make([]byte, 8)), errno.EOPNOTSUPP)
		checkErr(t, "delete", m.Delete(nil), errno.EOPNOTSUPP)
		checkErr(t, "update", m.UpdateUser(nil, u64(5), 0), 0)
		checkErr(t, "peek", q.Peek(u64(5)), 0)
	}
}
