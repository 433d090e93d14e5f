package maps

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// fakeProg stands for a loaded program in a prog_array.
type fakeProg struct{ name string }

func TestProgramArray(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	om := m.(ObjectMap)
	p1, p2 := &fakeProg{"a"}, &fakeProg{"b"}
	checkErr(t, "update", om.UpdateObject(u32(1), p1, UpdateAny), 0)
	checkErr(t, "update flags", om.UpdateObject(u32(2), p2, UpdateNoExist), errno.EINVAL)
	checkErr(t, "update index", om.UpdateObject(u32(4), p2, UpdateAny), errno.E2BIG)
	checkErr(t, "update nil", om.UpdateObject(u32(2), nil, UpdateAny), errno.EINVAL)
	inner := mustNew(t, Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	checkErr(t, "update map", om.UpdateObject(u32(2), inner, UpdateAny), errno.EINVAL)
	if om.LookupObject(u32(1)) != p1 || om.LookupObject(u32(0)) != nil || om.LookupObject(u32(9)) != nil {
		t.Fatal("LookupObject")
	}
	checkErr(t, "replace", om.UpdateObject(u32(1), p2, UpdateAny), 0)
	if om.LookupObject(u32(1)) != p2 {
		t.Fatal("replace did not replace")
	}
	if m.Lookup(u32(1), 0) != nil || m.Regions() != nil {
		t.Fatal("programs cannot address prog_array values")
	}
	runSteps(t, m, []step{
		{op: "lookupUser", key: u32(1), err: errno.EOPNOTSUPP},
		{op: "updateUser", key: u32(1), val: u32(1), err: errno.EOPNOTSUPP},
		{op: "update", key: u32(1), val: u32(1), err: errno.EOPNOTSUPP},
		{op: "next", key: nil, want: u32(0)},
		{op: "next", key: u32(2), want: u32(3)},
		{op: "next", key: u32(3), err: errno.ENOENT},
		{op: "delete", key: u32(0), err: errno.ENOENT},
		{op: "delete", key: u32(4), err: errno.E2BIG},
		{op: "delete", key: u32(1)},
	})
	if om.LookupObject(u32(1)) != nil {
		t.Fatal("delete did not delete")
	}
}

func TestMapsOfMaps(t *testing.T) {
	tmpl := &Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16}
	for _, typ := range []ebpf.MapType{ebpf.ArrayOfMaps, ebpf.HashOfMaps} {
		t.Run(typ.String(), func(t *testing.T) {
			outer := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 4, InnerMap: tmpl})
			om := outer.(ObjectMap)
			// Hash inner maps may differ in max_entries, as in the kernel.
			inner, err := New(&Spec{Name: "inner", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 100})
			if err != nil {
				t.Fatal(err)
			}
			h := inner.Handle()
			bad := []Spec{
				{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16},
				{Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 16},
				{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 16},
				{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16, Flags: FlagNoPrealloc},
			}
			for _, s := range bad {
				b := mustNew(t, s)
				checkErr(t, "update mismatched", om.UpdateObject(u32(0), b, UpdateAny), errno.EINVAL)
			}
			checkErr(t, "update non-map", om.UpdateObject(u32(0), &fakeProg{}, UpdateAny), errno.EINVAL)
			checkErr(t, "update", om.UpdateObject(u32(0), inner, UpdateAny), 0)
			if got := om.LookupObject(u32(0)); got != inner {
				t.Fatalf("LookupObject = %v", got)
			}
			if om.LookupObject(u32(1)) != nil {
				t.Fatal("empty slot has an object")
			}
			if typ == ebpf.HashOfMaps {
				checkErr(t, "noexist", om.UpdateObject(u32(0), inner, UpdateNoExist), errno.EEXIST)
				checkErr(t, "exist", om.UpdateObject(u32(1), inner, UpdateExist), errno.ENOENT)
				checkErr(t, "second key", om.UpdateObject(u32(1), inner, UpdateAny), 0)
				checkErr(t, "delete", outer.Delete(u32(1)), 0)
				if len(collectKeys(t, outer)) != 1 {
					t.Fatal("hash of maps keys")
				}
			}
			// The outer map keeps the inner one's handle alive after its
			// creator closes it, until the element goes.
			inner.Close()
			if ByHandle(h) != inner {
				t.Fatal("inner map unregistered while an outer map holds it")
			}
			checkErr(t, "delete", outer.Delete(u32(0)), 0)
			if ByHandle(h) != nil {
				t.Fatal("inner map still registered after its last reference went")
			}
			checkErr(t, "store closed", om.UpdateObject(u32(0), inner, UpdateAny), errno.EINVAL)

			// Closing the outer map releases its inner maps.
			inner2 := mustNew(t, Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
			checkErr(t, "update", om.UpdateObject(u32(2), inner2, UpdateAny), 0)
			h2 := inner2.Handle()
			inner2.Close()
			outer.Close()
			if ByHandle(h2) != nil {
				t.Fatal("closing the outer map did not release its inner map")
			}
		})
	}
	// Array inner maps must match max_entries unless BPF_F_INNER_MAP.
	arr := &Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16}
	outer := mustNew(t, Spec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: arr})
	small := mustNew(t, Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 8})
	checkErr(t, "array max_entries", outer.(ObjectMap).UpdateObject(u32(0), small, UpdateAny), errno.EINVAL)
	flex := &Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16, Flags: FlagInnerMap}
	outer2 := mustNew(t, Spec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: flex})
	small2 := mustNew(t, Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 8, Flags: FlagInnerMap})
	checkErr(t, "BPF_F_INNER_MAP", outer2.(ObjectMap).UpdateObject(u32(0), small2, UpdateAny), 0)
}

