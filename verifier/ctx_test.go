package verifier

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/isa"
)

// TestContextAccessesSound tries every load and store of 1, 2, 4 and 8
// bytes at every offset of each program type's context: whatever the
// verifier accepts must run in the engine without a fault (the context
// descriptions of internal/kernel agree with its contexts), and, where the
// kernel is available, the verdicts must be the kernel's.
func TestContextAccessesSound(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	types := []ebpf.ProgramType{ebpf.XDP, ebpf.SchedCLS, ebpf.SocketFilter, ebpf.RawTracepoint, ebpf.Kprobe, ebpf.PerfEvent, ebpf.Syscall}
	sizes := map[int]isa.Size{1: isa.SizeB, 2: isa.SizeH, 4: isa.SizeW, 8: isa.SizeDW}
	accepted, differ := 0, 0
	for _, typ := range types {
		desc, _ := kernel.ContextOf(typ)
		limit := desc.Size + 8
		if limit > 256 {
			limit = 256
		}
		for off := 0; off < limit; off++ {
			for _, n := range []int{1, 2, 4, 8} {
				for _, write := range []bool{false, true} {
					ins := isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(sizes[n]), Dst: isa.R0, Src: isa.R1, Offset: int16(off)}
					if write {
						ins = isa.Instruction{Opcode: uint8(isa.ClassST) | uint8(isa.ModeMEM) | uint8(sizes[n]), Dst: isa.R1, Offset: int16(off), Imm: 1}
					}
					p := &Program{Name: fmt.Sprintf("%s_%d_%d_%v", typ, off, n, write), Type: typ, Instructions: isa.Instructions{
						ins,
						{Opcode: isa.OpMov64, Dst: isa.R0},
						{Opcode: isa.OpExit},
					}}
					_, verr := Verify(p, Options{})
					if verr == nil {
						accepted++
						if err := checkSound(p, uint64(off), 2); err != nil {
							t.Errorf("%s: %v", p.Name, err)
						}
					}
					if !testing.Short() {
						if ok, log, kerr := kernelVerify(p, 0); kerr == nil && ok != (verr == nil) {
							differ++
							t.Errorf("%s: kernel accepted=%v, waggle %v\n%s", p.Name, ok, verr, lastLines(log, 3))
						}
					}
				}
			}
		}
	}
	t.Logf("%d context accesses accepted and run", accepted)
	if differ > 0 {
		t.Logf("%d differ from the kernel", differ)
	}
	_ = errors.Is
}
