// Package kerneltest runs eBPF objects in the real Linux kernel, through
// cilium/ebpf and BPF_PROG_TEST_RUN, so that waggle's results can be checked
// against the kernel's. It is used only by tests.
//
// # Runs
//
// [Run] loads a whole object (every program and map, as cilium/ebpf's
// NewCollection does, so statically initialised prog_array and map-in-map
// slots are filled), optionally lets [Input.Setup] change it, runs one
// program [Input.Repeat] times and dumps the maps named in
// [Input.MapsToDump]. Each repetition is a separate BPF_PROG_TEST_RUN call
// with repeat = 1 on a fresh copy of the input: the kernel's own repeat
// count would reuse the packet buffer modified by the previous iteration for
// XDP and would run some iterations twice when a signal interrupts the
// system call, so waggle's emulation defines "repeat N" as N independent runs
// on the same input that share the maps. The results of the last run are
// returned.
//
// # CPUs
//
// The calling thread is pinned to one CPU (the first one the process may run
// on, normally CPU 0) for the whole run, and raw tracepoint programs are also
// told to run there (BPF_F_TEST_RUN_ON_CPU), so every run of a case executes
// on [Result.CPU]. Per-CPU map values are dumped for all possible CPUs
// ([Result.NumCPU], cilium/ebpf's PossibleCPU), concatenated in CPU order,
// each padded to a multiple of 8 bytes, which is the layout of the
// bpf(BPF_MAP_LOOKUP_ELEM) system call. A user-space runtime with a
// different number of CPUs compares either the slot of the CPU the program
// ran on ([PerCPUSlot]) together with "all other slots are zero", or the sum
// over CPUs of counters ([SumPerCPU]). Both give the same answer for the
// cases of this package, which run on a single CPU.
//
// # Map dumps
//
// See [Result.Maps] for how each map type is dumped.
package kerneltest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// KV is one dumped map entry or one record read from a ring buffer, perf
// event array, queue or stack.
type KV struct {
	Key   []byte
	Value []byte
}

// Input is what one call of [Run] feeds the program.
type Input struct {
	// Data is the packet for XDP, TC and socket filter programs. The kernel
	// requires at least 14 bytes (an Ethernet header) for them; syscall and
	// raw tracepoint programs take no data.
	Data []byte
	// Context is the context: struct xdp_md or struct __sk_buff fields for
	// packet programs (optional), the raw context memory of a syscall
	// program, the u64 arguments of a raw tracepoint program.
	Context []byte
	// Repeat is how many times the program runs (0 means 1); see the package
	// documentation.
	Repeat int
	// MapsToDump names the maps (as in the object: "counts", ".bss",
	// ".data.foo", ...) whose contents go into Result.Maps.
	MapsToDump []string
	// Setup, if set, is called after the object is loaded and before the
	// first run, for instance to fill maps.
	Setup func(coll *ebpf.Collection) error
}

// Result is what one call of [Run] gave, after the last repetition.
type Result struct {
	// Retval is the program's return value.
	Retval uint32
	// DataOut is the packet after the run, for packet programs. For XDP it
	// starts at data_meta: metadata added with bpf_xdp_adjust_meta is part
	// of it. For socket filters it starts at the Ethernet header although
	// the program saw the packet from its network header.
	DataOut []byte
	// CtxOut is the context after the run: for syscall programs the context
	// memory as the program left it; for XDP and TC programs the xdp_md or
	// __sk_buff that the kernel reports back, when Input.Context was given;
	// nil otherwise (raw tracepoints return no context).
	CtxOut []byte
	// Maps holds the dumped maps by name:
	//   - array, hash, LRU, LPM trie and the global data sections: every
	//     entry that iteration yields, sorted by key bytes (arrays in index
	//     order, hash maps in a defined order rather than the kernel's);
	//   - per-CPU maps: the value of every possible CPU, each padded to 8
	//     bytes, concatenated in CPU order (see the package documentation);
	//   - ring buffers: the submitted records in order, keyed by their index
	//     (u32, little endian), discarded records excluded;
	//   - perf event arrays: the records read from every CPU's buffer, keyed
	//     by their index; a record's value is the raw sample as the kernel
	//     stores it, padded so that 4 + len is a multiple of 8 (the padding
	//     bytes are not defined, so programs emit sizes that need none);
	//   - queues and stacks: the elements in the order pop returns them,
	//     keyed by their index; the map is empty afterwards;
	//   - prog arrays and maps of maps: each occupied slot's key with, as
	//     value, the name of the program or map it holds;
	//   - bloom filters and other types cannot be iterated: Run fails.
	Maps map[string][]KV
	// CPU is the CPU the program ran on.
	CPU int
	// NumCPU is the number of possible CPUs, the number of slots of a
	// per-CPU value.
	NumCPU int
}

