package kerneltest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/cilium/ebpf"
)

// Case is one test run of one program: the object, the input, the maps to
// compare and what the result must be. Expectations were written by
// reading the C sources (the header comment of each file says what a
// program does) and are checked against the kernel by this package's
// tests; a user-space runtime must give the same.
type Case struct {
	// Name is unique among the cases: "object/program/input".
	Name string
	// Object is the ELF object's path relative to the repository root.
	Object string
	// Program is the program's name in the object (its C function name).
	Program string
	// Type is the program type the object's section gives it.
	Type ebpf.ProgramType
	// Data is the packet, Context the context (see Input).
	Data, Context []byte
	// Repeat is how many runs share the maps (0 means 1).
	Repeat int
	// Maps are dumped after the last run and compared with Want.Maps.
	Maps []string
	// Prefill is put into maps after loading, before the first run (with
	// BPF_ANY). Most programs fill their own maps from their input, so that
	// both runtimes start from the object alone; this is for maps that only
	// user space can fill (a device map) or that the program expects to be
	// configured (the firewall example).
	Prefill []MapEntry
	// Want is the expected result.
	Want Want
}

// MapEntry is one entry that a case puts into a map before running.
type MapEntry struct {
	Map        string
	Key, Value []byte
}

// Want is what a case's result must be.
type Want struct {
	Retval uint32
	// DataOut, when not nil, must equal the output packet.
	DataOut []byte
	// CtxOut, when not nil, must equal the output context.
	CtxOut []byte
	// Maps has an entry for every map of Case.Maps:
	//   - arrays (including .data, .bss and other global data): the listed
	//     indexes must hold the listed values and every other index must
	//     be zero;
	//   - per-CPU arrays: the same, where a value is the slot of the CPU
	//     the program ran on; every other CPU's slot must be zero;
	//   - per-CPU hashes: the exact set of keys, each value being the run
	//     CPU's slot, every other slot zero;
	//   - every other type: exactly the listed entries (in key order for
	//     hash-like maps, in record order for ring buffers, perf buffers,
	//     queues and stacks). nil means empty.
	Maps map[string][]KV
	// Check, when set, checks what the fields above cannot express.
	Check func(r *Result) error
}

// RepoRoot returns the repository's root directory, found from this
// source file's location.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Input returns the Input that runs c with Run (Prefill becomes Setup).
func (c *Case) Input() Input {
	in := Input{Data: c.Data, Context: c.Context, Repeat: c.Repeat, MapsToDump: c.Maps}
	if len(c.Prefill) > 0 {
		prefill := c.Prefill
		in.Setup = func(coll *ebpf.Collection) error {
			for _, e := range prefill {
				m := coll.Maps[e.Map]
				if m == nil {
					return fmt.Errorf("no map %q", e.Map)
				}
				if err := m.Put(e.Key, e.Value); err != nil {
					return fmt.Errorf("prefill %s: %w", e.Map, err)
				}
			}
			return nil
		}
	}
	return in
}

