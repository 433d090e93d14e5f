package waggle

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf"
)

// TestMapObjects lists the programs of the tail_calls example's prog
// array (filled by the object), after a slot is emptied from Go, and the
// inner maps of maps of maps.
func TestMapObjects(t *testing.T) {
	spec, err := LoadCollectionSpec("examples/tail_calls/tail_calls.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	key := func(k uint32) []byte { return binary.NativeEndian.AppendUint32(nil, k) }
	for _, tc := range []struct {
		name  string
		del   []uint32
		want  []MapObject
		empty bool
	}{
		{name: "filled", want: []MapObject{{key(1), "handle_icmp"}, {key(6), "handle_tcp"}, {key(17), "handle_udp"}}},
		{name: "slot 6 emptied", del: []uint32{6}, want: []MapObject{{key(1), "handle_icmp"}, {key(17), "handle_udp"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range tc.del {
				if err := coll.Maps["handlers"].Delete(k); err != nil {
					t.Fatal(err)
				}
			}
			got, err := coll.Maps["handlers"].Objects()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if !bytes.Equal(got[i].Key, tc.want[i].Key) || got[i].Name != tc.want[i].Name {
					t.Errorf("entry %d: %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	// A map that holds bytes has no objects.
	if got, err := coll.Maps["counts"].Objects(); got != nil || err != nil {
		t.Errorf("counts: %v, %v", got, err)
	}

	innerSpec := &ebpf.MapSpec{Name: "inner", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}
	for _, typ := range []ebpf.MapType{ebpf.ArrayOfMaps, ebpf.HashOfMaps} {
		outer := newTestMap(t, &ebpf.MapSpec{Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: innerSpec})
		if err := outer.Put(uint32(1), newTestMap(t, innerSpec)); err != nil {
			t.Fatal(err)
		}
		got, err := outer.Objects()
		if err != nil || len(got) != 1 || got[0].Name != "inner" || !bytes.Equal(got[0].Key, key(1)) {
			t.Errorf("%v: %v, %v", typ, got, err)
		}
	}
}
