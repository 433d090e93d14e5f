package waggle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/isa"
)

// commonMap is the API that cilium/ebpf's *ebpf.Map and waggle's *Map
// share, through which these tests run the same sequences on both.
type commonMap interface {
	Update(key, value any, flags ebpf.MapUpdateFlags) error
	Lookup(key, valueOut any) error
	Delete(key any) error
	LookupAndDelete(key, valueOut any) error
	Freeze() error
}

// kernelMap creates spec in the kernel, or skips the test with the reason
// it cannot.
func kernelMap(t *testing.T, spec *ebpf.MapSpec) *ebpf.Map {
	t.Helper()
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	m, err := ebpf.NewMap(spec)
	if err != nil {
		t.Fatalf("kernel: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// mapStep is one operation of a sequence run on a waggle map and a kernel
// map.
type mapStep struct {
	name string
	do   func(m commonMap) (any, error)
}

func stepUpdate(key, value any) mapStep {
	return mapStep{"update", func(m commonMap) (any, error) { return nil, m.Update(key, value, ebpf.UpdateAny) }}
}

func stepLookup(key any) mapStep {
	return mapStep{"lookup", func(m commonMap) (any, error) {
		var v uint64
		err := m.Lookup(key, &v)
		return v, err
	}}
}

func stepDelete(key any) mapStep {
	return mapStep{"delete", func(m commonMap) (any, error) { return nil, m.Delete(key) }}
}

func stepLookupAndDelete(key any) mapStep {
	return mapStep{"lookup and delete", func(m commonMap) (any, error) {
		var v uint64
		err := m.LookupAndDelete(key, &v)
		return v, err
	}}
}

var stepFreeze = mapStep{"freeze", func(m commonMap) (any, error) { return nil, m.Freeze() }}

// runSteps runs steps on a waggle map and the kernel's, and compares what
// each step gives and its errno.
func runSteps(t *testing.T, w, k commonMap, steps []mapStep) {
	t.Helper()
	for i, s := range steps {
		wv, wErr := s.do(w)
		kv, kErr := s.do(k)
		if errnoOf(wErr) != errnoOf(kErr) || (wErr == nil) != (kErr == nil) {
			t.Errorf("step %d (%s): waggle: %v; kernel: %v", i, s.name, wErr, kErr)
			continue
		}
		if wErr == nil && wv != kv {
			t.Errorf("step %d (%s): waggle gives %v, the kernel %v", i, s.name, wv, kv)
		}
	}
}

// TestMapFreezeKernel freezes maps of several types in waggle and in the
// kernel and compares the errnos of what follows: writes from user space
// fail with EPERM, lookups go on, and so does a second freeze: the
// kernel checks that the map is writable before it checks whether it is
// frozen.
func TestMapFreezeKernel(t *testing.T) {
	u32 := func(v uint32) any { return v }
	for _, tc := range []struct {
		name  string
		spec  ebpf.MapSpec
		steps []mapStep
	}{
		{"array", ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2}, []mapStep{
			stepUpdate(u32(0), uint64(1)), stepFreeze, stepFreeze,
			stepUpdate(u32(0), uint64(2)), stepUpdate(u32(9), uint64(2)), stepDelete(u32(0)), stepLookupAndDelete(u32(0)),
			stepLookup(u32(0)), stepLookup(u32(1)),
		}},
		{"hash", ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2}, []mapStep{
			stepUpdate(u32(0), uint64(1)), stepDelete(u32(7)), stepFreeze,
			stepUpdate(u32(0), uint64(2)), stepUpdate(u32(1), uint64(2)), stepDelete(u32(0)), stepDelete(u32(7)),
			stepLookupAndDelete(u32(0)), stepLookup(u32(0)), stepLookup(u32(1)), stepFreeze,
		}},
		{"lru hash", ebpf.MapSpec{Type: ebpf.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 16}, []mapStep{
			stepFreeze, stepUpdate(u32(0), uint64(2)), stepLookup(u32(0)), stepFreeze,
		}},
		{"queue", ebpf.MapSpec{Type: ebpf.Queue, ValueSize: 8, MaxEntries: 4}, []mapStep{
			stepUpdate(nil, uint64(5)), stepFreeze, stepUpdate(nil, uint64(6)),
			stepLookupAndDelete(nil), stepLookup(nil), stepFreeze,
		}},
		{"stack", ebpf.MapSpec{Type: ebpf.Stack, ValueSize: 8, MaxEntries: 4}, []mapStep{
			stepFreeze, stepUpdate(nil, uint64(6)), stepLookupAndDelete(nil), stepLookup(nil),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := waggle.NewMap(&tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			runSteps(t, w, kernelMap(t, &tc.spec), tc.steps)
			if !w.IsFrozen() {
				t.Error("IsFrozen is false after Freeze")
			}
		})
	}
}

// mapWriter is an XDP program that stores 42 at key 0 of m
// (bpf_map_update_elem) and returns the helper's result; load is the
// instruction that loads m's pointer into r1.
func mapWriter(load asm.Instruction) asm.Instructions {
	return asm.Instructions{
		load,
		asm.Mov.Imm(asm.R0, 0),
		asm.StoreMem(asm.RFP, -4, asm.R0, asm.Word),
		asm.Mov.Imm(asm.R0, 42),
		asm.StoreMem(asm.RFP, -16, asm.R0, asm.DWord),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.Mov.Reg(asm.R3, asm.RFP),
		asm.Add.Imm(asm.R3, -16),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnMapUpdateElem.Call(),
		asm.Return(),
	}
}

// TestMapFreezeProgramWrites checks that programs still write a frozen
// map, as in the kernel, where freezing is about system calls.
func TestMapFreezeProgramWrites(t *testing.T) {
	for _, typ := range []ebpf.MapType{ebpf.Array, ebpf.Hash} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := &ebpf.MapSpec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 1}
			w, err := waggle.NewMap(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			insns, err := isa.FromCilium(mapWriter(asm.LoadImm(asm.R1, int64(w.Handle()), asm.DWord)))
			if err != nil {
				t.Fatal(err)
			}
			wp, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "writer", Type: ebpf.XDP, Instructions: insns})
			if err != nil {
				t.Fatal(err)
			}
			defer wp.Close()
			if err := w.Freeze(); err != nil {
				t.Fatal(err)
			}
			wRet, _, err := wp.Test(make([]byte, 14))
			if err != nil {
				t.Fatal(err)
			}

			k := kernelMap(t, spec)
			kp, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "writer", Type: ebpf.XDP, License: "GPL", Instructions: mapWriter(asm.LoadMapPtr(asm.R1, k.FD()))})
			if err != nil {
				t.Fatal(err)
			}
			defer kp.Close()
			if err := k.Freeze(); err != nil {
				t.Fatal(err)
			}
			kRet, _, err := kp.Test(make([]byte, 14))
			if err != nil {
				t.Fatal(err)
			}
			if wRet != kRet || wRet != 0 {
				t.Errorf("bpf_map_update_elem returned %d, the kernel's %d, want 0", int32(wRet), int32(kRet))
			}
			runSteps(t, w, k, []mapStep{stepLookup(uint32(0)), stepUpdate(uint32(0), uint64(1))})
		})
	}
}

