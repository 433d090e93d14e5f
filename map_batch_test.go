package waggle_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// batcher runs batch operations on a map of u32 keys and u64 values,
// keeping one cursor, in waggle or in the kernel.
type batcher interface {
	lookup(del bool, count int) (int, []uint32, []uint64, error)
	reset()
	update(keys []uint32, values []uint64, flags ebpf.MapUpdateFlags) (int, error)
	delete(keys []uint32) (int, error)
	freeze() error
}

type waggleBatcher struct {
	m    *waggle.Map
	c    waggle.MapBatchCursor
	cpus int
}

func (b *waggleBatcher) lookup(del bool, count int) (int, []uint32, []uint64, error) {
	keys, values := make([]uint32, count), make([]uint64, count*b.cpus)
	op := b.m.BatchLookup
	if del {
		op = b.m.BatchLookupAndDelete
	}
	n, err := op(&b.c, keys, values, nil)
	return n, keys[:n], values[:n*b.cpus], err
}
func (b *waggleBatcher) reset() { b.c = waggle.MapBatchCursor{} }
func (b *waggleBatcher) update(keys []uint32, values []uint64, flags ebpf.MapUpdateFlags) (int, error) {
	return b.m.BatchUpdate(keys, values, &waggle.BatchOptions{ElemFlags: uint64(flags)})
}
func (b *waggleBatcher) delete(keys []uint32) (int, error) { return b.m.BatchDelete(keys, nil) }
func (b *waggleBatcher) freeze() error                     { return b.m.Freeze() }

type kernelBatcher struct {
	m    *ebpf.Map
	c    ebpf.MapBatchCursor
	cpus int
}

func (b *kernelBatcher) lookup(del bool, count int) (int, []uint32, []uint64, error) {
	keys, values := make([]uint32, count), make([]uint64, count*b.cpus)
	op := b.m.BatchLookup
	if del {
		op = b.m.BatchLookupAndDelete
	}
	n, err := op(&b.c, keys, values, nil)
	return n, keys[:n], values[:n*b.cpus], err
}
func (b *kernelBatcher) reset() { b.c = ebpf.MapBatchCursor{} }
func (b *kernelBatcher) update(keys []uint32, values []uint64, flags ebpf.MapUpdateFlags) (int, error) {
	return b.m.BatchUpdate(keys, values, &ebpf.BatchOptions{ElemFlags: uint64(flags)})
}
func (b *kernelBatcher) delete(keys []uint32) (int, error) { return b.m.BatchDelete(keys, nil) }
func (b *kernelBatcher) freeze() error                     { return b.m.Freeze() }

// batchStep is one step of a sequence; it returns what it found, compared
// between waggle and the kernel, and the error, compared by errno.
type batchStep func(b batcher) (string, error)

// lookupStep is one batch lookup, compared exactly (for arrays, whose
// order the kernel defines).
func lookupStep(del bool, count int) batchStep {
	return func(b batcher) (string, error) {
		n, k, v, err := b.lookup(del, count)
		return fmt.Sprint(n, k, v), err
	}
}

// drainStep looks up (and deletes) batches of count until ENOENT and
// returns every element sorted by key: for hashes, whose batches follow
// the buckets of a randomly seeded hash in the kernel.
func drainStep(del bool, count int) batchStep {
	return func(b batcher) (string, error) {
		type kv struct {
			k uint32
			v []uint64
		}
		var all []kv
		for range 100 {
			n, k, v, err := b.lookup(del, count)
			if n > count {
				return "", fmt.Errorf("%d elements for a batch of %d", n, count)
			}
			cpus := len(v) / max(n, 1)
			for i := range n {
				all = append(all, kv{k[i], v[i*cpus : (i+1)*cpus]})
			}
			if err != nil {
				slices.SortFunc(all, func(a, b kv) int { return int(a.k) - int(b.k) })
				return fmt.Sprint(all), err
			}
		}
		return "", errors.New("no ENOENT after 100 batches")
	}
}

