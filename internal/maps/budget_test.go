package maps

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// budgetSpecs are maps of every type, each of a few MiB.
var budgetSpecs = []Spec{
	{Name: "array", Type: ebpf.Array, KeySize: 4, ValueSize: 1024, MaxEntries: 4096},
	{Name: "percpu_array", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 512, MaxEntries: 4096, CPUs: 2},
	{Name: "hash", Type: ebpf.Hash, KeySize: 16, ValueSize: 256, MaxEntries: 8192},
	{Name: "percpu_hash", Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 128, MaxEntries: 8192, CPUs: 4},
	{Name: "lru_hash", Type: ebpf.LRUHash, KeySize: 8, ValueSize: 64, MaxEntries: 16384},
	{Name: "lpm", Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 256, MaxEntries: 8192, Flags: FlagNoPrealloc},
	{Name: "queue", Type: ebpf.Queue, ValueSize: 1024, MaxEntries: 2048},
	{Name: "stack", Type: ebpf.Stack, ValueSize: 1024, MaxEntries: 2048},
	{Name: "bloom", Type: ebpf.BloomFilter, ValueSize: 8, MaxEntries: 1 << 22},
	{Name: "ringbuf", Type: ebpf.RingBuf, MaxEntries: 2 << 20},
	{Name: "prog_array", Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 1 << 16},
	{Name: "array_of_maps", Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1 << 16,
		InnerMap: &Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}},
	{Name: "hash_of_maps", Type: ebpf.HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1 << 15,
		InnerMap: &Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}},
	{Name: "devmap", Type: ebpf.DevMap, KeySize: 4, ValueSize: 8, MaxEntries: 1 << 15},
	{Name: "perf", Type: ebpf.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 1 << 16},
}

// TestBudgetCreateClose: each map is charged at least its value memory
// when it is created and gives everything back when it is closed, so that
// creating and closing maps in a loop never runs out of a budget that holds
// two of them; a third that does not fit is refused with ENOMEM, an error
// that names the map, the bytes it needs and the limit.
func TestBudgetCreateClose(t *testing.T) {
	for _, spec := range budgetSpecs {
		t.Run(spec.Name, func(t *testing.T) {
			probe := NewBudget(nil, 1<<40, "the maps of the probe", "a test")
			s := spec
			s.Budget = probe
			m, err := New(&s)
			if err != nil {
				t.Fatal(err)
			}
			one := probe.Used()
			var values uint64
			for _, r := range m.Regions() {
				values += r.Size
			}
			m.Close()
			if probe.Used() != 0 {
				t.Fatalf("closed, the map still holds %d bytes of the budget", probe.Used())
			}
			if one < values+mapOverhead {
				t.Fatalf("charged %d bytes, less than its %d bytes of values and the overhead", one, values)
			}

			b := NewBudget(nil, 2*one+one/2, "the maps of this test", "twice and a half the map")
			s.Budget = b
			for i := range 20 {
				m1, err1 := New(&s)
				m2, err2 := New(&s)
				if err := errors.Join(err1, err2); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				if got := b.Used(); got != 2*one {
					t.Fatalf("round %d: two maps hold %d bytes, want %d", i, got, 2*one)
				}
				_, err3 := New(&s)
				if !errors.Is(err3, errno.ENOMEM) {
					t.Fatalf("round %d: a third map: %v, want ENOMEM", i, err3)
				}
				for _, want := range []string{fmt.Sprintf("map %q (%s)", s.Name, s.Type), fmt.Sprintf("need %d bytes of memory", one),
					fmt.Sprintf("more than the %d bytes left of the %d-byte", b.Limit()-2*one, b.Limit()), "memory limit of the maps of this test"} {
					if !strings.Contains(err3.Error(), want) {
						t.Fatalf("error %q does not contain %q", err3, want)
					}
				}
				m1.Close()
				m2.Close()
				m1.Close() // twice changes nothing
				if b.Used() != 0 {
					t.Fatalf("round %d: closed, the maps hold %d bytes", i, b.Used())
				}
			}
		})
	}
}

