package waggle

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/isa"
	"github.com/waggle-ebpf/waggle/verifier"
)

// verifyInstructions runs the verifier on the instructions of a
// ProgramSpec, as NewCollection does on an object's programs. Maps are
// referred to by their handles (an lddw whose constant is a map's handle,
// what NewCollection puts in a program); the verifier gets their
// descriptions. Helpers of your own have prototypes the verifier does not
// know: it treats them conservatively. cpus bounds
// bpf_get_smp_processor_id.
func verifyInstructions(name string, typ ebpf.ProgramType, insns isa.Instructions, own *helper.Table, strict bool, cpus int) (*verifier.Stats, error) {
	if typ == ebpf.UnspecifiedProgram {
		typ = RawMemory
	}
	vp := &verifier.Program{Name: name, Type: typ, Instructions: insns}
	index := map[uint64]int{}
	copied := false
	for i, ins := range insns {
		if ins.Opcode != isa.OpLdDW || ins.Src != 0 {
			continue
		}
		h := uint64(ins.Imm)
		m := maps.ByHandle(h)
		if m == nil {
			continue
		}
		k, ok := index[h]
		if !ok {
			k = len(vp.Maps)
			index[h] = k
			vp.Maps = append(vp.Maps, verifierMap(m.Spec()))
		}
		if !copied {
			// The instructions are the caller's: change a copy.
			vp.Instructions = append(isa.Instructions(nil), insns...)
			copied = true
		}
		vp.Instructions[i].Src = isa.Register(isa.PseudoMapFD)
		vp.Instructions[i].Imm = int64(k)
	}
	if all := own.All(); len(all) > 0 {
		vp.Helpers = map[int32]verifier.HelperProto{}
		for _, h := range all {
			vp.Helpers[h.ID] = verifier.HelperProto{Name: h.Name}
		}
	}
	stats, err := verifier.Verify(vp, verifier.Options{Strict: strict, CPUs: cpus})
	if err != nil {
		return nil, fmt.Errorf("the verifier refuses it: %w", err)
	}
	return stats, nil
}

// verifierMap describes a created map to the verifier.
func verifierMap(s *maps.Spec) *verifier.Map {
	m := &verifier.Map{
		Type: s.Type, KeySize: s.KeySize, ValueSize: s.ValueSize,
		MaxEntries: s.MaxEntries, Flags: s.Flags, Name: s.Name,
	}
	if s.InnerMap != nil {
		m.InnerMap = verifierMap(s.InnerMap)
	}
	return m
}