// Available reports whether this process can load programs into the kernel
// and run them with BPF_PROG_TEST_RUN. The error says what is missing.
func Available() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("kerneltest: needs Linux, this is %s", runtime.GOOS)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:    "kerneltest_probe",
		Type:    ebpf.XDP,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 2), // XDP_PASS
			asm.Return(),
		},
	})
	if err != nil {
		hint := ""
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			hint = fmt.Sprintf(" (euid %d; loading XDP programs needs root or CAP_BPF and CAP_NET_ADMIN, and kernel.unprivileged_bpf_disabled does not help)", os.Geteuid())
		}
		if errors.Is(err, unix.ENOSYS) {
			hint = " (the bpf() system call is not available: kernel without CONFIG_BPF_SYSCALL, or blocked by seccomp)"
		}
		return fmt.Errorf("kerneltest: cannot load a program into the kernel: %w%s", err, hint)
	}
	defer prog.Close()
	ret, _, err := prog.Test(make([]byte, 14))
	if err != nil {
		return fmt.Errorf("kerneltest: BPF_PROG_TEST_RUN does not work: %w", err)
	}
	if ret != 2 {
		return fmt.Errorf("kerneltest: BPF_PROG_TEST_RUN of a program returning 2 gave %d", ret)
	}
	return nil
}

// outputPad is how much a packet may grow during a run (bpf_xdp_adjust_head
// with a negative delta, bpf_xdp_adjust_tail, bpf_skb_change_tail).
const outputPad = 4096 + 256

// Run loads the object at objPath into the kernel, runs its program
// progName with in and returns what the last run gave.
func Run(objPath, progName string, in Input) (*Result, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	spec, err := ebpf.LoadCollectionSpec(objPath)
	if err != nil {
		return nil, fmt.Errorf("kerneltest: %w", err)
	}
	if _, ok := spec.Programs[progName]; !ok {
		return nil, fmt.Errorf("kerneltest: %s has no program %q (has %v)", objPath, progName, sortedKeys(spec.Programs))
	}
	coll, err := LoadCollection(spec, ebpf.CollectionOptions{}, progName, in.MapsToDump...)
	if err != nil {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("kerneltest: load %s: %w", objPath, err)
		}
		return nil, fmt.Errorf("kerneltest: load %s: %w", objPath, verifierDetail(err))
	}
	defer coll.Close()
	prog := coll.Programs[progName]

	if in.Setup != nil {
		if err := in.Setup(coll); err != nil {
			return nil, fmt.Errorf("kerneltest: setup: %w", err)
		}
	}

	for _, name := range in.MapsToDump {
		if _, ok := coll.Maps[name]; !ok {
			return nil, fmt.Errorf("kerneltest: %s has no map %q (has %v)", objPath, name, sortedKeys(coll.Maps))
		}
	}

	// Perf event buffers must exist before the run, or the program's
	// bpf_perf_event_output finds no event and returns -ENOENT.
	perfReaders := map[string]*perf.Reader{}
	defer func() {
		for _, r := range perfReaders {
			r.Close()
		}
	}()
	for _, name := range in.MapsToDump {
		m := coll.Maps[name]
		if m.Type() != ebpf.PerfEventArray {
			continue
		}
		r, err := perf.NewReader(m, os.Getpagesize())
		if err != nil {
			return nil, fmt.Errorf("kerneltest: perf reader for %s: %w", name, err)
		}
		perfReaders[name] = r
	}

	res := &Result{NumCPU: ebpf.MustPossibleCPU()}
	if err := runPinned(prog, in, res); err != nil {
		return nil, fmt.Errorf("kerneltest: run %s/%s: %w", objPath, progName, err)
	}

	res.Maps = map[string][]KV{}
	for _, name := range in.MapsToDump {
		var kvs []KV
		var err error
		if r := perfReaders[name]; r != nil {
			kvs, err = drainPerf(r)
		} else {
			kvs, err = dumpMap(coll, coll.Maps[name])
		}
		if err != nil {
			return nil, fmt.Errorf("kerneltest: dump %s: %w", name, err)
		}
		res.Maps[name] = kvs
	}
	return res, nil
}

