package waggle_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// The engine benchmarks: the four XDP programs of testdata/bench (see its
// README.md), each on the packet it is measured with, run by each of
// waggle's engines and, as root, by the kernel (BPF_PROG_TEST_RUN with its
// JIT) in the same run. Results are checked before anything is timed.

// benchProgram is one program of testdata/bench: the object
// testdata/bench/NAME.o holds one XDP program called NAME.
type benchProgram struct {
	name string
	// packet is the packet the benchmark runs the program on.
	packet func() []byte
	// want is what one run on a freshly loaded object gives with pkt.
	want func(pkt []byte) benchResult
	// fill, if not nil, fills the object's maps before any run (in
	// waggle and in the kernel alike) through update.
	fill func(update func(mapName string, key, value []byte) error) error
}

// benchResult is what a run leaves: the return value and the contents of
// the object's maps (see dumpMaps).
type benchResult struct {
	ret  uint32
	maps mapDump
}

// mapDump is a map's contents by map name, then key. All the benchmark
// maps that programs write have u32 keys and u32 or u64 values. Array
// elements that are zero are left out; hash map elements are all listed.
// Prog arrays and LPM tries, which the programs only read, are left out.
type mapDump map[string]map[uint32]uint64

func (d mapDump) String() string {
	var sb strings.Builder
	for _, name := range slices.Sorted(maps.Keys(d)) {
		fmt.Fprintf(&sb, "%s{", name)
		for i, k := range slices.Sorted(maps.Keys(d[name])) {
			if i > 0 {
				sb.WriteString(" ")
			}
			fmt.Fprintf(&sb, "%#x:%#x", k, d[name][k])
		}
		sb.WriteString("} ")
	}
	return strings.TrimSpace(sb.String())
}

const (
	xdpDrop = 1
	xdpPass = 2
)

var (
	benchSrc = netip.MustParseAddr("10.1.2.3")
	benchDst = netip.MustParseAddr("10.0.0.1")
)

// benchUDP is an Ethernet/IPv4/UDP frame of size bytes,
// 10.1.2.3:5353 -> 10.0.0.1:53, its payload the bytes 0, 1, 2, ...
func benchUDP(size int) []byte {
	return kerneltest.Ethernet(kerneltest.MACDst, kerneltest.MACSrc, kerneltest.EtherTypeIPv4,
		kerneltest.IPv4(benchSrc, benchDst, kerneltest.ProtoUDP, kerneltest.UDP(5353, 53, kerneltest.Pattern(size-14-20-8))))
}

// benchTCP is an Ethernet/IPv4/TCP frame of size bytes,
// 10.1.2.3:40000 -> 10.0.0.1:80, a SYN with the payload 0, 1, 2, ...
func benchTCP(size int) []byte {
	return kerneltest.Ethernet(kerneltest.MACDst, kerneltest.MACSrc, kerneltest.EtherTypeIPv4,
		kerneltest.IPv4(benchSrc, benchDst, kerneltest.ProtoTCP, kerneltest.TCP(40000, 80, kerneltest.TCPSyn, kerneltest.Pattern(size-14-20-20))))
}

// The ports' buckets in parser.c's port_counts.
const (
	parserTCP   = 0
	parserUDP   = 64
	parserOther = 128
)

// wantParser is parser.c's result on a fresh object: one count in bucket.
func wantParser(bucket uint32) benchResult {
	return benchResult{ret: xdpPass, maps: mapDump{"port_counts": {bucket: 1}}}
}

// hashKey is hash.c's key for pkt: the 4 bytes at offset 26, as the
// program loads them (host order).
func hashKey(pkt []byte) uint32 {
	if len(pkt) < 30 {
		return 0
	}
	return binary.NativeEndian.Uint32(pkt[26:])
}

