package waggle_test

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle"
)

// cpuIndexedSpec is an XDP program that writes the u64 at index
// bpf_get_smp_processor_id() of a map value of 4 u64s: safe only when the
// collection has at most 4 CPU slots.
func cpuIndexedSpec() *ebpf.CollectionSpec {
	return &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{
			"per_cpu_slots": {Name: "per_cpu_slots", Type: ebpf.Array, KeySize: 4, ValueSize: 32, MaxEntries: 1},
		},
		Programs: map[string]*ebpf.ProgramSpec{
			"count": {Name: "count", Type: ebpf.XDP, License: "GPL", Instructions: asm.Instructions{
				asm.StoreImm(asm.RFP, -4, 0, asm.Word),
				asm.LoadMapPtr(asm.R1, 0).WithReference("per_cpu_slots"),
				asm.Mov.Reg(asm.R2, asm.RFP),
				asm.Add.Imm(asm.R2, -4),
				asm.FnMapLookupElem.Call(),
				asm.JNE.Imm(asm.R0, 0, "found"),
				asm.Mov.Imm(asm.R0, 2),
				asm.Return(),
				asm.Mov.Reg(asm.R6, asm.R0).WithSymbol("found"),
				asm.FnGetSmpProcessorId.Call(),
				asm.LSh.Imm(asm.R0, 3),
				asm.Add.Reg(asm.R6, asm.R0),
				asm.Mov.Imm(asm.R1, 1),
				asm.StoreMem(asm.R6, 0, asm.R1, asm.DWord),
				asm.Mov.Imm(asm.R0, 2),
				asm.Return(),
			}},
		},
	}
}

// TestCollectionVerifiesWithCPUs: the verifier knows the collection's
// number of CPU slots, so bpf_get_smp_processor_id is bounded by it.
func TestCollectionVerifiesWithCPUs(t *testing.T) {
	for _, c := range []struct {
		cpus   int
		reject bool
	}{{1, false}, {4, false}, {5, true}, {64, true}} {
		coll, err := waggle.NewCollectionWithOptions(cpuIndexedSpec(), waggle.CollectionOptions{CPUs: c.cpus})
		if c.reject {
			if err == nil {
				coll.Close()
				t.Errorf("CPUs %d: accepted, want the verifier's rejection", c.cpus)
			} else if !strings.Contains(err.Error(), "the verifier refuses it") {
				t.Errorf("CPUs %d: %v, want the verifier's rejection", c.cpus, err)
			} else {
				t.Logf("CPUs %d: %v", c.cpus, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("CPUs %d: %v", c.cpus, err)
			continue
		}
		if _, err := coll.Programs["count"].Run(&waggle.RunOptions{Data: make([]byte, 64)}); err != nil {
			t.Errorf("CPUs %d: run: %v", c.cpus, err)
		}
		coll.Close()
	}
}
