package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/metrics"
)

var updateWatchGolden = flag.Bool("update-watch", false, "rewrite testdata/watch/*.golden with the renderers' output")

// checkGolden compares got with testdata/watch/NAME.golden.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "watch", name+".golden")
	if *updateWatchGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update-watch to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", path, got, want)
	}
}

func TestRenderLog2Hist(t *testing.T) {
	wide := make([]uint64, 64)
	wide[3], wide[40] = 7, 2
	last := make([]uint64, 64)
	last[63], last[0] = 1, 3
	for _, tc := range []struct {
		name   string
		counts []uint64
	}{
		// bcc's example: latencies in slots 0..9.
		{"hist_small", []uint64{0, 1, 5, 20, 3, 0, 0, 2, 0, 1, 0, 0}},
		{"hist_one", []uint64{9}},
		{"hist_empty", make([]uint64, 64)},
		// Beyond slot 32: wider columns, 20 stars.
		{"hist_wide", wide},
		{"hist_slot63", last},
		// Counts whose product with the width overflows 64 bits.
		{"hist_huge", []uint64{1 << 62, 1 << 63, 3 << 62}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			renderLog2Hist(&b, "value", tc.counts)
			checkGolden(t, tc.name, b.String())
		})
	}
}

// udpFrame is an Ethernet IPv4 UDP frame from src to dst:dport.
func udpFrame(src, dst string, dport uint16, payload int) []byte {
	f := make([]byte, 14+20+8+payload)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[9] = 0x45, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(28+payload))
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[22:], dport)
	return f
}

// observedLive runs live.o's xdp_observe on five frames.
func observedLive(t *testing.T) (*waggle.Collection, *ebpf.CollectionSpec) {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("../../testdata/live/live.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	for _, f := range [][]byte{
		udpFrame("10.0.0.1", "10.0.0.2", 9000, 18),
		udpFrame("10.0.0.1", "10.0.0.2", 9000, 18),
		udpFrame("10.0.0.1", "10.0.0.2", 9000, 18),
		udpFrame("10.0.0.3", "10.0.0.2", 53, 400),
		udpFrame("192.168.100.200", "10.0.0.2", 53, 1000),
	} {
		if _, err := coll.Programs["xdp_observe"].Run(&waggle.RunOptions{Data: f}); err != nil {
			t.Fatal(err)
		}
	}
	return coll, spec
}

func view(t *testing.T, coll *waggle.Collection, spec *ebpf.CollectionSpec, name string) *metrics.MapView {
	t.Helper()
	var ms *ebpf.MapSpec
	if spec != nil {
		ms = spec.Maps[name]
	}
	return metrics.NewMapView(name, coll.Maps[name], ms)
}

func renderMap(t *testing.T, v *metrics.MapView, forced bool, rows int) string {
	t.Helper()
	entries, truncated, err := v.Entries(0)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if h, ok := watchHistograms(v, entries, forced); ok {
		renderMapHistograms(&b, v, h)
	} else {
		renderMapTable(&b, v, entries, truncated, rows)
	}
	return b.String()
}