// TestMapFreezeErrors checks Freeze's other answers: a value with a
// bpf_spin_lock (the kernel's ENOTSUPP, compared with the kernel as root),
// .rodata (frozen at load: EPERM), a closed map, and Variable.Set of a
// frozen section.
func TestMapFreezeErrors(t *testing.T) {
	path := filepath.Join(kerneltest.RepoRoot(), "testdata/progs/spin_lock.o")
	wErr := waggleCollection(t, path).Maps["totals"].Freeze()
	if !errors.Is(wErr, errno.ENOTSUPP) || !strings.Contains(wErr.Error(), "bpf_spin_lock") {
		t.Errorf("freeze of a map with a bpf_spin_lock: %v", wErr)
	}
	t.Run("kernel", func(t *testing.T) {
		kErr := kernelCollection(t, path, "xdp_locked").Maps["totals"].Freeze()
		if errnoOf(kErr) != errnoOf(wErr) || !errors.Is(kErr, errno.ENOTSUPP) {
			t.Errorf("waggle: %v; kernel: %v", wErr, kErr)
		}
	})

	vars := waggleCollection(t, filepath.Join(kerneltest.RepoRoot(), "testdata/objects/variables.o"))
	for name, m := range vars.Maps {
		err := m.Freeze()
		if strings.HasPrefix(name, ".rodata") != errors.Is(err, errno.EPERM) || (err != nil && !errors.Is(err, errno.EPERM)) {
			t.Errorf("freeze %s: %v (EPERM for .rodata, frozen at load, only)", name, err)
		}
	}
	for name, v := range vars.Variables {
		if v.ReadOnly() {
			continue
		}
		if err := v.Set(make([]byte, v.Size())); !errors.Is(err, errno.EPERM) {
			t.Errorf("set %s of a frozen section: %v, want EPERM", name, err)
		}
	}

	m, err := waggle.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := m.Freeze(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("freeze of a closed map: %v", err)
	}
}
