package interp

import (
	"encoding/binary"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

func loadAcquire(size isa.Size, dst, src isa.Register, off int16) isa.Instruction {
	return isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeATOMIC) | uint8(size), Dst: dst, Src: src, Offset: off, Imm: int64(isa.AtomicLoadAcquire)}
}

func storeRelease(size isa.Size, dst, src isa.Register, off int16) isa.Instruction {
	return isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeATOMIC) | uint8(size), Dst: dst, Src: src, Offset: off, Imm: int64(isa.AtomicStoreRelease)}
}

func TestLoadAcquireStoreRelease(t *testing.T) {
	for _, tc := range []struct {
		size isa.Size
		want uint64
	}{
		{isa.SizeB, 0x88}, {isa.SizeH, 0x7788}, {isa.SizeW, 0x55667788}, {isa.SizeDW, 0x1122334455667788},
	} {
		mem := make([]byte, 16)
		binary.LittleEndian.PutUint64(mem, 0x1122334455667788)
		// r0 = -1 first: the load-acquire must zero-extend into r0.
		r0, err := run(t, isa.Instructions{mov64(isa.R0, -1), loadAcquire(tc.size, isa.R0, isa.R1, 0), exit}, mem, true, nil, 0)
		if err != nil || r0 != tc.want {
			t.Errorf("load-acquire of %d bytes: r0 = %#x, %v; want %#x", tc.size.Bytes(), r0, err, tc.want)
		}
		// A store-release through the stack and back, then to memory.
		n := tc.size.Bytes()
		prog := isa.Instructions{
			lddw(isa.R2, 0x1122334455667788),
			storeRelease(tc.size, isa.R10, isa.R2, -8),
			mov64(isa.R0, -1),
			loadAcquire(tc.size, isa.R0, isa.R10, -8),
			storeRelease(tc.size, isa.R1, isa.R0, 8),
			exit,
		}
		mem = make([]byte, 16)
		r0, err = run(t, prog, mem, false, nil, 0)
		if err != nil || r0 != tc.want {
			t.Errorf("store-release of %d bytes: r0 = %#x, %v; want %#x", n, r0, err, tc.want)
		}
		var got [8]byte
		copy(got[:], mem[8:8+n])
		if v := binary.LittleEndian.Uint64(got[:]); v != tc.want || (n < 8 && mem[8+n] != 0) {
			t.Errorf("store-release of %d bytes wrote %x", n, mem[8:])
		}
	}
}

func TestLoadAcquireStoreReleaseFaults(t *testing.T) {
	mem := make([]byte, 16)
	// Misaligned.
	_, err := run(t, isa.Instructions{loadAcquire(isa.SizeW, isa.R0, isa.R1, 2), exit}, mem, false, nil, 0)
	wantFault(t, err, memory.Read)
	_, err = run(t, isa.Instructions{storeRelease(isa.SizeH, isa.R1, isa.R1, 1), mov64(isa.R0, 0), exit}, mem, false, nil, 0)
	wantFault(t, err, memory.Write)
	// Out of bounds, and a store into read-only memory.
	_, err = run(t, isa.Instructions{loadAcquire(isa.SizeDW, isa.R0, isa.R1, 16), exit}, mem, false, nil, 0)
	wantFault(t, err, memory.Read)
	_, err = run(t, isa.Instructions{storeRelease(isa.SizeB, isa.R1, isa.R1, 0), mov64(isa.R0, 0), exit}, mem, true, nil, 0)
	wantFault(t, err, memory.Write)
}
