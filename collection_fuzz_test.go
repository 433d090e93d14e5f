package waggle_test

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle"
)

// fuzzWatchdog is how long one fuzz input may take before the fuzz target
// counts it as a hang and crashes the worker, so that the fuzzer keeps the
// input (Go's fuzzer has no time limit per input of its own).
const fuzzWatchdog = 20 * time.Second

// fuzzBudget is the instruction budget of every fuzzed run.
const fuzzBudget = 10000

// committedObjects returns the paths of every .o file under testdata/ and
// examples/, sorted.
func committedObjects(tb testing.TB) []string {
	tb.Helper()
	var paths []string
	for _, root := range []string{"testdata", "examples"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".o") {
				paths = append(paths, path)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		tb.Fatal("no .o files under testdata/ and examples/")
	}
	return paths
}

// watchdog crashes the process if the input takes longer than
// fuzzWatchdog; the returned function stops it.
func watchdog(what string) func() bool {
	start := time.Now()
	return time.AfterFunc(fuzzWatchdog, func() {
		panic(what + " hung: still running after " + time.Since(start).String())
	}).Stop
}

// runOnce runs p once on a small input suited to its type, with a small
// budget. Errors are expected; only panics and hangs are bugs.
func runOnce(p *waggle.Program) {
	opts := &waggle.RunOptions{Budget: fuzzBudget}
	ctx := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	switch p.Type() {
	case ebpf.RawTracepoint:
		opts.Context = ctx(48) // six u64 arguments
	case ebpf.Syscall:
		opts.Context = ctx(576)
	case ebpf.Kprobe, ebpf.TracePoint, ebpf.PerfEvent:
		opts.Context = ctx(64)
	default:
		data := make([]byte, 64)
		copy(data, testPacket)
		opts.Data = data
	}
	_, _ = p.Run(opts)
}

// testPacket is the start of an IPv4/UDP frame, so that fuzzed packet
// parsers get past the Ethernet header.
var testPacket = []byte{
	0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, // Ethernet, IPv4
	0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4, UDP
	0x30, 0x39, 0x00, 0x35, 0, 30, 0, 0, // UDP 12345 → 53
}

// runAll runs every program of coll once, in name order.
func runAll(coll *waggle.Collection) {
	names := make([]string, 0, len(coll.Programs))
	for name := range coll.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		runOnce(coll.Programs[name])
	}
}

// FuzzLoadCollection loads random objects (seeded with every committed
// object): LoadCollectionSpecFromReader, then NewCollection, then one run of
// each program. Errors are fine; panics and hangs are not. The maps may
// hold 256 MiB: the objects that ask for gigabytes (testdata/objects/huge_*)
// are refused, as any input that does.
//
// Fuzz it with -fuzzminimizetime 1x: the seeds are whole objects, and the
// fuzzer's default minimisation of each new input (up to a minute, one run
// per byte it tries to drop) takes all its time (about 100 runs a minute,
// against 3,000 a second with minimisation off).
func FuzzLoadCollection(f *testing.F) {
	prev := waggle.SetMapMemoryLimit(256 << 20)
	f.Cleanup(func() { waggle.SetMapMemoryLimit(prev) })
	for _, path := range committedObjects(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		defer watchdog("FuzzLoadCollection")()
		spec, err := waggle.LoadCollectionSpecFromReader(bytes.NewReader(obj))
		if err != nil {
			return
		}
		coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: 2})
		if err != nil {
			return
		}
		defer coll.Close()
		runAll(coll)
	})
}

// fuzzTarget is a program of a committed object whose instructions
// FuzzInstructionsInObject replaces.
type fuzzTarget struct {
	spec *ebpf.CollectionSpec
	prog string
	maps []string // the object's maps, by name, for fuzzed map loads
}