// TestBudgetNested: a map charged to a budget of its own is charged to the
// process's too, and either limit refuses it.
func TestBudgetNested(t *testing.T) {
	before := Process.Used()
	coll := NewBudget(nil, 1<<20, "the maps of this collection", "CollectionOptions.MemoryLimit")
	m := mustNew(t, Spec{Name: "small", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1024, Budget: coll})
	if coll.Used() == 0 || Process.Used()-before < coll.Used() {
		t.Fatalf("the collection holds %d bytes, the process %d more than before", coll.Used(), Process.Used()-before)
	}
	_, err := New(&Spec{Name: "big", Type: ebpf.Array, KeySize: 4, ValueSize: 1024, MaxEntries: 1024, Budget: coll})
	if !errors.Is(err, errno.ENOMEM) || !strings.Contains(err.Error(), "limit of the maps of this collection (CollectionOptions.MemoryLimit)") {
		t.Fatalf("a map beyond the collection's limit: %v", err)
	}
	// The process's limit applies as well: lower it below what is used.
	old := Process.SetLimit(Process.Used(), "TestBudgetNested")
	_, err = New(&Spec{Name: "tiny", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Budget: coll})
	Process.SetLimit(old, "restored")
	if !errors.Is(err, errno.ENOMEM) || !strings.Contains(err.Error(), "limit of the maps of this process (TestBudgetNested)") {
		t.Fatalf("a map beyond the process's limit: %v", err)
	}
	used := coll.Used()
	m.Close()
	if coll.Used() != 0 || used == 0 {
		t.Fatalf("the collection holds %d bytes after Close (%d before)", coll.Used(), used)
	}
}

// TestBudgetGrowth: what maps allocate as they are used (LPM trie nodes,
// ring buffer records waiting to be read, perf samples) is charged as it
// grows, refused with ENOMEM (or lost, or no room) when the budget is spent,
// and given back when it is freed.
func TestBudgetGrowth(t *testing.T) {
	t.Run("lpm", func(t *testing.T) {
		b := NewBudget(nil, 1<<30, "the maps of this test", "a test")
		m := mustNew(t, Spec{Name: "lpm", Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 1024, Flags: FlagNoPrealloc, Budget: b})
		empty := b.Used()
		key := func(plen uint32, addr uint32) []byte {
			return append(u32(plen), byte(addr>>24), byte(addr>>16), byte(addr>>8), byte(addr))
		}
		keys := [][]byte{key(8, 10<<24), key(16, 10<<24|1<<16), key(16, 10<<24|2<<16), key(24, 10<<24|2<<16|3<<8), key(32, 192<<24|168<<16|1)}
		for _, k := range keys {
			checkErr(t, "update", m.UpdateUser(k, u64(1), UpdateAny), 0)
		}
		full := b.Used()
		if full <= empty {
			t.Fatalf("5 prefixes charged nothing (%d bytes, empty %d)", full, empty)
		}
		for _, k := range keys {
			checkErr(t, "delete", m.Delete(k), 0)
		}
		if b.Used() != empty {
			t.Fatalf("after deleting every prefix the map holds %d bytes, empty %d", b.Used(), empty)
		}
		// A budget with no room for nodes refuses inserts with ENOMEM.
		b.SetLimit(empty, "full")
		err := m.UpdateUser(keys[0], u64(1), UpdateAny)
		checkErr(t, "update without memory", err, errno.ENOMEM)
		if l, _ := m.(*lpmTrie); l.count != 0 || len(l.free) != 1024 {
			t.Fatalf("a refused insert took a slot: count %d, %d free", l.count, len(l.free))
		}
		m.Close()
		if b.Used() != 0 {
			t.Fatalf("closed, the map holds %d bytes", b.Used())
		}
	})
	t.Run("ringbuf", func(t *testing.T) {
		b := NewBudget(nil, 1<<30, "the maps of this test", "a test")
		m := mustNew(t, Spec{Name: "rb", Type: ebpf.RingBuf, MaxEntries: 1 << 16, Budget: b})
		r := m.(*ringBuf)
		empty := b.Used()
		n := 0
		for ; r.Output(nil) == nil; n++ {
		}
		if n != (1<<16)/8-1 || b.Used() <= empty {
			t.Fatalf("%d empty records fit, charged %d bytes (%d empty)", n, b.Used(), empty)
		}
		m.Close()
		if b.Used() != 0 {
			t.Fatalf("closed, the ring buffer holds %d bytes", b.Used())
		}

		// Without memory for the records' queue, a reservation fails as in
		// a full ring.
		b = NewBudget(nil, 1<<30, "the maps of this test", "a test")
		m = mustNew(t, Spec{Name: "rb", Type: ebpf.RingBuf, MaxEntries: 1 << 16, Budget: b})
		b.SetLimit(b.Used(), "full")
		checkErr(t, "output without memory", m.(*ringBuf).Output([]byte{1}), errno.EAGAIN)
	})
	t.Run("perf", func(t *testing.T) {
		b := NewBudget(nil, 1<<30, "the maps of this test", "a test")
		m := mustNew(t, Spec{Name: "perf", Type: ebpf.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 2, Budget: b})
		p := m.(*PerfEventArray)
		p.OpenAll()
		empty := b.Used()
		checkErr(t, "output", p.Output(0, make([]byte, 1000)), 0)
		if b.Used() < empty+1000 {
			t.Fatalf("a 1000-byte sample charged %d bytes", b.Used()-empty)
		}
		b.SetLimit(b.Used(), "full")
		checkErr(t, "output without memory", p.Output(1, make([]byte, 1000)), 0)
		samples, lost := p.ReadSamples()
		if len(samples) != 1 || lost != 1 {
			t.Fatalf("%d samples and %d lost, want 1 and 1", len(samples), lost)
		}
		if b.Used() != empty {
			t.Fatalf("read, the samples still hold %d bytes", b.Used()-empty)
		}
	})
}