func TestRenderMaps(t *testing.T) {
	coll, spec := observedLive(t)

	// Maps without BTF, per-CPU, and a hash of histograms (struct hist {
	// __u32 slots[4]; } per pid, as libbpf-tools keep them).
	pc, err := waggle.NewMapWithOptions(&ebpf.MapSpec{Name: "pc", Type: ebpf.PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 16},
		waggle.MapOptions{CPUs: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for k := range uint32(5) {
		if err := pc.Put(k*1000, []uint64{uint64(k), 10, 100}); err != nil {
			t.Fatal(err)
		}
	}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	histType := &btf.Struct{Name: "hist", Size: 16, Members: []btf.Member{
		{Name: "slots", Type: &btf.Array{Type: u32, Index: u32, Nelems: 4}},
	}}
	hs := &ebpf.MapSpec{Name: "pid_hists", Type: ebpf.Hash, KeySize: 4, ValueSize: 16, MaxEntries: 8,
		Key: &btf.Typedef{Name: "pid_t", Type: u32}, Value: histType}
	hm, err := waggle.NewMap(hs)
	if err != nil {
		t.Fatal(err)
	}
	defer hm.Close()
	if err := hm.Put(uint32(42), [4]uint32{1, 0, 8, 2}); err != nil {
		t.Fatal(err)
	}
	if err := hm.Put(uint32(7), [4]uint32{0, 3, 0, 0}); err != nil {
		t.Fatal(err)
	}
	// An array named without "hist", drawn as a histogram only with --hist.
	counts, err := waggle.NewMap(&ebpf.MapSpec{Name: "sizes", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer counts.Close()
	for k, v := range map[uint32]uint64{1: 4, 2: 2, 4: 1} {
		if err := counts.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	extra := &waggle.Collection{Maps: map[string]*waggle.Map{"pc": pc, "pid_hists": hm, "sizes": counts}}
	extraSpec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{"pid_hists": hs}}

	for _, tc := range []struct {
		name   string
		view   *metrics.MapView
		forced bool
		rows   int
	}{
		{"table_flows", view(t, coll, spec, "flows"), false, 25},
		{"table_flows_rows", view(t, coll, spec, "flows"), false, 2},
		{"table_bss", view(t, coll, spec, ".bss"), false, 25},
		{"table_empty", view(t, coll, spec, "tx_port"), false, 25},
		{"table_percpu", view(t, extra, nil, "pc"), false, 25},
		{"table_sizes", view(t, extra, nil, "sizes"), false, 25},
		{"hist_len", view(t, coll, spec, "len_hist"), false, 25},
		{"hist_forced", view(t, extra, nil, "sizes"), true, 25},
		{"hist_slots", view(t, extra, extraSpec, "pid_hists"), false, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, renderMap(t, tc.view, tc.forced, tc.rows))
		})
	}
}

func TestRenderEvents(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec("../../testdata/live/live.o")
	if err != nil {
		t.Fatal(err)
	}
	var ev *btf.Struct
	if err := spec.Types.TypeByName("event", &ev); err != nil {
		t.Fatal(err)
	}
	rec := func(src string, dport uint16, n uint32) []byte {
		b := make([]byte, 24)
		a := netip.MustParseAddr(src).As4()
		copy(b[0:], a[:])
		copy(b[4:], []byte{10, 0, 0, 2})
		binary.NativeEndian.PutUint16(b[10:], dport)
		binary.NativeEndian.PutUint32(b[12:], n)
		copy(b[16:], "ipv4")
		return b
	}
	var lines []string
	for _, r := range [][]byte{rec("10.0.0.1", 9000, 60), rec("10.0.0.3", 53, 442)} {
		lines = append(lines, watchEventLine(ev, r))
	}
	lines = append(lines, watchEventLine(nil, []byte{1, 2, 3}))
	var b bytes.Buffer
	renderRingEvents(&b, "events", lines, 12)
	renderRingEvents(&b, "quiet", nil, 0)
	checkGolden(t, "events", b.String())
}

// TestWatchFrame draws a whole frame of live.o after xdp_observe ran on
// five frames: the maps, the histogram, the ring buffer's records.
func TestWatchFrame(t *testing.T) {
	coll, spec := observedLive(t)
	types, err := watchEventTypes("", coll, spec)
	if err != nil {
		t.Fatal(err)
	}
	w := newWatcher(coll, spec, nil, types, 25)
	defer w.close()
	// The readers are goroutines: wait (at most 5s) for the five records.
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		n := w.events["events"].total
		w.mu.Unlock()
		if n == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var b bytes.Buffer
	w.frame(&b)
	checkGolden(t, "frame_observe", b.String())
}

func TestWatchEventTypes(t *testing.T) {
	coll, spec := observedLive(t)
	for _, tc := range []struct {
		flag, want, err string
	}{
		{flag: "", want: "event"},
		{flag: "flow_key", want: "flow_key"},
		{flag: "events=flow_stats", want: "flow_stats"},
		{flag: "nope", err: `no type "nope"`},
		{flag: "flows=event", err: `no ring buffer "flows"`},
		{flag: "events:event", err: `no type "events:event"`},
	} {
		types, err := watchEventTypes(tc.flag, coll, spec)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.flag, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.flag, err)
		case types["events"] == nil || types["events"].TypeName() != tc.want:
			t.Errorf("%q: %v, want %s", tc.flag, types, tc.want)
		}
	}
	// An object without a struct event: records in hex.
	types, err := watchEventTypes("", &waggle.Collection{Maps: coll.Maps}, &ebpf.CollectionSpec{})
	if err != nil || len(types) != 0 {
		t.Errorf("no BTF: %v, %v", types, err)
	}
}

func TestWatchRun(t *testing.T) {
	coll, spec := observedLive(t)
	w := newWatcher(coll, spec, nil, nil, 5)
	defer w.close()
	var out watchBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 350*time.Millisecond)
	defer cancel()
	w.run(ctx, &out, 100*time.Millisecond, true, func() string { return "HEADER" })
	frames := strings.Count(out.String(), "\x1b[H\x1b[2JHEADER\n\n")
	if frames < 2 || frames > 6 {
		t.Errorf("%d frames in 350ms at 100ms", frames)
	}
	if !strings.Contains(out.String(), "distribution") || !strings.Contains(out.String(), "map flows (Hash, 3 entries, max 4096)") {
		t.Errorf("frame:\n%s", out.String())
	}
}

// watchBuffer is a bytes.Buffer safe for a writer and a reader.
type watchBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *watchBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *watchBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
