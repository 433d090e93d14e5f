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
	f.Add(uint8(6), uint16(4), uint8(2), true, uint64(0x100007f), make([]byte, 72))
	f.Add(uint8(8), uint16(184), uint8(3), false, uint64(0), make([]byte, 224))
	types := []struct {
		typ    ebpf.ProgramType
		attach ebpf.AttachType
	}{
		{ebpf.XDP, 0}, {ebpf.SchedCLS, 0}, {ebpf.SocketFilter, 0}, {ebpf.RawTracepoint, 0},
		{ebpf.CGroupSKB, ebpf.AttachCGroupInetEgress}, {ebpf.CGroupSock, ebpf.AttachCGroupInet6PostBind},
		{ebpf.CGroupSockAddr, ebpf.AttachCGroupInet4Connect}, {ebpf.CGroupSockAddr, ebpf.AttachCGroupUDP6Sendmsg},
		{ebpf.SockOps, 0},
	}
	f.Fuzz(func(t *testing.T, typ uint8, off uint16, size uint8, store bool, value uint64, ctx []byte) {
		tt := types[int(typ)%len(types)]
		pt := tt.typ
		run, err := NewRun(pt, Options{AttachType: tt.attach})
		if err != nil {
			t.Fatal(err)
		}
		in := Input{Data: ipv4Packet(64), Context: ctx}
		switch pt {
		case ebpf.RawTracepoint, ebpf.CGroupSock, ebpf.CGroupSockAddr:
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