// fuzzTargets loads the objects whose programs FuzzInstructionsInObject
// replaces: every program type waggle runs, and maps of every kind.
var fuzzTargets = sync.OnceValues(func() ([]fuzzTarget, error) {
	var targets []fuzzTarget
	for _, path := range []string{
		"testdata/objects/valid.o",
		"testdata/progs/global_data.o",
		"testdata/progs/hash_maps.o",
		"testdata/progs/lpm.o",
		"testdata/progs/loops.o",
		"testdata/progs/ringbuf.o",
		"testdata/progs/queue_stack.o",
		"testdata/progs/bloom.o",
		"testdata/progs/tail_calls.o",
		"testdata/progs/map_in_map.o",
		"testdata/progs/perf_output.o",
		"testdata/progs/skb_progs.o",
		"testdata/progs/spin_lock.o",
		"testdata/progs/strings.o",
		"testdata/progs/redirect.o",
	} {
		spec, err := waggle.LoadCollectionSpec(path)
		if err != nil {
			return nil, err
		}
		var mapNames []string
		for name := range spec.Maps {
			mapNames = append(mapNames, name)
		}
		sort.Strings(mapNames)
		var progs []string
		for name := range spec.Programs {
			progs = append(progs, name)
		}
		sort.Strings(progs)
		for _, prog := range progs {
			targets = append(targets, fuzzTarget{spec: spec, prog: prog, maps: mapNames})
		}
	}
	return targets, nil
})

// fuzzCode encodes instructions as bytecode, for seeds.
func fuzzCode(tb testing.TB, insns ...asm.Instruction) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := asm.Instructions(insns).Marshal(&buf, binary.LittleEndian); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzInstructionsInObject replaces a program of a committed object with
// fuzzed bytecode and loads and runs the collection. A map load in the
// bytecode (lddw with src 1 to 6) refers to the object's map number imm,
// modulo the number of maps, so that fuzzed code reaches the maps and
// their helpers. NewCollection and Run may fail; they must not panic or
// hang.
func FuzzInstructionsInObject(f *testing.F) {
	targets, err := fuzzTargets()
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: each target's own instructions, with their map loads
	// numbered as the fuzz function expects, and a few small programs.
	for i, tgt := range targets {
		insns := slices.Clone(tgt.spec.Programs[tgt.prog].Instructions)
		for j := range insns {
			if insns[j].IsLoadFromMap() {
				n := slices.Index(tgt.maps, insns[j].Reference())
				insns[j].Constant = insns[j].Constant&^0xffffffff | int64(n)
			}
		}
		f.Add(uint16(i), fuzzCode(f, insns...))
	}
	f.Add(uint16(0), fuzzCode(f, asm.Mov.Imm(asm.R0, 2), asm.Return()))
	f.Add(uint16(0), fuzzCode(f,
		asm.StoreImm(asm.RFP, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, 0),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord),
		asm.Return().WithSymbol("out"),
	))
	f.Add(uint16(1), fuzzCode(f,
		asm.LoadMapValue(asm.R1, 1, 0),
		asm.StoreImm(asm.R1, 0, 7, asm.Word),
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	))
	f.Fuzz(func(t *testing.T, which uint16, code []byte) {
		tgt := targets[int(which)%len(targets)]
		insns, err := asm.AppendInstructions(nil, bytes.NewReader(code), binary.LittleEndian, "linux")
		if err != nil || len(insns) == 0 {
			return
		}
		for i := range insns {
			if insns[i].IsLoadFromMap() && len(tgt.maps) > 0 {
				insns[i] = insns[i].WithReference(tgt.maps[uint32(insns[i].Constant)%uint32(len(tgt.maps))])
			}
		}
		spec := tgt.spec.Copy()
		spec.Programs[tgt.prog].Instructions = insns

		defer watchdog("FuzzInstructionsInObject")()
		// The verifier would refuse nearly every fuzzed program; without
		// it the checked interpreter alone must keep the host safe.
		coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: 2, SkipVerification: true})
		if err != nil {
			return
		}
		defer coll.Close()
		runOnce(coll.Programs[tgt.prog])
	})
}