// runPinned runs prog on one CPU, in.Repeat times, and fills res.
func runPinned(prog *ebpf.Program, in Input, res *Result) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	cpu := -1
	for i := 0; i < len(old)*64; i++ {
		if old.IsSet(i) {
			cpu = i
			break
		}
	}
	if cpu < 0 {
		return errors.New("no CPU in this thread's affinity mask")
	}
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return fmt.Errorf("sched_setaffinity: %w", err)
	}
	defer unix.SchedSetaffinity(0, &old) //nolint:errcheck // best effort; the thread is locked and released afterwards
	res.CPU = cpu

	repeat := max(in.Repeat, 1)
	typ := prog.Type()
	ctx := slices.Clone(in.Context)
	for range repeat {
		opts := ebpf.RunOptions{Repeat: 1}
		switch typ {
		case ebpf.Syscall:
			// The kernel copies the context back into the input buffer;
			// cilium/ebpf returns it through ContextOut. Each repetition
			// starts from the original context.
			if len(ctx) > 0 {
				opts.Context = slices.Clone(in.Context)
				out := make([]byte, len(ctx))
				opts.ContextOut = out
				ctx = out
			}
			opts.Repeat = 0
		case ebpf.RawTracepoint, ebpf.RawTracepointWritable, ebpf.Tracing:
			if len(ctx) > 0 {
				opts.Context = slices.Clone(in.Context)
			}
			opts.Repeat = 0
			opts.Flags = unix.BPF_F_TEST_RUN_ON_CPU
			opts.CPU = uint32(cpu)
		default:
			opts.Data = slices.Clone(in.Data)
			opts.DataOut = make([]byte, len(in.Data)+outputPad)
			if len(in.Context) > 0 {
				opts.Context = slices.Clone(in.Context)
				out := make([]byte, len(in.Context))
				opts.ContextOut = out
				ctx = out
			}
		}
		ret, err := prog.Run(&opts)
		if err != nil {
			return err
		}
		res.Retval = ret
		res.DataOut = opts.DataOut
	}
	switch typ {
	case ebpf.Syscall:
		res.CtxOut = ctx
	case ebpf.RawTracepoint, ebpf.RawTracepointWritable, ebpf.Tracing:
	default:
		if len(in.Context) > 0 {
			res.CtxOut = ctx
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// verifierDetail adds the whole verifier log to a verifier error.
func verifierDetail(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w\n%+v", err, ve)
	}
	return err
}

func u32Key(i int) []byte {
	return binary.LittleEndian.AppendUint32(nil, uint32(i))
}

// dumpMap returns the contents of m as Result.Maps describes them.
func dumpMap(coll *ebpf.Collection, m *ebpf.Map) ([]KV, error) {
	switch m.Type() {
	case ebpf.RingBuf:
		return drainRingbuf(m)
	case ebpf.Queue, ebpf.Stack:
		var kvs []KV
		for i := 0; ; i++ {
			val := make([]byte, m.ValueSize())
			err := m.LookupAndDelete(nil, &val)
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				return kvs, nil
			}
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, KV{Key: u32Key(i), Value: val})
		}
	case ebpf.ProgramArray, ebpf.ArrayOfMaps, ebpf.HashOfMaps:
		return dumpByID(coll, m)
	case ebpf.Array, ebpf.Hash, ebpf.LRUHash, ebpf.LPMTrie,
		ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash:
	default:
		return nil, fmt.Errorf("maps of type %s cannot be dumped", m.Type())
	}

	perCPU := m.Type() == ebpf.PerCPUArray || m.Type() == ebpf.PerCPUHash || m.Type() == ebpf.LRUCPUHash
	var kvs []KV
	var key []byte
	it := m.Iterate()
	if perCPU {
		var vals [][]byte
		stride := (int(m.ValueSize()) + 7) &^ 7
		for it.Next(&key, &vals) {
			v := make([]byte, 0, stride*len(vals))
			for _, cpuVal := range vals {
				v = append(v, cpuVal...)
				v = append(v, make([]byte, stride-len(cpuVal))...)
			}
			kvs = append(kvs, KV{Key: slices.Clone(key), Value: v})
		}
	} else {
		var val []byte
		for it.Next(&key, &val) {
			kvs = append(kvs, KV{Key: slices.Clone(key), Value: slices.Clone(val)})
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	sortKVs(kvs, m.Type())
	return kvs, nil
}

func sortKVs(kvs []KV, typ ebpf.MapType) {
	if typ == ebpf.Array || typ == ebpf.PerCPUArray {
		return // index order already, and little-endian keys do not sort bytewise
	}
	slices.SortFunc(kvs, func(a, b KV) int { return bytes.Compare(a.Key, b.Key) })
}

// dumpByID describes a prog array or a map of maps: for each occupied slot,
// the name of the program or map whose ID the kernel reports there.
func dumpByID(coll *ebpf.Collection, m *ebpf.Map) ([]KV, error) {
	names := map[uint32]string{}
	if m.Type() == ebpf.ProgramArray {
		for name, p := range coll.Programs {
			info, err := p.Info()
			if err != nil {
				return nil, err
			}
			if id, ok := info.ID(); ok {
				names[uint32(id)] = name
			}
		}
	} else {
		for name, mm := range coll.Maps {
			info, err := mm.Info()
			if err != nil {
				return nil, err
			}
			if id, ok := info.ID(); ok {
				names[uint32(id)] = name
			}
		}
	}
	var kvs []KV
	var key []byte
	var id uint32
	it := m.Iterate()
	for it.Next(&key, &id) {
		name, ok := names[id]
		if !ok {
			name = fmt.Sprintf("id:%d", id)
		}
		kvs = append(kvs, KV{Key: slices.Clone(key), Value: []byte(name)})
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	sortKVs(kvs, m.Type())
	if m.Type() == ebpf.ProgramArray || m.Type() == ebpf.ArrayOfMaps {
		slices.SortFunc(kvs, func(a, b KV) int {
			return int(binary.LittleEndian.Uint32(a.Key)) - int(binary.LittleEndian.Uint32(b.Key))
		})
	}
	return kvs, nil
}

func drainRingbuf(m *ebpf.Map) ([]KV, error) {
	r, err := ringbuf.NewReader(m)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	r.SetDeadline(time.Now())
	var kvs []KV
	for {
		rec, err := r.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return kvs, nil
		}
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, KV{Key: u32Key(len(kvs)), Value: slices.Clone(rec.RawSample)})
	}
}