func resetStep(b batcher) (string, error) { b.reset(); return "", nil }

// count is the count of a batch update or delete, compared when the
// kernel went through the elements: for errors it returns before (EPERM,
// EINVAL flags, ENOTSUPP), cilium/ebpf reports the count it passed in.
func count(n int, err error) (string, error) {
	if err == nil || errors.Is(err, errno.ENOENT) || errors.Is(err, errno.E2BIG) || errors.Is(err, errno.EEXIST) {
		return fmt.Sprint(n), err
	}
	return "(not compared)", err
}

func updateStep(keys []uint32, values []uint64, flags ebpf.MapUpdateFlags) batchStep {
	return func(b batcher) (string, error) { return count(b.update(keys, values, flags)) }
}

func deleteStep(keys ...uint32) batchStep {
	return func(b batcher) (string, error) { return count(b.delete(keys)) }
}

func freezeStep(b batcher) (string, error) { return "", b.freeze() }

// perCPU repeats each value cpus times (value + cpu), for per-CPU maps.
func perCPU(cpus int, values ...uint64) []uint64 {
	var out []uint64
	for _, v := range values {
		for c := range cpus {
			out = append(out, v+uint64(c))
		}
	}
	return out
}

// TestBatchKernel runs the same sequences of batch operations on waggle's
// maps and, as root, on the kernel's (through cilium/ebpf), and compares
// the counts, the elements and the errnos: the cursor continuing across
// calls, ENOENT at the end with the count of the last batch, arrays and
// hashes, per-CPU values, the errors of absent keys, of arrays that cannot
// delete, of update flags, of frozen maps.
func TestBatchKernel(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	cpus := ebpf.MustPossibleCPU()
	keys := func(ks ...uint32) []uint32 { return ks }
	vals := func(vs ...uint64) []uint64 { return vs }
	for _, tc := range []struct {
		name  string
		typ   ebpf.MapType
		steps []batchStep
	}{
		{"array", ebpf.Array, []batchStep{
			updateStep(keys(0, 2, 4), vals(10, 12, 14), ebpf.UpdateAny),
			lookupStep(false, 3), lookupStep(false, 3), lookupStep(false, 3), lookupStep(false, 3),
			resetStep, lookupStep(false, 8), lookupStep(false, 1),
			resetStep, lookupStep(false, 0),
			updateStep(keys(1, 9, 2), vals(1, 9, 2), ebpf.UpdateAny), lookupStep(false, 2),
			updateStep(keys(1), vals(1), ebpf.UpdateNoExist),
			deleteStep(1), lookupStep(true, 2),
			freezeStep, updateStep(keys(1), vals(1), ebpf.UpdateAny), resetStep, lookupStep(false, 8),
		}},
		{"percpu array", ebpf.PerCPUArray, []batchStep{
			updateStep(keys(0, 3), perCPU(cpus, 10, 30), ebpf.UpdateAny),
			lookupStep(false, 3), lookupStep(false, 3), lookupStep(false, 3),
			updateStep(keys(0, 8), perCPU(cpus, 1, 2), ebpf.UpdateExist),
		}},
		{"hash", ebpf.Hash, []batchStep{
			updateStep(keys(5, 1, 7, 3, 9, 11, 13), vals(50, 10, 70, 30, 90, 110, 130), ebpf.UpdateAny),
			updateStep(keys(20, 1, 21), vals(1, 2, 3), ebpf.UpdateNoExist),
			updateStep(keys(7, 22), vals(77, 22), ebpf.UpdateExist),
			drainStep(false, 4), resetStep, drainStep(false, 100),
			deleteStep(20, 3, 3, 5), resetStep, drainStep(false, 4),
			resetStep, drainStep(true, 4), resetStep, drainStep(false, 4),
			deleteStep(1),
			updateStep(keys(30, 31, 32, 33, 34, 35, 36, 37, 38), vals(0, 1, 2, 3, 4, 5, 6, 7, 8), ebpf.UpdateAny),
			deleteStep(30, 31, 32, 33, 34, 35),
			updateStep(keys(1, 2), vals(1, 2), ebpf.UpdateAny), freezeStep,
			deleteStep(1), updateStep(keys(3), vals(3), ebpf.UpdateAny), resetStep, lookupStep(true, 4), resetStep, drainStep(false, 4),
		}},
		{"percpu hash", ebpf.PerCPUHash, []batchStep{
			updateStep(keys(5, 1, 7), perCPU(cpus, 50, 10, 70), ebpf.UpdateAny),
			drainStep(false, 4), resetStep, drainStep(true, 4), resetStep, drainStep(false, 4),
		}},
		{"lru hash", ebpf.LRUHash, []batchStep{
			updateStep(keys(5, 1, 7), vals(50, 10, 70), ebpf.UpdateAny),
			drainStep(false, 2), resetStep, drainStep(true, 2), deleteStep(5),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &ebpf.MapSpec{Type: tc.typ, KeySize: 4, ValueSize: 8, MaxEntries: 8}
			w, err := waggle.NewMapWithOptions(spec, waggle.MapOptions{CPUs: cpus})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			k := kernelMap(t, spec)
			c := 1
			if spec.Type == ebpf.PerCPUArray || spec.Type == ebpf.PerCPUHash {
				c = cpus
			}
			wb, kb := &waggleBatcher{m: w, cpus: c}, &kernelBatcher{m: k, cpus: c}
			for i, step := range tc.steps {
				wGot, wErr := step(wb)
				kGot, kErr := step(kb)
				if errnoOf(wErr) != errnoOf(kErr) || (wErr == nil) != (kErr == nil) {
					t.Errorf("step %d: waggle: %v; kernel: %v", i, wErr, kErr)
				}
				if wGot != kGot {
					t.Errorf("step %d: waggle gives %s, the kernel %s", i, wGot, kGot)
				}
			}
		})
	}
}

