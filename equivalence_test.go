package waggle

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// equivalenceCPUs is the number of CPU slots of the collections in these
// tests; every case runs on slot 0.
const equivalenceCPUs = 2

// engines are the engines every case runs on.
var engines = []Engine{EngineInterpreter, EngineJIT}

// runCase runs a kerneltest case in waggle with an engine and reports it
// as the kernel's side reports its runs, so that the same checks apply to
// both.
func runCase(c *kerneltest.Case, engine Engine) (*kerneltest.Result, error) {
	spec, err := LoadCollectionSpec(c.ObjectPath())
	if err != nil {
		return nil, err
	}
	coll, err := NewCollectionWithOptions(spec, CollectionOptions{CPUs: equivalenceCPUs, Engine: engine})
	if err != nil {
		return nil, err
	}
	defer coll.Close()
	for _, e := range c.Prefill {
		m := coll.Maps[e.Map]
		if m == nil {
			return nil, fmt.Errorf("prefill: no map %q", e.Map)
		}
		if err := m.Put(e.Key, e.Value); err != nil {
			return nil, fmt.Errorf("prefill %s: %w", e.Map, err)
		}
	}
	// The kernel's side opens a perf reader on the perf event arrays it
	// dumps; the others have no perf event on their slots.
	for _, name := range c.Maps {
		if pa, ok := coll.Maps[name].impl.(*maps.PerfEventArray); ok {
			pa.OpenAll()
		}
	}
	prog := coll.Programs[c.Program]
	if prog == nil {
		return nil, fmt.Errorf("no program %q", c.Program)
	}
	if prog.Engine() != engine {
		return nil, fmt.Errorf("the program runs on the %s engine, not the %s", prog.Engine(), engine)
	}
	res := &kerneltest.Result{CPU: 0, NumCPU: equivalenceCPUs, Maps: map[string][]kerneltest.KV{}}
	for range max(c.Repeat, 1) {
		opts := &RunOptions{Data: c.Data, Flags: RunOnCPU, CPU: 0}
		if len(c.Data) > 0 {
			opts.DataOut = make([]byte, len(c.Data)+8192)
		}
		var ctxOut []byte
		if c.Context != nil {
			opts.Context = c.Context
			ctxOut = make([]byte, 4096)
			opts.ContextOut = ctxOut
		}
		ret, err := prog.Run(opts)
		if err != nil {
			return nil, err
		}
		res.Retval = ret
		res.DataOut = opts.DataOut
		if ctxOut != nil {
			res.CtxOut = ctxOut[:min(len(ctxOut), len(c.Context))]
		}
	}
	for _, name := range c.Maps {
		m := coll.Maps[name]
		if m == nil {
			return nil, fmt.Errorf("no map %q to dump", name)
		}
		kvs, err := dumpForKerneltest(coll, m)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", name, err)
		}
		res.Maps[name] = kvs
	}
	return res, nil
}

// dumpForKerneltest dumps a map in kerneltest.Result's conventions.
func dumpForKerneltest(coll *Collection, m *Map) ([]kerneltest.KV, error) {
	if om, ok := m.impl.(maps.ObjectMap); ok {
		return objectSlots(coll, m, om), nil
	}
	entries, err := m.Dump()
	if err != nil {
		return nil, err
	}
	kvs := make([]kerneltest.KV, 0, len(entries))
	for _, e := range entries {
		v := e.Value
		if e.PerCPU != nil {
			v = nil
			for _, slot := range e.PerCPU {
				v = append(v, slot...)
				v = append(v, make([]byte, int(maps.ValueStride(uint32(len(slot))))-len(slot))...)
			}
		}
		kvs = append(kvs, kerneltest.KV{Key: e.Key, Value: v})
	}
	return kvs, nil
}

