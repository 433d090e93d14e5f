package waggle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// forgetPin drops this process's live pin at path, leaving the file, as
// the end of the process does: the next LoadPinnedMap reads the file.
func forgetPin(t testing.TB, path string) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	reg := &pinRegistry
	reg.Lock()
	e := reg.byPath[abs]
	if e != nil {
		delete(reg.byPath, abs)
		delete(reg.byMap, e.impl)
	}
	reg.Unlock()
	if e != nil {
		e.mu.Lock()
		e.unpinned = true
		e.mu.Unlock()
		maps.Release(e.impl)
	}
}

// pinCase is a map to pin, with its entries.
type pinCase struct {
	name    string
	spec    ebpf.MapSpec
	entries map[string]any // key bytes → value
}

func pinCases() []pinCase {
	u32 := func(v uint32) string { return string(binary.NativeEndian.AppendUint32(nil, v)) }
	lpmKey := func(bits uint32, a, b, c, d byte) string { return u32(bits) + string([]byte{a, b, c, d}) }
	return []pinCase{
		{"array", ebpf.MapSpec{Name: "arr", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16},
			map[string]any{u32(0): uint64(1), u32(7): uint64(0xdeadbeef), u32(15): uint64(1 << 60)}},
		{"percpu_array", ebpf.MapSpec{Name: "parr", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
			map[string]any{u32(1): []uint32{1, 2, 3}, u32(3): []uint32{0, 0, 9}}},
		{"hash", ebpf.MapSpec{Name: "h", Type: ebpf.Hash, KeySize: 4, ValueSize: 12, MaxEntries: 8},
			map[string]any{u32(10): "abcdefghijkl", u32(20): "mnopqrstuvwx"}},
		{"percpu_hash", ebpf.MapSpec{Name: "ph", Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 8},
			map[string]any{u32(5): []uint64{5, 6, 7}}},
		{"lru_hash", ebpf.MapSpec{Name: "lru", Type: ebpf.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 8},
			map[string]any{u32(1): uint64(11), u32(2): uint64(22)}},
		{"lru_percpu_hash", ebpf.MapSpec{Name: "lrup", Type: ebpf.LRUCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 8},
			map[string]any{u32(3): []uint64{1, 0, 1}}},
		{"lpm_trie", ebpf.MapSpec{Name: "lpm", Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 8, Flags: maps.FlagNoPrealloc},
			map[string]any{lpmKey(24, 10, 1, 2, 0): uint32(1), lpmKey(8, 10, 0, 0, 0): uint32(2)}},
		{"empty hash", ebpf.MapSpec{Name: "", Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 4}, nil},
	}
}

// newPinMap creates c's map with 3 CPU slots and its entries.
func newPinMap(t testing.TB, c pinCase) *Map {
	t.Helper()
	m, err := NewMapWithOptions(&c.spec, MapOptions{CPUs: 3})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.entries {
		if err := m.Put([]byte(k), v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// TestPinThenLoad pins every kind of map that can be pinned, closes it,
// and loads it again: first the live map of this process's pin, then the
// file, as a new process would.
func TestPinThenLoad(t *testing.T) {
	for _, c := range pinCases() {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pin")
			m := newPinMap(t, c)
			want, err := m.Dump()
			if err != nil {
				t.Fatal(err)
			}
			if m.IsPinned() {
				t.Fatal("pinned before Pin")
			}
			if err := m.Pin(path); err != nil {
				t.Fatal(err)
			}
			if !m.IsPinned() {
				t.Fatal("not pinned after Pin")
			}
			handle := m.Handle()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}

			live, err := LoadPinnedMap(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if live.Handle() != handle {
				t.Errorf("LoadPinnedMap in the pinning process: handle %#x, want the pinned map's %#x", live.Handle(), handle)
			}
			live.Close()

			forgetPin(t, path)
			loaded, err := LoadPinnedMap(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer loaded.Unpin()
			defer loaded.Close()
			if loaded.Handle() == handle {
				t.Error("the file's map has the old map's handle")
			}
			if !loaded.IsPinned() {
				t.Error("a loaded map is not pinned")
			}
			got, err := loaded.Dump()
			if err != nil {
				t.Fatal(err)
			}
			if !equalDumps(got, want) {
				t.Errorf("contents after loading the pin:\n got %v\nwant %v", got, want)
			}
			if loaded.Type() != c.spec.Type || loaded.KeySize() != c.spec.KeySize || loaded.ValueSize() != c.spec.ValueSize ||
				loaded.MaxEntries() != c.spec.MaxEntries || loaded.Flags() != c.spec.Flags || loaded.Name() != c.spec.Name || loaded.CPUs() != 3 && loaded.percpu {
				t.Errorf("loaded %v (flags %#x, %d CPUs), want the spec %+v", loaded, loaded.Flags(), loaded.CPUs(), c.spec)
			}
		})
	}
}

func equalDumps(a, b []MapEntry) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestPinRestart pins maps, then loads them in a new process (the test
// binary run again), which changes them and closes them; this process
// then reads the file the child wrote.
func TestPinRestart(t *testing.T) {
	const env = "WAGGLE_PIN_RESTART_DIR"
	cases := pinCases()[:4] // array, percpu_array, hash, percpu_hash
	if dir := os.Getenv(env); dir != "" {
		for _, c := range cases {
			m, err := LoadPinnedMap(filepath.Join(dir, c.spec.Name), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Dump()
			if err != nil {
				t.Fatal(err)
			}
			want := newPinMap(t, c)
			wantDump, _ := want.Dump()
			want.Close()
			if !equalDumps(got, wantDump) {
				t.Errorf("%s in the new process:\n got %v\nwant %v", c.name, got, wantDump)
			}
			// A change that the Close writes back.
			switch c.spec.Type {
			case ebpf.PerCPUArray:
				err = m.Put(uint32(2), []uint32{4, 4, 4})
			case ebpf.PerCPUHash:
				err = m.Put(uint32(2), []uint64{0, 0, 8})
			default:
				err = m.Put(uint32(2), bytes.Repeat([]byte{0x42}, int(c.spec.ValueSize)))
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return
	}

	dir := t.TempDir()
	for _, c := range cases {
		m := newPinMap(t, c)
		if err := m.Pin(filepath.Join(dir, c.spec.Name)); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cmd := kerneltest.Command(os.Args[0], "-test.run=^TestPinRestart$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the new process: %v\n%s", err, out)
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.spec.Name)
		forgetPin(t, path) // this process's pins are older than the file
		m, err := LoadPinnedMap(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		switch c.spec.Type {
		case ebpf.PerCPUArray:
			var v []uint32
			err, got = m.Lookup(uint32(2), &v), v
		case ebpf.PerCPUHash:
			var v []uint64
			err, got = m.Lookup(uint32(2), &v), v
		default:
			var v []byte
			err, got = m.Lookup(uint32(2), &v), v
		}
		if err != nil {
			t.Fatalf("%s: key 2 after the new process: %v", c.name, err)
		}
		if want := map[ebpf.MapType]any{ebpf.PerCPUArray: []uint32{4, 4, 4}, ebpf.PerCPUHash: []uint64{0, 0, 8}}[c.spec.Type]; want != nil && !reflect.DeepEqual(got, want) ||
			want == nil && !bytes.Equal(got.([]byte), bytes.Repeat([]byte{0x42}, int(c.spec.ValueSize))) {
			t.Errorf("%s: key 2 after the new process: %v", c.name, got)
		}
		m.Close()
		m.Unpin()
	}
}

// failingWriter fails after n bytes, as a crash in the middle of a write
// would stop it.
type failingWriter struct {
	w io.Writer
	n int
}

func (f *failingWriter) Write(b []byte) (int, error) {
	if len(b) > f.n {
		n, _ := f.w.Write(b[:f.n])
		return n, errors.New("injected failure: the disk is gone")
	}
	f.n -= len(b)
	return f.w.Write(b)
}

// TestPinAtomic: a write that fails half way leaves the old file, and no
// temporary file.
func TestPinAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "counts")
	m := newPinMap(t, pinCases()[2])
	defer m.Close()
	if err := m.Pin(path); err != nil {
		t.Fatal(err)
	}
	defer m.Unpin()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Put(uint32(99), []byte("changed.....")); err != nil {
		t.Fatal(err)
	}
	pinWriter = func(w io.Writer) io.Writer { return &failingWriter{w: w, n: 40} }
	err = m.SyncPin()
	pinWriter = nil
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), path) {
		t.Fatalf("SyncPin with a failing write: %v, want the failure and the path", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("a failed write changed the pin file")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the directory holds %d files after a failed write, want the pin alone: %v", len(ents), ents)
	}
	if err := m.SyncPin(); err != nil {
		t.Fatal(err)
	}
	if after, _ = os.ReadFile(path); bytes.Equal(before, after) {
		t.Error("SyncPin did not write the change")
	}
}

// TestPinErrors checks what Pin and LoadPinnedMap refuse.
func TestPinErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	m := newPinMap(t, pinCases()[2])
	if err := m.Pin(good); err != nil {
		t.Fatal(err)
	}
	m.Close()
	forgetPin(t, good)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	withCRC := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crcTable()))
		return b
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(data)) }

	for _, typ := range []ebpf.MapType{ebpf.RingBuf, ebpf.ProgramArray, ebpf.Queue, ebpf.BloomFilter, ebpf.PerfEventArray} {
		spec := &ebpf.MapSpec{Name: "m", Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 4096}
		switch typ {
		case ebpf.RingBuf:
			spec.KeySize, spec.ValueSize = 0, 0
		case ebpf.Queue, ebpf.BloomFilter:
			spec.KeySize = 0
		}
		um, err := NewMap(spec)
		if err != nil {
			t.Fatal(err)
		}
		err = um.Pin(filepath.Join(dir, "x"))
		um.Close()
		if !errors.Is(err, ebpf.ErrNotSupported) || !strings.Contains(err.Error(), typ.String()) {
			t.Errorf("Pin of a %s: %v, want ErrNotSupported naming the type", typ, err)
		}
	}

	other := newPinMap(t, pinCases()[0])
	defer other.Close()
	if err := other.Pin(good); !errors.Is(err, errno.EEXIST) || !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), good) {
		t.Errorf("Pin over an existing file: %v, want EEXIST naming the file", err)
	}

	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a waggle pin file"},
		{"ELF", []byte("\x7fELF\x02\x01\x01"), "not a waggle pin file"},
		{"version 2", edit(func(b []byte) []byte { b[8] = 2; return withCRC(b) }), "format version 2"},
		{"truncated header", data[:30], "truncated pin file"},
		{"truncated entries", withCRC(bytes.Clone(data[:len(data)-10])), "truncated or corrupt pin file"},
		{"flipped bit", edit(func(b []byte) []byte { b[len(b)-8] ^= 1; return b }), "checksum"},
		{"more entries than max", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[56:], 9); return withCRC(b) }), "more than its max entries"},
		{"unpinnable type", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], uint32(ebpf.RingBuf)); return withCRC(b) }), "cannot be pinned"},
		{"bad spec", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[28:], 0)
			binary.LittleEndian.PutUint64(b[56:], 0)
			return withCRC(b[:64+1+4])
		}), "max_entries"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := LoadPinnedMap(path, nil)
			if err == nil {
				m.Close()
				m.Unpin()
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want %q and the path", err, c.want)
			}
		})
	}
	if _, err := LoadPinnedMap(filepath.Join(dir, "missing"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPinnedMap of a missing file: %v, want os.ErrNotExist", err)
	}
}

