package memory

import (
	"fmt"
	"testing"
)

// withShared makes n shared regions of 64 bytes for the test, removed at
// its end, and returns them.
func withShared(tb testing.TB, n int) []Region {
	tb.Helper()
	var rs []Region
	for range n {
		r := NewRegion(make([]byte, 64), true, KindMapValue)
		AddShared(r)
		rs = append(rs, r)
	}
	tb.Cleanup(func() {
		for _, r := range rs {
			RemoveShared(r.Start)
		}
	})
	return rs
}

// TestSharedLookup: every byte of every shared region is found, with its
// permission; addresses between and around them are not.
func TestSharedLookup(t *testing.T) {
	rs := withShared(t, 50)
	SetSharedWritable(rs[7].Start, false)
	for i, r := range rs {
		for _, off := range []uint64{0, 1, 63} {
			got := FindShared(r.Start+off, 1)
			if got == nil || got.Start != r.Start {
				t.Fatalf("region %d, offset %d: found %v", i, off, got)
			}
			if got.Writable != (i != 7) {
				t.Fatalf("region %d: writable %v", i, got.Writable)
			}
		}
		if got := FindShared(r.Start+60, 8); got != nil {
			t.Fatalf("region %d: an access past its end found %v", i, got)
		}
		if got := FindShared(r.Start-1, 1); got != nil && got.Start <= r.Start-1 && r.Start-1 < got.End() {
			// The byte below may belong to another region: only then is it found.
		} else if got != nil {
			t.Fatalf("region %d: the byte below found %v", i, got)
		}
		if got := FindShared(r.Start+64, 1); got != nil && (r.Start+64 < got.Start || r.Start+64 >= got.End()) {
			t.Fatalf("region %d: the byte past its end found %v", i, got)
		}
	}
	RemoveShared(rs[3].Start)
	if got := FindShared(rs[3].Start, 1); got != nil && got.Start == rs[3].Start {
		t.Fatal("a removed region is still found")
	}
	if got := FindShared(0, 1); got != nil {
		t.Fatalf("address 0 found %v", got)
	}
}

// BenchmarkSharedLookup looks up an address in the last of n shared
// regions (the values of n live maps).
func BenchmarkSharedLookup(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			rs := withShared(b, n)
			addr := rs[len(rs)-1].Start + 8
			for b.Loop() {
				if FindShared(addr, 8) == nil {
					b.Fatal("not found")
				}
			}
		})
	}
}
