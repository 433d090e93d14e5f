package arm64

import (
	"encoding/binary"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
)

// TestLongBranches checks that a program too long for b.cond is compiled
// again with its far conditional branches and budget charges inverted
// over an unconditional b (package jit runs it).
func TestLongBranches(t *testing.T) {
	in := abi.Input{Instructions: jittest.LongProgram(1000), ID: 1, Helper: func(int32) error { return nil }}
	if err := in.Instructions.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := compile(in, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.missed) != 0 || c.chargesMissed {
		t.Fatalf("a short program needs long branches: %d missed, charges missed %v", len(c.missed), c.chargesMissed)
	}
	in.Instructions = jittest.LongProgram(30000)
	c, err = compile(in, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.missed) != 2 || !c.chargesMissed {
		t.Fatalf("first try: %d conditional branches out of reach, charges out of reach %v; want 2 and true", len(c.missed), c.chargesMissed)
	}
	out, err := Compile(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Code) < 1<<20 {
		t.Fatalf("code of %d bytes, want more than a megabyte", len(out.Code))
	}
	// The exit of the function at the end, more than a megabyte from the
	// entry's epilogue at the start, branches there over a b.
	exit := int(out.Slots[len(out.Slots)-1]) // ldr, cmp, b.ne, b, ret
	if w := binary.LittleEndian.Uint32(out.Code[exit+8:]); w != 0x54000041 {
		t.Errorf("the last exit's branch to the epilogue is %#08x, want b.ne over a b (0x54000041)", w)
	}
}
