package waggle

import (
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/isa"
	"github.com/waggle-ebpf/waggle/verifier"
)

// mapRef is a map reference in a loaded program's instructions: the lddw
// at index holds the map's handle or, for a direct value load (global
// data), the address of byte off of its value.
type mapRef struct {
	index int
	m     maps.Map
	value bool
	off   uint32
}

// handleRefs finds the map references of instructions built in Go: lddw
// of a map's handle.
func handleRefs(insns isa.Instructions) []mapRef {
	var refs []mapRef
	for i, ins := range insns {
		if ins.Opcode != isa.OpLdDW || ins.Src != 0 {
			continue
		}
		if m := maps.ByHandle(uint64(ins.Imm)); m != nil {
			refs = append(refs, mapRef{index: i, m: m})
		}
	}
	return refs
}

// usedMaps lists each map of refs once.
func usedMaps(refs []mapRef) []maps.Map {
	var used []maps.Map
	for _, r := range refs {
		if !slices.Contains(used, r.m) {
			used = append(used, r.m)
		}
	}
	return used
}

// verifierProgram describes a loaded program to the verifier, for both
// loaders (NewProgram, NewCollection): the very instructions the engines
// run, each map reference turned back into the verifier's form (an index
// into Maps, with the offset of a direct value load), and each map
// described from the map as created (see verifierMap). Helpers of your own
// (own) are checked against the prototypes they declare.
func verifierProgram(name string, typ ebpf.ProgramType, insns isa.Instructions, refs []mapRef, own *helper.Table) *verifier.Program {
	if typ == ebpf.UnspecifiedProgram {
		typ = RawMemory
	}
	vp := &verifier.Program{Name: name, Type: typ, Instructions: insns}
	if len(refs) > 0 {
		// The instructions are the engines': change a copy.
		vp.Instructions = slices.Clone(insns)
	}
	index := map[maps.Map]int{}
	for _, r := range refs {
		k, ok := index[r.m]
		if !ok {
			k = len(vp.Maps)
			index[r.m] = k
			vp.Maps = append(vp.Maps, verifierMap(r.m))
		}
		ins := &vp.Instructions[r.index]
		if r.value {
			ins.Src = isa.Register(isa.PseudoMapValue)
			ins.Imm = int64(uint64(r.off)<<32 | uint64(uint32(k)))
		} else {
			ins.Src = isa.Register(isa.PseudoMapFD)
			ins.Imm = int64(k)
		}
	}
	if all := own.All(); len(all) > 0 {
		vp.Helpers = map[int32]helper.Helper{}
		for _, h := range all {
			vp.Helpers[h.ID] = h
		}
	}
	return vp
}

// verify runs the verifier. cpus bounds bpf_get_smp_processor_id.
func verify(vp *verifier.Program, strict bool, cpus int) (*verifier.Stats, error) {
	stats, err := verifier.Verify(vp, verifier.Options{Strict: strict, CPUs: cpus})
	if err != nil {
		return nil, fmt.Errorf("the verifier refuses it: %w", err)
	}
	return stats, nil
}

// verifierMap describes a created map to the verifier: its geometry, the
// place of its bpf_spin_lock, its inner map template and, for a frozen
// read-only array (.rodata), the value the programs will read.
func verifierMap(m maps.Map) *verifier.Map {
	s := m.Spec()
	vm := verifierMapSpec(s)
	if maps.Frozen(m) && s.Type == ebpf.Array && s.MaxEntries == 1 && s.Flags&maps.FlagRdOnlyProg != 0 {
		if p := m.Lookup(make([]byte, 4), 0); p != nil {
			vm.Value = make([]byte, s.ValueSize)
			maps.ReadValue(vm.Value, p)
		}
	}
	return vm
}

// verifierMapSpec describes a map's spec to the verifier.
func verifierMapSpec(s *maps.Spec) *verifier.Map {
	m := &verifier.Map{
		Type: s.Type, KeySize: s.KeySize, ValueSize: s.ValueSize,
		MaxEntries: s.MaxEntries, Flags: s.Flags, Name: s.Name,
		HasSpinLock: s.HasSpinLock, SpinLockOffset: s.SpinLockOffset,
	}
	if s.InnerMap != nil {
		m.InnerMap = verifierMapSpec(s.InnerMap)
	}
	return m
}