func TestHashOfMapsInterfaces(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2,
		InnerMap: &Spec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1}})
	if _, ok := m.(Iterable); ok {
		t.Error("hash_of_maps is Iterable")
	}
	if _, ok := m.(LookupAndDeleter); ok {
		t.Error("hash_of_maps is a LookupAndDeleter")
	}
	if _, ok := m.(ObjectMap); !ok {
		t.Error("hash_of_maps is not an ObjectMap")
	}
	if ByHandle(m.Handle()) != m {
		t.Error("registered under another value")
	}
	if m.Lookup(u32(0), 0) != nil {
		t.Error("Lookup of a map of maps returned a pointer")
	}
	checkErr(t, "update", m.Update(u32(0), u32(0), 0, 0), errno.EOPNOTSUPP)
	checkErr(t, "updateUser", m.UpdateUser(u32(0), u32(0), 0), errno.EOPNOTSUPP)
	checkErr(t, "lookupUser", m.LookupUser(u32(0), make([]byte, 4)), errno.EOPNOTSUPP)
}

// fakeEntry is a ProgramEntry whose code compiled code may enter directly
// at addr (0: only through Go).
type fakeEntry struct {
	refs int
	code *fakeCode
}

type fakeCode struct{ addr uintptr }

func (c *fakeCode) NativeTailEntry() uintptr { return c.addr }

func (e *fakeEntry) Retain() bool { e.refs++; return true }
func (e *fakeEntry) Release()     { e.refs-- }
func (e *fakeEntry) Code() any    { return e.code }

// TestProgArrayTails: a prog_array's tail table follows its slots: 0 when
// empty, the address of code that compiled code enters directly,
// TailThroughGo for code it must not (or programs without such code); the
// code of a program that left the table stays reachable from the array
// (retired), and closing the array empties the table.
func TestProgArrayTails(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 3})
	om := m.(ObjectMap)
	tails, n, ok := ProgArrayTails(m)
	if !ok || n != 3 {
		t.Fatalf("ProgArrayTails: %v, %d entries; want a table of 3", ok, n)
	}
	word := func(i int) uint64 { return (*[3]uint64)(tails)[i] }
	native, other := &fakeEntry{code: &fakeCode{0x1000}}, &fakeEntry{code: &fakeCode{0}}
	checkErr(t, "update", om.UpdateObject(u32(0), native, UpdateAny), 0)
	checkErr(t, "update", om.UpdateObject(u32(1), other, UpdateAny), 0)
	checkErr(t, "update", om.UpdateObject(u32(2), &fakeProg{"plain"}, UpdateAny), 0)
	if word(0) != 0x1000 || word(1) != TailThroughGo || word(2) != TailThroughGo {
		t.Fatalf("tail table %#x %#x %#x, want 0x1000 %#x %#x", word(0), word(1), word(2), TailThroughGo, TailThroughGo)
	}
	a := m.(*objArray)
	if len(a.retired) != 0 {
		t.Fatalf("%d codes retired before any left", len(a.retired))
	}
	next := &fakeEntry{code: &fakeCode{0x2000}}
	checkErr(t, "replace", om.UpdateObject(u32(0), next, UpdateAny), 0)
	if word(0) != 0x2000 || native.refs != 0 {
		t.Fatalf("after replace: word %#x, old program's references %d; want 0x2000, 0", word(0), native.refs)
	}
	if _, ok := a.retired[native.code]; !ok || len(a.retired) != 1 {
		t.Fatalf("the replaced program's code is not retired: %v", a.retired)
	}
	checkErr(t, "delete", m.Delete(u32(0)), 0)
	if word(0) != 0 {
		t.Fatalf("after delete: word %#x, want 0", word(0))
	}
	if _, ok := a.retired[next.code]; !ok {
		t.Fatal("the deleted program's code is not retired")
	}
	m.Close()
	if word(1) != 0 || word(2) != 0 || other.refs != 0 {
		t.Fatalf("after close: words %#x %#x, references %d; want 0 0 0", word(1), word(2), other.refs)
	}
	arr := mustNew(t, Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if _, _, ok := ProgArrayTails(arr); ok {
		t.Fatal("an array has a tail table")
	}
}