// TestBatchErrors checks the errors that need no kernel: types without
// batch operations, flags, slices, cursors used across maps.
func TestBatchErrors(t *testing.T) {
	newMap := func(typ ebpf.MapType) *waggle.Map {
		spec := &ebpf.MapSpec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 4}
		if typ == ebpf.Queue {
			spec.KeySize = 0
		}
		m, err := waggle.NewMap(spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	h, other := newMap(ebpf.Hash), newMap(ebpf.Hash)
	var used waggle.MapBatchCursor
	if _, err := other.BatchLookup(&used, make([]uint32, 1), make([]uint64, 1), nil); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		run   func() (int, error)
		errno errno.Errno
		want  string
	}{
		{"queue", func() (int, error) {
			return newMap(ebpf.Queue).BatchLookup(&waggle.MapBatchCursor{}, make([]uint32, 1), make([]uint64, 1), nil)
		}, errno.ENOTSUPP, "no batch operations"},
		{"flags", func() (int, error) {
			return h.BatchUpdate([]uint32{1}, []uint64{1}, &waggle.BatchOptions{Flags: 1})
		}, errno.EINVAL, "Flags"},
		{"elem flags of a lookup", func() (int, error) {
			return h.BatchLookup(&waggle.MapBatchCursor{}, make([]uint32, 1), make([]uint64, 1), &waggle.BatchOptions{ElemFlags: 1})
		}, errno.EINVAL, "ElemFlags"},
		{"lengths", func() (int, error) { return h.BatchUpdate([]uint32{1, 2}, []uint64{1}, nil) }, 0, "2 keys, 1 values"},
		{"not a slice", func() (int, error) { return h.BatchDelete(uint32(1), nil) }, 0, "need a slice"},
		{"cursor of another map", func() (int, error) {
			return h.BatchLookup(&used, make([]uint32, 1), make([]uint64, 1), nil)
		}, 0, "reused across maps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.run()
			if err == nil || n != 0 || (tc.errno != 0 && !errors.Is(err, tc.errno)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%d, %v; want an error with %q matching %v", n, err, tc.want, tc.errno)
			}
		})
	}
}
