package kernel

import (
	"math"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/isa"
)

// TestWithUnreachableHelpers: every called ID a table lacks gets a helper
// that fails naming the call's own ID; IDs no table can hold (0 and
// negative ones) are moved, in a copy, to free IDs that no other call
// uses, and the instructions given are not changed.
func TestWithUnreachableHelpers(t *testing.T) {
	call := func(id int64) isa.Instruction { return isa.Instruction{Opcode: isa.OpCall, Imm: id} }
	insns := isa.Instructions{call(0), call(math.MaxInt32), call(-5), call(1), call(0), call(9999)}
	orig := append(isa.Instructions(nil), insns...)
	table, err := HelpersFor(ebpf.XDP, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, tab := WithUnreachableHelpers(insns, table)
	for i := range insns {
		if insns[i] != orig[i] {
			t.Fatalf("instruction %d of the input changed: %v", i, insns[i])
		}
	}
	if _, ok := table.Lookup(9999); ok {
		t.Fatal("the given table was changed")
	}
	want := map[int]string{0: "helper 0)", 1: "helper 2147483647)", 2: "helper -5)", 4: "helper 0)", 5: "helper 9999)"}
	for i, ins := range out {
		id := int32(ins.Imm)
		if i == 3 {
			if id != 1 {
				t.Errorf("instruction 3: call %d, want the known helper 1 kept", id)
			}
			continue
		}
		h, ok := tab.Lookup(id)
		if !ok || id <= 0 {
			t.Fatalf("instruction %d: call %d, which the table does not hold", i, id)
		}
		_, err := h.Func(&helper.Call{})
		if err == nil || !strings.Contains(err.Error(), want[i]) {
			t.Errorf("instruction %d (call %d): %v, want an error naming %s", i, id, err, want[i])
		}
	}
	if out[0].Imm == math.MaxInt32 || out[2].Imm == math.MaxInt32 || out[0].Imm == out[2].Imm {
		t.Errorf("the moved calls collide: %d, %d (and %d is called)", out[0].Imm, out[2].Imm, int64(math.MaxInt32))
	}
}