// The benchmark programs with the packets they are measured with.
var benchPrograms = []benchProgram{
	{
		name:   "return1",
		packet: func() []byte { return benchUDP(64) },
		want:   func([]byte) benchResult { return benchResult{ret: xdpDrop, maps: mapDump{}} },
	},
	{
		name:   "parser",
		packet: func() []byte { return benchUDP(64) },
		want:   func([]byte) benchResult { return wantParser(parserUDP + 53%64) },
	},
	{
		name:   "hash",
		packet: func() []byte { return benchUDP(64) },
		want: func(pkt []byte) benchResult {
			return benchResult{ret: xdpPass, maps: mapDump{"src_counts": {hashKey(pkt): 1}}}
		},
	},
	{
		name:   "tailcall",
		packet: func() []byte { return benchUDP(64) },
		want:   func([]byte) benchResult { return benchResult{ret: xdpPass, maps: mapDump{"hops": {0: 1}}} },
	},
	{
		name:   "loop",
		packet: func() []byte { return benchUDP(64) },
		want: func([]byte) benchResult {
			return benchResult{ret: xdpPass, maps: mapDump{"loop_result": {0: 100<<32 | 328450}}}
		},
	},
	{
		name:   "lpm",
		packet: func() []byte { return benchUDP(64) },
		want: func([]byte) benchResult {
			return benchResult{ret: xdpDrop, maps: mapDump{"lpm_counts": {xdpDrop: 1}}}
		},
		fill: fillLPM,
	},
	{
		name:   "fnv1a",
		packet: func() []byte { return benchUDP(1500) },
		want: func(pkt []byte) benchResult {
			h := fnv.New32a()
			h.Write(pkt[:min(len(pkt), 1500)])
			return benchResult{ret: xdpPass, maps: mapDump{"fnv_result": {0: uint64(h.Sum32())}}}
		},
	},
}

// lpmPrefixes are the prefixes lpm.c's trie holds in the benchmarks, with
// their verdicts: 10.0.0.0/8 passes, 10.1.0.0/16 drops, the 256 /24s
// 10.x.y.0 (x < 4, y < 64) pass, 10.1.2.0/28 drops, and 10.1.2.128/25
// passes. The benchmark packet's source, 10.1.2.3, is in the /28: XDP_DROP
// after a walk through five levels of prefixes.
func lpmPrefixes() []netip.Prefix {
	ps := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("10.1.2.0/28"),
		netip.MustParsePrefix("10.1.2.128/25"),
	}
	for x := range 4 {
		for y := range 64 {
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(x), byte(y), 0}), 24))
		}
	}
	return ps
}

// lpmVerdict is lpm.c's verdict for a prefix of lpmPrefixes.
func lpmVerdict(p netip.Prefix) uint32 {
	if p.String() == "10.1.0.0/16" || p.String() == "10.1.2.0/28" {
		return xdpDrop
	}
	return xdpPass
}

// fillLPM fills lpm.c's trie with lpmPrefixes.
func fillLPM(update func(mapName string, key, value []byte) error) error {
	for _, p := range lpmPrefixes() {
		key := binary.NativeEndian.AppendUint32(nil, uint32(p.Bits()))
		key = append(key, p.Addr().AsSlice()...)
		if err := update("nets", key, binary.NativeEndian.AppendUint32(nil, lpmVerdict(p))); err != nil {
			return fmt.Errorf("fill nets with %s: %w", p, err)
		}
	}
	return nil
}

// benchFill is the benchProgram.fill of the program named name, or nil.
func benchFill(name string) func(update func(mapName string, key, value []byte) error) error {
	for _, bp := range benchPrograms {
		if bp.name == name {
			return bp.fill
		}
	}
	return nil
}

func benchObject(name string) string {
	return filepath.Join("testdata", "bench", name+".o")
}

// loadBench loads testdata/bench/NAME.o into waggle, for engine.
//
// This is the one place where the engine is chosen.
func loadBench(tb testing.TB, name string, engine waggle.Engine) *waggle.Collection {
	tb.Helper()
	spec, err := waggle.LoadCollectionSpec(benchObject(name))
	if err != nil {
		tb.Fatal(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: engine})
	if err != nil {
		tb.Fatalf("load %s (%s): %v", benchObject(name), engine, err)
	}
	if fill := benchFill(name); fill != nil {
		err := fill(func(mapName string, key, value []byte) error {
			return coll.Maps[mapName].Update(key, value, ebpf.UpdateAny)
		})
		if err != nil {
			coll.Close()
			tb.Fatal(err)
		}
	}
	return coll
}

// runWaggle runs the program once (repeat times, sharing the maps) on a
// freshly loaded object and returns what it left.
func runWaggle(tb testing.TB, name string, engine waggle.Engine, pkt []byte, repeat uint32) benchResult {
	tb.Helper()
	coll := loadBench(tb, name, engine)
	defer coll.Close()
	ret, err := coll.Programs[name].Run(&waggle.RunOptions{Data: pkt, Repeat: repeat})
	if err != nil {
		tb.Fatalf("%s (%s): %v", name, engine, err)
	}
	d, err := dumpMaps(coll.Maps)
	if err != nil {
		tb.Fatalf("%s (%s): %v", name, engine, err)
	}
	return benchResult{ret: ret, maps: d}
}

