package maps

import (
	"testing"

	"github.com/cilium/ebpf"
)

// TestStaleHandle: the handle of a map that is gone never resolves to the
// map that takes its slot next.
func TestStaleHandle(t *testing.T) {
	spec := Spec{Name: "a", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
	a, err := New(&spec)
	if err != nil {
		t.Fatal(err)
	}
	old := a.Handle()
	if ByHandle(old) != a {
		t.Fatal("a live map's handle does not resolve to it")
	}
	a.Close()
	if ByHandle(old) != nil {
		t.Fatal("a closed map's handle still resolves")
	}
	b, err := New(&spec)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Handle() == old {
		t.Fatalf("the next map got the same handle %#x", old)
	}
	if ByHandle(old) != nil {
		t.Fatalf("the stale handle %#x resolves to the next map (%#x)", old, b.Handle())
	}
	if ByHandle(b.Handle()) != b {
		t.Fatal("the new map's handle does not resolve to it")
	}
}