// TestBudgetConcurrent: goroutines creating and closing maps at once never
// take more than the limit together, and leave nothing charged.
func TestBudgetConcurrent(t *testing.T) {
	s := Spec{Name: "c", Type: ebpf.Hash, KeySize: 8, ValueSize: 64, MaxEntries: 512}
	probe := NewBudget(nil, 1<<30, "probe", "a test")
	s.Budget = probe
	m, err := New(&s)
	if err != nil {
		t.Fatal(err)
	}
	one := probe.Used()
	m.Close()
	b := NewBudget(nil, 3*one, "the maps of this test", "three maps")
	s.Budget = b
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				m, err := New(&s)
				if used := b.Used(); used > b.Limit() {
					t.Errorf("%d bytes used, more than the limit %d", used, b.Limit())
				}
				if err != nil {
					if !errors.Is(err, errno.ENOMEM) {
						t.Error(err)
					}
					continue
				}
				m.Close()
			}
		})
	}
	wg.Wait()
	if b.Used() != 0 {
		t.Fatalf("%d bytes still charged", b.Used())
	}
}

func TestDefaultLimit(t *testing.T) {
	const gib = 1 << 30
	for _, tt := range []struct {
		mem, cgroup, as, data uint64
		want                  uint64
		origin                string
	}{
		{24 * gib, 0, 0, 0, 12 * gib, "half of the machine's 24 GiB"},
		{0, 0, 0, 0, 64 * gib, "64 GiB, since the machine's memory is unknown"},
		{24 * gib, 4 * gib, 0, 0, 2 * gib, "half of the 4 GiB memory limit of the process's cgroup"},
		{24 * gib, 64 * gib, 0, 0, 12 * gib, "half of the machine's 24 GiB"},
		{24 * gib, 4 * gib, 3 * gib, 0, 768 << 20, "a quarter of the 3 GiB of address space that RLIMIT_AS leaves the process"},
		{24 * gib, 0, 0, 2 * gib, 512 << 20, "a quarter of the 2 GiB of data that RLIMIT_DATA leaves the process"},
	} {
		got, origin := defaultLimit(tt.mem, tt.cgroup, tt.as, tt.data)
		if got != tt.want || origin != tt.origin {
			t.Errorf("defaultLimit(%d, %d, %d, %d) = %d, %q; want %d, %q", tt.mem, tt.cgroup, tt.as, tt.data, got, origin, tt.want, tt.origin)
		}
	}
	if limit, origin := DefaultLimit(); limit == 0 || origin == "" {
		t.Errorf("DefaultLimit() = %d, %q", limit, origin)
	} else {
		t.Logf("on this machine: %d bytes (%s)", limit, origin)
	}
}

