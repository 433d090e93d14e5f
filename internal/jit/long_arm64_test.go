//go:build linux

package jit

import (
	"testing"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
)

// TestLongBranches runs a program whose code is longer than a b.cond
// reaches, verified and checked: the arm64 backend compiles its far
// conditional branches and budget charges inverted over a b (see
// arm64.TestLongBranches), and they must still go where they should.
func TestLongBranches(t *testing.T) {
	table, err := helper.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	// Checked code is about three times as long.
	for _, checked := range []bool{false, true} {
		n := map[bool]uint64{false: 25000, true: 8000}[checked]
		p, err := Compile(jittest.LongProgram(int(n)), table, Options{Checked: checked})
		if err != nil {
			t.Fatal(err)
		}
		if p.CodeSize() < 1<<20 {
			t.Fatalf("checked=%v: %d bytes of code, want more than a megabyte", checked, p.CodeSize())
		}
		m := NewMachine()
		for _, tc := range []struct{ r1, want uint64 }{{1, 0}, {0, 2 * n}} {
			r, err := p.Run(m, engine.RunArgs{R1: tc.r1})
			if err != nil || r != tc.want {
				t.Errorf("checked=%v, r1=%d: r0 = %d, %v; want %d", checked, tc.r1, r, err, tc.want)
			}
		}
	}
}