// Check compares r with c.Want. It reads the object to learn the maps'
// types and value sizes. It works for the Result of any runtime that
// follows Result's conventions (per-CPU values with NumCPU padded slots, the
// program having run on CPU), so a user-space runtime can be held to the
// same expectations as the kernel.
func (c *Case) Check(r *Result) error {
	spec, err := ebpf.LoadCollectionSpec(filepath.Join(RepoRoot(), c.Object))
	if err != nil {
		return err
	}
	var errs []error
	if r.Retval != c.Want.Retval {
		errs = append(errs, fmt.Errorf("retval %d (%#x), want %d (%#x)", r.Retval, r.Retval, c.Want.Retval, c.Want.Retval))
	}
	if c.Want.DataOut != nil && !bytes.Equal(r.DataOut, c.Want.DataOut) {
		errs = append(errs, fmt.Errorf("data out\n got %x\nwant %x", r.DataOut, c.Want.DataOut))
	}
	if c.Want.CtxOut != nil && !bytes.Equal(r.CtxOut, c.Want.CtxOut) {
		errs = append(errs, fmt.Errorf("ctx out\n got %x\nwant %x", r.CtxOut, c.Want.CtxOut))
	}
	for _, name := range c.Maps {
		want, ok := c.Want.Maps[name]
		if !ok {
			errs = append(errs, fmt.Errorf("map %s is dumped but Want.Maps has no entry for it", name))
			continue
		}
		ms := spec.Maps[name]
		if ms == nil {
			errs = append(errs, fmt.Errorf("object has no map %s", name))
			continue
		}
		if err := compareMap(ms.Type, int(ms.ValueSize), r, r.Maps[name], want); err != nil {
			errs = append(errs, fmt.Errorf("map %s: %w", name, err))
		}
	}
	for name := range c.Want.Maps {
		if !slices.Contains(c.Maps, name) {
			errs = append(errs, fmt.Errorf("Want.Maps has %s, which Case.Maps does not dump", name))
		}
	}
	if c.Want.Check != nil {
		if err := c.Want.Check(r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// cpuValue checks that only the run CPU's slot may be non-zero and returns
// that slot.
func cpuValue(v []byte, valueSize int, r *Result) ([]byte, error) {
	stride := (valueSize + 7) &^ 7
	if len(v) != stride*r.NumCPU {
		return nil, fmt.Errorf("per-CPU value of %d bytes, want %d CPUs x %d", len(v), r.NumCPU, stride)
	}
	for cpu := 0; cpu < r.NumCPU; cpu++ {
		if cpu != r.CPU && !isZero(PerCPUSlot(v, valueSize, cpu)) {
			return nil, fmt.Errorf("CPU %d, which did not run the program, has %x", cpu, PerCPUSlot(v, valueSize, cpu))
		}
	}
	return PerCPUSlot(v, valueSize, r.CPU), nil
}

func compareMap(typ ebpf.MapType, valueSize int, r *Result, got, want []KV) error {
	perCPU := typ == ebpf.PerCPUArray || typ == ebpf.PerCPUHash || typ == ebpf.LRUCPUHash
	if perCPU {
		conv := make([]KV, 0, len(got))
		for _, kv := range got {
			v, err := cpuValue(kv.Value, valueSize, r)
			if err != nil {
				return fmt.Errorf("key %x: %w", kv.Key, err)
			}
			conv = append(conv, KV{Key: kv.Key, Value: v})
		}
		got = conv
	}
	if typ == ebpf.Array || typ == ebpf.PerCPUArray {
		wantBy := map[string][]byte{}
		for _, kv := range want {
			wantBy[string(kv.Key)] = kv.Value
		}
		var errs []error
		for _, kv := range got {
			w, listed := wantBy[string(kv.Key)]
			delete(wantBy, string(kv.Key))
			switch {
			case listed && !bytes.Equal(kv.Value, w):
				errs = append(errs, fmt.Errorf("[%s] = %x, want %x", keyString(kv.Key), kv.Value, w))
			case !listed && !isZero(kv.Value):
				errs = append(errs, fmt.Errorf("[%s] = %x, want zero", keyString(kv.Key), kv.Value))
			}
		}
		for k := range wantBy {
			errs = append(errs, fmt.Errorf("[%s] missing", keyString([]byte(k))))
		}
		return errors.Join(errs...)
	}
	if typ != ebpf.RingBuf && typ != ebpf.PerfEventArray && typ != ebpf.Queue && typ != ebpf.Stack {
		want = slices.Clone(want)
		slices.SortFunc(want, func(a, b KV) int { return bytes.Compare(a.Key, b.Key) })
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d entries, want %d:\n got %s\nwant %s", len(got), len(want), kvString(got), kvString(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) {
			return fmt.Errorf("entries differ:\n got %s\nwant %s", kvString(got), kvString(want))
		}
	}
	return nil
}

func keyString(k []byte) string {
	if len(k) == 4 {
		return fmt.Sprint(binary.LittleEndian.Uint32(k))
	}
	return fmt.Sprintf("%x", k)
}

func kvString(kvs []KV) string {
	var b bytes.Buffer
	for _, kv := range kvs {
		fmt.Fprintf(&b, "{%x: %x} ", kv.Key, kv.Value)
	}
	return b.String()
}

// ObjectPath returns the absolute path of c's object.
func (c *Case) ObjectPath() string {
	return filepath.Join(RepoRoot(), c.Object)
}
