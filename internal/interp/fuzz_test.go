package interp

import (
	"context"
	"errors"
	"testing"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// FuzzRun runs arbitrary bytecode on arbitrary memory: the interpreter must
// return r0 or an error, never panic, fault or hang.
func FuzzRun(f *testing.F) {
	f.Add(fnv1a.Encode(), []byte("hello, world"))
	f.Add(isa.Instructions{mov64(isa.R0, 1), exit}.Encode(), []byte{})
	f.Add(isa.Instructions{ldx(isa.SizeDW, isa.R0, isa.R1, 0), exit}.Encode(), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(isa.Instructions{callLocal(0), callLocal(-1), exit}.Encode(), []byte{})
	f.Add(isa.Instructions{mov64(isa.R2, 1), atomic64(isa.R10, isa.R2, -8, isa.AtomicCmpXchg), exit}.Encode(), []byte{})
	table, err := helper.NewTable(helper.Helper{ID: 1, Func: func(c *helper.Call) (uint64, error) {
		b, err := c.Write(c.Args[0], c.Args[1]&0xff)
		if err != nil {
			return 0, err
		}
		clear(b)
		return uint64(len(b)), nil
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, code, mem []byte) {
		insns, err := isa.Decode(code)
		if err != nil {
			return
		}
		p, err := Compile(insns, table)
		if err != nil {
			return
		}
		m := NewMachine()
		r := memory.NewRegion(mem, true, memory.KindContext)
		m.Memory.Add(r)
		m.Packet = memory.NewRegion(mem, false, memory.KindPacket)
		_, err = p.Run(m, engine.RunArgs{R1: r.Start, R2: uint64(len(mem)), Budget: 10000, Context: context.Background()})
		var re *engine.Error
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("error %v (%T) does not name the instruction", err, err)
		}
	})
}
