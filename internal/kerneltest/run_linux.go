package kerneltest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

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
			kvs, err = DumpMap(coll, coll.Maps[name])
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

// DumpMap returns the contents of the kernel's map m of coll as
// Result.Maps describes them (sorted by key; per-CPU values as every
// CPU's slot in a row; prog arrays and maps of maps by the names of what
// their slots hold).
func DumpMap(coll *ebpf.Collection, m *ebpf.Map) ([]KV, error) {
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

func u32Key(i int) []byte {
	return binary.LittleEndian.AppendUint32(nil, uint32(i))
}

var release = sync.OnceValue(func() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "(unknown release)"
	}
	return unix.ByteSliceToString(u.Release[:])
})