// mapIterator and iterableMap are what waggle's and cilium/ebpf's maps
// have in common for a dump.
type mapIterator interface {
	Next(keyOut, valueOut any) bool
	Err() error
}

type iterableMap[I mapIterator] interface {
	KeySize() uint32
	ValueSize() uint32
	Type() ebpf.MapType
	Iterate() I
}

// dumpMaps reads every map, waggle's or the kernel's, by name.
func dumpMaps[M iterableMap[I], I mapIterator](all map[string]M) (mapDump, error) {
	d := mapDump{}
	for name, m := range all {
		if t := m.Type(); t == ebpf.ProgramArray || t == ebpf.LPMTrie {
			continue
		}
		key, value := make([]byte, m.KeySize()), make([]byte, m.ValueSize())
		it := m.Iterate()
		entries := map[uint32]uint64{}
		for it.Next(key, value) {
			addEntry(entries, m.Type(), key, value)
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
		d[name] = entries
	}
	return d, nil
}

func addEntry(entries map[uint32]uint64, typ ebpf.MapType, key, value []byte) {
	var v uint64
	switch len(value) {
	case 4:
		v = uint64(binary.NativeEndian.Uint32(value))
	case 8:
		v = binary.NativeEndian.Uint64(value)
	default:
		panic(fmt.Sprintf("benchmark map value of %d bytes", len(value)))
	}
	if typ == ebpf.Array && v == 0 {
		return
	}
	entries[binary.NativeEndian.Uint32(key)] = v
}

// kernelRun loads testdata/bench/NAME.o into the kernel and runs the
// program once (repeat times, sharing the maps) on pkt. When bench is set
// it then times the program on the same object: the best of three
// cilium/ebpf Program.Benchmark calls of 1,000,000 repetitions each, as the
// kernel reports it (whole nanoseconds per run). The wall clock around the
// calls is no use: each BPF_PROG_TEST_RUN of an XDP program with a repeat
// count above 1 also spends 15 to 25 ms in the kernel outside its timer,
// mostly asleep (15 to 25 ns per run of a million; measured here on return1
// with repeat counts from 1,000 to 10,000,000).
func kernelRun(name string, pkt []byte, repeat uint32, bench bool) (res benchResult, kernelNS float64, err error) {
	spec, err := ebpf.LoadCollectionSpec(benchObject(name))
	if err != nil {
		return res, 0, err
	}
	coll, err := kerneltest.LoadCollection(spec, ebpf.CollectionOptions{}, name)
	if err != nil {
		return res, 0, err
	}
	defer coll.Close()
	if fill := benchFill(name); fill != nil {
		err := fill(func(mapName string, key, value []byte) error {
			return coll.Maps[mapName].Update(key, value, ebpf.UpdateAny)
		})
		if err != nil {
			return res, 0, err
		}
	}
	prog := coll.Programs[name]
	ret, err := prog.Run(&ebpf.RunOptions{Data: pkt, Repeat: repeat})
	if err != nil {
		return res, 0, fmt.Errorf("BPF_PROG_TEST_RUN: %w", err)
	}
	res.ret = ret
	if res.maps, err = dumpMaps(coll.Maps); err != nil {
		return res, 0, err
	}
	if !bench {
		return res, 0, nil
	}
	const repeats = 1_000_000
	for range 3 {
		_, d, err := prog.Benchmark(pkt, repeats, nil)
		if err != nil {
			return res, 0, fmt.Errorf("benchmark: %w", err)
		}
		if ns := float64(d.Nanoseconds()); kernelNS == 0 || ns < kernelNS {
			kernelNS = ns
		}
	}
	return res, kernelNS, nil
}

func sameResult(a, b benchResult) bool {
	if a.ret != b.ret || len(a.maps) != len(b.maps) {
		return false
	}
	for name, m := range a.maps {
		n, ok := b.maps[name]
		if !ok || !maps.Equal(m, n) {
			return false
		}
	}
	return true
}

// BenchmarkEngines runs each program of testdata/bench on its packet:
// sub-benchmarks PROGRAM/ENGINE, ns/op being waggle's time per run
// (RunOptions.Repeat = b.N, one Run call). As root, kernel-ns/op is the
// kernel's time per run of the same object on the same packet
// (BPF_PROG_TEST_RUN, best of three runs of 1,000,000 repetitions, in
// whole nanoseconds as the kernel reports it; measured once per program and
// go test run, before the program's engines, and shared by all -count
// runs) and x-kernel the ratio of the two. Before timing, a run in waggle
// must give the result computed in Go, which the kernel's run must give
// too (as root).
func BenchmarkEngines(b *testing.B) {
	engines := []waggle.Engine{waggle.EngineInterpreter, waggle.EngineJIT}
	kernelErr := kerneltest.Available()
	if kernelErr != nil {
		b.Logf("no kernel figures (they need root and the bpf() system call): %v", kernelErr)
	}
	for _, bp := range benchPrograms {
		b.Run(bp.name, func(b *testing.B) {
			pkt := bp.packet()
			want := bp.want(pkt)
			var kernelNS float64
			kernelOK := kernelErr == nil
			var ue *kerneltest.UnsupportedError
			if kernelOK {
				got, kns, err := kernelRun(bp.name, pkt, 1, true)
				switch {
				case errors.As(err, &ue):
					b.Logf("no kernel figures: %v", ue)
					kernelOK = false
				case err != nil:
					b.Fatalf("kernel: %v", err)
				case !sameResult(got, want):
					b.Fatalf("kernel: returned %d, maps %v; want (computed in Go) %d, maps %v", got.ret, got.maps, want.ret, want.maps)
				default:
					kernelNS = kns
				}
			}
			for _, engine := range engines {
				b.Run(engine.String(), func(b *testing.B) {
					if got := runWaggle(b, bp.name, engine, pkt, 1); !sameResult(got, want) {
						b.Fatalf("returned %d, maps %v; want (computed in Go) %d, maps %v", got.ret, got.maps, want.ret, want.maps)
					}
					coll := loadBench(b, bp.name, engine)
					defer coll.Close()
					prog := coll.Programs[bp.name]
					opts := &waggle.RunOptions{Data: pkt, Repeat: uint32(b.N)}
					b.ReportAllocs()
					b.ResetTimer()
					if _, err := prog.Run(opts); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if kernelOK {
						ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
						b.ReportMetric(kernelNS, "kernel-ns/op")
						b.ReportMetric(ns/kernelNS, "x-kernel")
					}
				})
			}
		})
	}
}

// benchCase is one input of TestBenchProgramsAgree.
type benchCase struct {
	name   string
	prog   string
	pkt    []byte
	repeat uint32
	want   benchResult
}

func benchCases() []benchCase {
	var cases []benchCase
	for _, bp := range benchPrograms {
		pkt := bp.packet()
		cases = append(cases, benchCase{bp.name + "/bench-packet", bp.name, pkt, 1, bp.want(pkt)})
	}
	// IPv4 with an options word (IHL 6) in front of UDP to port 4660.
	opts := benchUDP(64)
	ip := kerneltest.IPv4(benchSrc, benchDst, kerneltest.ProtoUDP, nil)
	ip = append(ip[:20:20], 1, 1, 1, 0) // NOP NOP NOP EOL
	ip[0] = 0x46
	ip = append(ip, kerneltest.UDP(5353, 4660, kerneltest.Pattern(18))...)
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	opts = append(opts[:14:14], ip...)
	// A second fragment of a UDP datagram (offset 8 bytes).
	frag := benchUDP(64)
	frag[14+6], frag[14+7] = 0, 1
	// A frame cut in the UDP header.
	short := benchUDP(64)[:14+20+6]
	// IHL 4: not a valid header.
	badIHL := benchUDP(64)
	badIHL[14] = 0x44
	// ICMP.
	icmp := benchUDP(64)
	icmp[14+9] = kerneltest.ProtoICMP
	cases = append(cases,
		benchCase{"parser/tcp-64", "parser", benchTCP(64), 1, wantParser(parserTCP + 80%64)},
		benchCase{"parser/tcp-cut", "parser", benchTCP(64)[:14+20+19], 1, wantParser(parserOther)},
		benchCase{"parser/udp-ip-options", "parser", opts, 1, wantParser(parserUDP + 4660%64)},
		benchCase{"parser/udp-fragment", "parser", frag, 1, wantParser(parserOther)},
		benchCase{"parser/udp-cut", "parser", short, 1, wantParser(parserOther)},
		benchCase{"parser/ihl-4", "parser", badIHL, 1, wantParser(parserOther)},
		benchCase{"parser/icmp", "parser", icmp, 1, wantParser(parserOther)},
		benchCase{"parser/ipv6", "parser", kerneltest.FrameTCP6(), 1, wantParser(parserOther)},
		benchCase{"parser/repeat-5", "parser", benchUDP(64), 5,
			benchResult{ret: xdpPass, maps: mapDump{"port_counts": {parserUDP + 53%64: 5}}}},
		benchCase{"hash/repeat-5", "hash", benchUDP(64), 5,
			benchResult{ret: xdpPass, maps: mapDump{"src_counts": {hashKey(benchUDP(64)): 5}}}},
		benchCase{"hash/short", "hash", benchUDP(64)[:29], 1,
			benchResult{ret: xdpPass, maps: mapDump{"src_counts": {0: 1}}}},
	)
	cases = append(cases,
		benchCase{"tailcall/repeat-5", "tailcall", benchUDP(64), 5,
			benchResult{ret: xdpPass, maps: mapDump{"hops": {0: 5}}}},
		benchCase{"loop/repeat-3", "loop", benchUDP(64), 3,
			benchResult{ret: xdpPass, maps: mapDump{"loop_result": {0: 100<<32 | 328450}}}},
		benchCase{"lpm/short", "lpm", benchUDP(64)[:29], 1,
			benchResult{ret: xdpPass, maps: mapDump{"lpm_counts": {}}}},
	)
	for _, c := range []struct {
		src     string
		verdict uint32
		idx     uint32
	}{
		{"10.1.2.200", xdpPass, xdpPass},  // 10.1.2.128/25
		{"10.1.2.16", xdpPass, xdpPass},   // 10.1.2.0/24
		{"10.1.200.1", xdpDrop, xdpDrop},  // 10.1.0.0/16
		{"10.9.0.1", xdpPass, xdpPass},    // 10.0.0.0/8
		{"192.168.0.1", xdpPass, 0},       // no prefix
		{"10.3.63.255", xdpPass, xdpPass}, // 10.3.63.0/24
	} {
		pkt := benchUDP(64)
		copy(pkt[26:30], netip.MustParseAddr(c.src).AsSlice())
		cases = append(cases, benchCase{"lpm/" + c.src, "lpm", pkt, 1,
			benchResult{ret: c.verdict, maps: mapDump{"lpm_counts": {c.idx: 1}}}})
	}
	for _, n := range []int{14, 100, 1499, 1501, 3000} {
		pkt := benchUDP(max(n, 64))[:n]
		h := fnv.New32a()
		h.Write(pkt[:min(n, 1500)])
		cases = append(cases, benchCase{fmt.Sprintf("fnv1a/%d-bytes", n), "fnv1a", pkt, 1,
			benchResult{ret: xdpPass, maps: mapDump{"fnv_result": {0: uint64(h.Sum32())}}}})
	}
	return cases
}

// TestBenchProgramsAgree runs the benchmark programs once on their packets
// (and on a few others) in waggle's interpreter and, as root, in the
// kernel, and checks the results against the ones computed in Go.
func TestBenchProgramsAgree(t *testing.T) {
	kernelErr := kerneltest.Available()
	for _, c := range benchCases() {
		t.Run(c.name+"/interpreter", func(t *testing.T) {
			got := runWaggle(t, c.prog, waggle.EngineInterpreter, c.pkt, c.repeat)
			if !sameResult(got, c.want) {
				t.Errorf("returned %d, maps %v; want %d, maps %v", got.ret, got.maps, c.want.ret, c.want.maps)
			}
		})
		t.Run(c.name+"/kernel", func(t *testing.T) {
			if kernelErr != nil {
				t.Skipf("no kernel comparison (needs root and the bpf() system call): %v", kernelErr)
			}
			got, _, err := kernelRun(c.prog, c.pkt, c.repeat, false)
			if err != nil {
				kerneltest.SkipIfUnsupported(t, err)
				t.Fatal(err)
			}
			if !sameResult(got, c.want) {
				t.Errorf("returned %d, maps %v; want %d, maps %v", got.ret, got.maps, c.want.ret, c.want.maps)
			}
		})
	}
}

// TestBenchObjectsUpToDate rebuilds testdata/bench's C sources, when clang
// is installed, and checks that the committed objects hold the same
// programs (instructions) and maps.
func TestBenchObjectsUpToDate(t *testing.T) {
	var sources []string
	for _, bp := range benchPrograms {
		sources = append(sources, filepath.Join("testdata", "bench", bp.name+".c"))
	}
	kerneltest.ObjectsUpToDate(t, sources...)
}