func drainPerf(r *perf.Reader) ([]KV, error) {
	r.SetDeadline(time.Now())
	var kvs []KV
	for {
		rec, err := r.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return kvs, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.LostSamples > 0 {
			return nil, fmt.Errorf("%d perf samples lost on CPU %d", rec.LostSamples, rec.CPU)
		}
		kvs = append(kvs, KV{Key: u32Key(len(kvs)), Value: slices.Clone(rec.RawSample)})
	}
}

// PerCPUSlot returns CPU cpu's value from a dumped per-CPU value whose
// element size is valueSize (each CPU's slot is padded to 8 bytes).
func PerCPUSlot(v []byte, valueSize, cpu int) []byte {
	stride := (valueSize + 7) &^ 7
	if (cpu+1)*stride > len(v) {
		return nil
	}
	return v[cpu*stride : cpu*stride+valueSize]
}

// SumPerCPU adds up, over all CPUs, a per-CPU value made of little-endian
// u64 counters (valueSize a multiple of 8), as a runtime with a different
// number of CPUs would compare counters.
func SumPerCPU(v []byte, valueSize int) []byte {
	sum := make([]byte, valueSize)
	for off := 0; off+valueSize <= len(v); off += (valueSize + 7) &^ 7 {
		for i := 0; i+8 <= valueSize; i += 8 {
			s := binary.LittleEndian.Uint64(sum[i:]) + binary.LittleEndian.Uint64(v[off+i:])
			binary.LittleEndian.PutUint64(sum[i:], s)
		}
	}
	return sum
}