func TestSizes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		err  string
	}{
		{"1048576", 1 << 20, ""},
		{"512M", 512 << 20, ""},
		{"2G", 2 << 30, ""},
		{"2g", 2 << 30, ""},
		{"2GiB", 2 << 30, ""},
		{"2GB", 2 << 30, ""},
		{"64K", 64 << 10, ""},
		{"1T", 1 << 40, ""},
		{"100B", 100, ""},
		{" 3 M ", 3 << 20, ""},
		{"0", 0, ""},
		{"", 0, "want a number of bytes"},
		{"G", 0, "want a number of bytes"},
		{"-1G", 0, "want a number of bytes"},
		{"1.5G", 0, `unknown unit ".5G"`},
		{"2X", 0, `unknown unit "X"`},
		{"2iB", 0, `unknown unit "iB"`},
		{"16E", 0, "more than 2^64 bytes"},
		{"99999999999999999999", 0, "value out of range"},
	} {
		got, err := ParseSize(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseSize(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.err)
		}
	}
	for _, tt := range []struct {
		n    uint64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {1536, "1.5 KiB"}, {12 << 30, "12 GiB"}, {24683772 << 10, "23.5 GiB"}, {1 << 63, "8 EiB"}} {
		if got := FormatSize(tt.n); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestBudgetDefaultsOnce: a budget with defaults (the process's) works its
// limit out when first needed, once, whichever method needs it first; a
// limit set before that replaces the default.
func TestBudgetDefaultsOnce(t *testing.T) {
	for _, tc := range []struct {
		name       string
		first      func(b *Budget) uint64
		wantLimit  uint64
		wantOrigin string
	}{
		{"Limit", func(b *Budget) uint64 { return b.Limit() }, 1 << 20, "the default"},
		{"Origin", func(b *Budget) uint64 { b.Origin(); return b.Limit() }, 1 << 20, "the default"},
		{"SetLimit", func(b *Budget) uint64 { return b.SetLimit(2<<20, "set") }, 2 << 20, "set"},
		{"charge", func(b *Budget) uint64 {
			if _, ok := b.take(4096); !ok {
				t.Error("take(4096) refused")
			}
			return b.Limit()
		}, 1 << 20, "the default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			b := &Budget{scope: "a test", defaults: func() (uint64, string) { calls++; return 1 << 20, "the default" }}
			if calls != 0 {
				t.Fatal("defaults called before any use")
			}
			got := tc.first(b)
			if tc.name == "SetLimit" && got != 1<<20 {
				t.Errorf("SetLimit returned %d, want the default 1 MiB", got)
			}
			for range 3 {
				b.Limit()
				b.Origin()
			}
			if calls != 1 {
				t.Errorf("defaults called %d times, want once", calls)
			}
			if b.Limit() != tc.wantLimit || b.Origin() != tc.wantOrigin {
				t.Errorf("limit %d (%s), want %d (%s)", b.Limit(), b.Origin(), tc.wantLimit, tc.wantOrigin)
			}
		})
	}
}
