package memory

import (
	"math"
	"strings"
	"testing"
)

func TestRegionPointer(t *testing.T) {
	buf := make([]byte, 16)
	r := NewRegion(buf, true, KindContext)
	for _, tc := range []struct {
		name string
		addr uint64
		n    uint64
		ok   bool
	}{
		{"first byte", r.Start, 1, true},
		{"whole", r.Start, 16, true},
		{"last byte", r.Start + 15, 1, true},
		{"last 8 bytes", r.Start + 8, 8, true},
		{"one past the end", r.Start + 16, 1, false},
		{"runs one byte past the end", r.Start + 9, 8, false},
		{"one before the start", r.Start - 1, 1, false},
		{"straddles the start", r.Start - 1, 2, false},
		{"longer than the region", r.Start, 17, false},
		{"wraps around", math.MaxUint64, 2, false},
		{"zero address", 0, 1, false},
	} {
		if got := r.Pointer(tc.addr, tc.n) != nil; got != tc.ok {
			t.Errorf("%s: Pointer(%#x, %d) ok = %v, want %v", tc.name, tc.addr, tc.n, got, tc.ok)
		}
	}
	var empty Region
	if empty.Pointer(0, 1) != nil || empty.Pointer(0, 0) != nil {
		t.Error("the empty region allowed an access")
	}
}

func TestLookupExplains(t *testing.T) {
	ctx := NewRegion(make([]byte, 16), false, KindContext)
	var m Memory
	m.Add(ctx)
	m.Add(NewRegion(nil, true, KindPacket)) // empty: not added
	if len(m.Regions) != 1 {
		t.Fatalf("empty region was added: %d regions", len(m.Regions))
	}
	for _, tc := range []struct {
		name   string
		addr   uint64
		n      uint64
		access Access
		want   string // "" for success
	}{
		{"read inside", ctx.Start + 4, 4, Read, ""},
		{"write read-only", ctx.Start, 1, Write, "read-only"},
		{"atomic read-only", ctx.Start, 8, Atomic, "read-only"},
		{"just past the end", ctx.End(), 1, Read, "just past the end of the context"},
		{"runs past the end", ctx.Start + 12, 8, Read, "runs 4 bytes past the end"},
		{"far past the end", ctx.End() + 100, 1, Read, "100 bytes past the end"},
		{"below", ctx.Start - 10, 1, Read, "10 bytes below the context"},
		{"straddles the start", ctx.Start - 2, 4, Read, "starts 2 bytes before"},
		{"wraps", math.MaxUint64 - 1, 4, Read, "wraps around"},
	} {
		_, err := m.Lookup(tc.addr, tc.n, tc.access)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestSharedRegions(t *testing.T) {
	buf := make([]byte, 32)
	r := NewRegion(buf, true, KindMapValue)
	var m Memory
	if _, err := m.Lookup(r.Start, 8, Read); err == nil {
		t.Fatal("an unregistered map value was accessible")
	}
	AddShared(r)
	defer RemoveShared(r.Start)
	if _, err := m.Lookup(r.Start+24, 8, Write); err != nil {
		t.Fatalf("shared region: %v", err)
	}
	SetSharedWritable(r.Start, false)
	if _, err := m.Lookup(r.Start, 1, Write); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("write to a frozen shared region: err = %v", err)
	}
	if _, err := m.Lookup(r.Start, 1, Read); err != nil {
		t.Fatalf("read of a frozen shared region: %v", err)
	}
	RemoveShared(r.Start)
	if _, err := m.Lookup(r.Start, 1, Read); err == nil {
		t.Fatal("a removed shared region was still accessible")
	}
}

// TestAddBytes: AddBytes appends the region NewRegion describes, empty
// slices included, and returns its index.
func TestAddBytes(t *testing.T) {
	buf := make([]byte, 32)
	var m Memory
	for i, tc := range []struct {
		name     string
		b        []byte
		writable bool
		kind     Kind
	}{
		{"writable context", buf[:16], true, KindContext},
		{"read-only packet", buf[8:24], false, KindPacket},
		{"empty", buf[:0], true, KindPacket},
		{"nil", nil, false, KindContext},
		{"one byte", buf[31:], true, KindHelper},
	} {
		if got := m.AddBytes(tc.b, tc.writable, tc.kind); got != i {
			t.Errorf("%s: index %d, want %d", tc.name, got, i)
		}
		if got, want := m.Regions[i], NewRegion(tc.b, tc.writable, tc.kind); got != want {
			t.Errorf("%s: region %+v, want %+v", tc.name, got, want)
		}
	}
	if len(m.Regions) != 5 {
		t.Fatalf("%d regions, want 5", len(m.Regions))
	}
	// The empty regions are there (their index is what the caller keeps)
	// and no access hits them.
	for _, i := range []int{2, 3} {
		if r := &m.Regions[i]; r.Size != 0 || r.Pointer(r.Start, 1) != nil {
			t.Errorf("region %d: %+v, want an empty region no access hits", i, *r)
		}
	}
}
