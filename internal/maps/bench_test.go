package maps

import (
	"testing"

	"github.com/cilium/ebpf"
)

func newBenchHash(b *testing.B, typ ebpf.MapType) (Map, [][]byte) {
	m := mustNew(b, Spec{Type: typ, KeySize: 8, ValueSize: 8, MaxEntries: 1024, CPUs: 2})
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = u64(uint64(i) * 0x9e3779b97f4a7c15)
		if err := m.UpdateUser(keys[i], u64(uint64(i)), UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	return m, keys
}

func BenchmarkHashLookup(b *testing.B) {
	for _, typ := range []ebpf.MapType{ebpf.Hash, ebpf.LRUHash, ebpf.PerCPUHash} {
		b.Run(typ.String(), func(b *testing.B) {
			m, keys := newBenchHash(b, typ)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if m.Lookup(keys[i&1023], 0) == nil {
					b.Fatal("miss")
				}
			}
		})
	}
}

func BenchmarkHashLookupMiss(b *testing.B) {
	m, _ := newBenchHash(b, ebpf.Hash)
	key := u64(1)
	for i := 0; i < b.N; i++ {
		if m.Lookup(key, 0) != nil {
			b.Fatal("hit")
		}
	}
}

func BenchmarkHashLookupParallel(b *testing.B) {
	m, keys := newBenchHash(b, ebpf.Hash)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if m.Lookup(keys[i&1023], 0) == nil {
				b.Fatal("miss")
			}
			i++
		}
	})
}

func BenchmarkHashUpdate(b *testing.B) {
	b.Run("existing", func(b *testing.B) {
		m, keys := newBenchHash(b, ebpf.Hash)
		v := u64(7)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := m.Update(keys[i&1023], v, UpdateAny, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert-delete", func(b *testing.B) {
		m, keys := newBenchHash(b, ebpf.Hash)
		for _, k := range keys[:512] {
			if err := m.Delete(k); err != nil {
				b.Fatal(err)
			}
		}
		v := u64(7)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := keys[i&511]
			if err := m.Update(k, v, UpdateNoExist, 0); err != nil {
				b.Fatal(err)
			}
			if err := m.Delete(k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lru-evict", func(b *testing.B) {
		m, _ := newBenchHash(b, ebpf.LRUHash)
		v := u64(7)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := m.Update(u64(uint64(i)|1<<63), v, UpdateAny, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkArrayLookup(b *testing.B) {
	m := mustNew(b, Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1024})
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = u32(uint32(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m.Lookup(keys[i&1023], 0) == nil {
			b.Fatal("miss")
		}
	}
}

func BenchmarkRingBufOutput(b *testing.B) {
	m := mustNew(b, Spec{Type: ebpf.RingBuf, MaxEntries: 1 << 16})
	r := m.(RingBuffer)
	data := make([]byte, 64)
	done := make(chan struct{})
	close(done)
	for i := 0; i < b.N; i++ {
		if err := r.Output(data); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Read(done); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLPMLookup looks an IPv4 address up among the 260 prefixes of
// the engine benchmarks' LPM trie (lpmPrefixes in bench_engines_test.go:
// 10/8, 10.1/16, 256 /24s of 10.0-3.0-63, 10.1.2.128/25, 10.1.2.0/28):
// 10.1.2.3, whose longest prefix is the /28.
func BenchmarkLPMLookup(b *testing.B) {
	m := mustNew(b, Spec{Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 1024, Flags: FlagNoPrealloc})
	put := func(plen uint32, a, b2, c, d byte) {
		if err := m.UpdateUser(cat(u32(plen), []byte{a, b2, c, d}), u32(plen), UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	put(8, 10, 0, 0, 0)
	put(16, 10, 1, 0, 0)
	put(28, 10, 1, 2, 0)
	put(25, 10, 1, 2, 128)
	for x := range 4 {
		for y := range 64 {
			put(24, 10, byte(x), byte(y), 0)
		}
	}
	key := cat(u32(32), []byte{10, 1, 2, 3})
	for b.Loop() {
		if m.Lookup(key, 0) == nil {
			b.Fatal("miss")
		}
	}
}