// counterSpec is an object with an array map, pinned by name, and an XDP
// program that adds 1 to its element 0.
func counterSpec(valueSize uint32) *ebpf.CollectionSpec {
	return &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{
			"counter": {Name: "counter", Type: ebpf.Array, KeySize: 4, ValueSize: valueSize, MaxEntries: 1, Pinning: ebpf.PinByName},
		},
		Programs: map[string]*ebpf.ProgramSpec{
			"count": {Name: "count", Type: ebpf.XDP, License: "GPL", Instructions: asm.Instructions{
				asm.StoreImm(asm.RFP, -4, 0, asm.Word),
				asm.Mov.Reg(asm.R2, asm.RFP),
				asm.Add.Imm(asm.R2, -4),
				asm.LoadMapPtr(asm.R1, 0).WithReference("counter"),
				asm.FnMapLookupElem.Call(),
				asm.JEq.Imm(asm.R0, 0, "out"),
				asm.Mov.Imm(asm.R1, 1),
				asm.AddAtomic.Mem(asm.R0, asm.R1, asm.DWord, 0),
				asm.Mov.Imm(asm.R0, 2).WithSymbol("out"),
				asm.Return(),
			}},
		},
	}
}

// TestPinByName loads an object whose map is pinned by name three times:
// the count its program makes in the first load is in the second (read
// from the file, as after a restart) and shared live with the third (in
// the same process); a spec of another size is refused.
func TestPinByName(t *testing.T) {
	dir := t.TempDir()
	run := func(coll *Collection, n int) {
		t.Helper()
		for range n {
			if ret, _, err := coll.Programs["count"].Test(make([]byte, 14)); err != nil || ret != 2 {
				t.Fatalf("run: %d, %v", ret, err)
			}
		}
	}
	count := func(coll *Collection) uint64 {
		t.Helper()
		var v uint64
		if err := coll.Maps["counter"].Lookup(uint32(0), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	first, err := NewCollectionWithOptions(counterSpec(8), CollectionOptions{PinPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	run(first, 3)
	first.Close()
	path := filepath.Join(dir, "counter")
	forgetPin(t, path) // as a new process

	second, err := NewCollectionWithOptions(counterSpec(8), CollectionOptions{PinPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := count(second); got != 3 {
		t.Errorf("count in the second load: %d, want 3", got)
	}
	third, err := NewCollectionWithOptions(counterSpec(8), CollectionOptions{PinPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	run(third, 2)
	if got := count(second); got != 5 {
		t.Errorf("count in the second load after two runs of the third: %d, want 5", got)
	}
	third.Close()
	second.Close()
	forgetPin(t, path)

	_, err = NewCollectionWithOptions(counterSpec(4), CollectionOptions{PinPath: dir})
	if !errors.Is(err, ebpf.ErrMapIncompatible) || !strings.Contains(err.Error(), "counter") ||
		!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "ValueSize: 8 changed to 4") {
		t.Errorf("a pin of another value size: %v, want ErrMapIncompatible naming the map, the file and the sizes", err)
	}
	forgetPin(t, path)
	if _, err := NewCollectionWithOptions(counterSpec(8), CollectionOptions{}); err == nil || !strings.Contains(err.Error(), "PinPath") {
		t.Errorf("PinByName without a PinPath: %v", err)
	}
	final, err := LoadPinnedMap(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer final.Unpin()
	defer final.Close()
	var v uint64
	if err := final.Lookup(uint32(0), &v); err != nil || v != 5 {
		t.Errorf("the file after the collections closed: %d, %v; want 5", v, err)
	}
}

// FuzzLoadPinnedMap: any file gives an error or a valid map, never a
// panic. fixCRC makes the checksum right, so that the fuzzer reaches the
// map's creation.
func FuzzLoadPinnedMap(f *testing.F) {
	dir := f.TempDir()
	for i, c := range pinCases() {
		path := filepath.Join(dir, fmt.Sprint("seed", i))
		m := newPinMap(f, c)
		if err := m.Pin(path); err != nil {
			f.Fatal(err)
		}
		m.Close()
		forgetPin(f, path)
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, fixCRC bool) {
		data = bytes.Clone(data)
		if fixCRC && len(data) >= 4 {
			binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], crcTable()))
		}
		path := filepath.Join(t.TempDir(), "pin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := LoadPinnedMap(path, &LoadPinOptions{MemoryLimit: 1 << 20})
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("the error does not name the file: %v", err)
			}
			return
		}
		if _, err := m.Dump(); err != nil {
			t.Errorf("dump of a loaded pin: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		if err := m.Unpin(); err != nil {
			t.Error(err)
		}
	})
}

// TestPinMoveUnpinFrozen: pinning at another path moves the pin, Unpin
// removes the file, a frozen map comes back frozen, and a closed map
// cannot be pinned.
func TestPinMoveUnpinFrozen(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	m := newPinMap(t, pinCases()[0])
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := m.Pin(a); err != nil {
		t.Fatal(err)
	}
	if err := m.Pin(b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old pin after a move: %v, want it gone", err)
	}
	m.Close()
	if err := m.Pin(a); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Pin of a closed map: %v, want os.ErrClosed", err)
	}
	forgetPin(t, b)
	loaded, err := LoadPinnedMap(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.IsFrozen() {
		t.Error("a frozen map's pin loads unfrozen")
	}
	if err := loaded.Unpin(); err != nil {
		t.Fatal(err)
	}
	if loaded.IsPinned() {
		t.Error("pinned after Unpin")
	}
	if _, err := os.Stat(b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pin file after Unpin: %v, want it gone", err)
	}
	if err := loaded.SyncPin(); err == nil || !strings.Contains(err.Error(), "not pinned") {
		t.Errorf("SyncPin of an unpinned map: %v", err)
	}
	if err := loaded.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Close after Unpin wrote the file: %v", err)
	}
}
