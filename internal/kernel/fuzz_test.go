package kernel

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// FuzzContexts sends random loads and stores to every context: they must
// never panic, and the packet region must keep matching the packet.
func FuzzContexts(f *testing.F) {
	f.Add(uint8(0), uint16(0), uint8(4), true, uint64(1), []byte{})
	f.Add(uint8(1), uint16(48), uint8(8), false, uint64(7), []byte{1, 2})
	f.Add(uint8(3), uint16(180), uint8(1), true, uint64(0xffff), []byte{})
	types := []ebpf.ProgramType{ebpf.XDP, ebpf.SchedCLS, ebpf.SocketFilter, ebpf.RawTracepoint}
	f.Fuzz(func(t *testing.T, typ uint8, off uint16, size uint8, store bool, value uint64, ctx []byte) {
		pt := types[int(typ)%len(types)]
		run, err := NewRun(pt, Options{})
		if err != nil {
			t.Fatal(err)
		}
		in := Input{Data: ipv4Packet(64), Context: ctx}
		if pt == ebpf.RawTracepoint {
			in.Data = nil
		}
		var mem memory.Memory
		if _, err := run.Setup(&mem, in); err != nil {
			return
		}
		if run.ctxIdx < 0 {
			return
		}
		v := mem.Regions[run.ctxIdx].Virtual
		sz := uint64(1) << (size % 4)
		if store {
			v.Store(uint64(off), sz, value)
		} else {
			v.Load(uint64(off), sz)
		}
		var out Output
		run.Finish(&out)
	})
}