// objectSlots lists a prog_array's or map-in-map's occupied slots with the
// name of the program or map each holds.
func objectSlots(coll *Collection, m *Map, om maps.ObjectMap) []kerneltest.KV {
	names := map[any]string{}
	for n, p := range coll.Programs {
		names[p.tailCallTarget()] = n
	}
	for n, cm := range coll.Maps {
		names[cm.impl] = n
	}
	var kvs []kerneltest.KV
	var key []byte
	for {
		next := make([]byte, m.KeySize())
		if err := om.NextKey(key, next); err != nil {
			break
		}
		key = next
		if obj := om.LookupObject(key); obj != nil {
			name := names[obj]
			if name == "" {
				name = fmt.Sprintf("%p", obj)
			}
			kvs = append(kvs, kerneltest.KV{Key: key, Value: []byte(name)})
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return bytes.Compare(kvs[i].Key, kvs[j].Key) < 0 })
	return kvs
}

// TestCasesAgainstExpectations runs every case of internal/kerneltest (the
// C programs of testdata/progs and the examples) in waggle and checks the
// result against what the case says the kernel gives.
func TestCasesAgainstExpectations(t *testing.T) {
	for _, engine := range engines {
		for _, c := range kerneltest.Cases() {
			t.Run(engine.String()+"/"+c.Name, func(t *testing.T) {
				if engine == EngineJIT && !jit.Supported {
					t.Skip(jit.Unsupported)
				}
				got, err := runCase(&c, engine)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Check(got); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestCasesAgainstKernel runs every case in the kernel (BPF_PROG_TEST_RUN)
// and in waggle, and requires equal return values, output packets and
// contexts, and map contents.
func TestCasesAgainstKernel(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skipf("the kernel cannot run the programs here: %v", err)
	}
	for _, engine := range engines {
		for _, c := range kerneltest.Cases() {
			t.Run(engine.String()+"/"+c.Name, func(t *testing.T) {
				if engine == EngineJIT && !jit.Supported {
					t.Skip(jit.Unsupported)
				}
				want, err := kerneltest.Run(c.ObjectPath(), c.Program, c.Input())
				if err != nil {
					// TestCasesAgainstExpectations runs the case in waggle.
					kerneltest.SkipIfUnsupported(t, err)
					t.Fatalf("kernel: %v", err)
				}
				got, err := runCase(&c, engine)
				if err != nil {
					t.Fatalf("waggle: %v", err)
				}
				if got.Retval != want.Retval {
					t.Errorf("return value: waggle %d, kernel %d", got.Retval, want.Retval)
				}
				if want.DataOut != nil && !bytes.Equal(got.DataOut, want.DataOut) {
					t.Errorf("data out:\nwaggle %x\nkernel %x", got.DataOut, want.DataOut)
				}
				if want.CtxOut != nil && !bytes.Equal(got.CtxOut, want.CtxOut) {
					t.Errorf("ctx out:\nwaggle %x\nkernel %x", got.CtxOut, want.CtxOut)
				}
				spec, err := ebpf.LoadCollectionSpec(c.ObjectPath())
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range c.Maps {
					ms := spec.Maps[name]
					g, w := got.Maps[name], want.Maps[name]
					if maps.IsPerCPU(ms.Type) {
						g = slotOf(g, int(ms.ValueSize), got.CPU)
						w = slotOf(w, int(ms.ValueSize), want.CPU)
					}
					if !equalKVs(g, w) {
						t.Errorf("map %s:\nwaggle %s\nkernel %s", name, kvString(g), kvString(w))
					}
				}
			})
		}
	}
}

// slotOf keeps one CPU's slot of per-CPU values.
func slotOf(kvs []kerneltest.KV, valueSize, cpu int) []kerneltest.KV {
	out := make([]kerneltest.KV, len(kvs))
	for i, kv := range kvs {
		out[i] = kerneltest.KV{Key: kv.Key, Value: kerneltest.PerCPUSlot(kv.Value, valueSize, cpu)}
	}
	return out
}

func equalKVs(a, b []kerneltest.KV) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func kvString(kvs []kerneltest.KV) string {
	var b bytes.Buffer
	for _, kv := range kvs {
		fmt.Fprintf(&b, "[%x: %x] ", kv.Key, kv.Value)
	}
	return b.String()
}