// Verify loads every program of the object at objPath into the kernel, one
// at a time, and returns each program's verdict: nil when the verifier
// accepted it, else the error with the verifier's log (print it with %+v).
// A refusal that a feature the kernel lacks explains (the program's type,
// a helper it calls, the type of a map it uses; see ProgramLacks) is an
// *UnsupportedError that wraps the refusal. The error result is for
// failures that are not about one program: an unreadable object, or maps
// the kernel refuses to create (an *UnsupportedError when it lacks their
// type).
func Verify(objPath string) (map[string]error, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	spec, err := ebpf.LoadCollectionSpec(objPath)
	if err != nil {
		return nil, fmt.Errorf("kerneltest: %w", err)
	}
	// Maps alone first, so that a map problem is not blamed on a program.
	mapsOnly := spec.Copy()
	mapsOnly.Programs = map[string]*ebpf.ProgramSpec{}
	clearProgramContents(mapsOnly)
	coll, err := ebpf.NewCollection(mapsOnly)
	if err != nil {
		_, missing, lerr := lacks(mapsOnly)
		if names := sortedKeys(missing); len(names) > 0 {
			ue := missing[names[0]]
			ue.Err = err
			return nil, fmt.Errorf("kerneltest: maps of %s: %w", objPath, ue)
		}
		return nil, fmt.Errorf("kerneltest: maps of %s: %w", objPath, errors.Join(err, lerr))
	}
	coll.Close()

	verdicts := map[string]error{}
	for name := range spec.Programs {
		one := spec.Copy()
		clearProgramContents(one)
		for other := range one.Programs {
			if other != name {
				delete(one.Programs, other)
			}
		}
		coll, err := ebpf.NewCollection(one)
		if err != nil {
			err = verifierDetail(err)
			missing, _, lerr := lacks(one)
			switch ue := missing[name]; {
			case lerr != nil:
				err = errors.Join(err, lerr)
			case ue != nil:
				ue.Err = err
				err = ue
			}
			verdicts[name] = err
			continue
		}
		coll.Close()
		verdicts[name] = nil
	}
	return verdicts, nil
}

// clearProgramContents drops the static contents of prog arrays, which name
// programs that may not be part of a reduced collection.
func clearProgramContents(spec *ebpf.CollectionSpec) {
	for _, m := range spec.Maps {
		if m.Type == ebpf.ProgramArray {
			m.Contents = nil
		}
	}
}
