package kernel

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// TestArgsMirror: compiled code reads a raw tracepoint's arguments
// straight from the context when the access is an aligned read within
// the twelve arguments; anything else goes to Go.
func TestArgsMirror(t *testing.T) {
	for _, c := range []struct {
		off, size int
		write     bool
		found     bool
	}{
		{0, 8, false, true},
		{88, 8, false, true},
		{4, 4, false, true},
		{6, 2, false, true},
		{7, 1, false, true},
		{4, 8, false, false},
		{96, 8, false, false},
		{-8, 8, false, false},
		{0, 8, true, false},
	} {
		f := ContextMirror(ebpf.RawTracepoint, c.off, c.size, c.write)
		if !f.Virtual || f.Found != c.found || (c.found && (f.Off != int32(c.off) || f.Size != c.size)) {
			t.Errorf("ContextMirror(%d, %d, write %v) = %+v, want found %v at the same offset", c.off, c.size, c.write, f, c.found)
		}
	}
}

// TestPrepareArgs: a run prepared once serves the arguments written into
// ArgsBuffer, and Rearm drops the regions a run added.
func TestPrepareArgs(t *testing.T) {
	r, err := NewRun(ebpf.RawTracepoint, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mem memory.Memory
	r1, err := r.PrepareArgs(&mem, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	n := len(mem.Regions)
	binary.NativeEndian.PutUint64(r.ArgsBuffer()[16:], 42)
	ctx := mem.Regions[r.ctxIdx]
	if ctx.Start != r1 || ctx.Size != 24 {
		t.Fatalf("context region %+v, r1 %#x", ctx, r1)
	}
	if v, ok := ctx.Virtual.Load(16, 8); !ok || v != 42 {
		t.Errorf("args[2] = %d, %v; want 42", v, ok)
	}
	if _, ok := ctx.Virtual.Load(24, 8); ok {
		t.Error("args[3] of 3 arguments can be read")
	}
	mem.Add(memory.NewRegion(make([]byte, 8), false, memory.KindHelper))
	r.Rearm()
	if len(mem.Regions) != n {
		t.Errorf("%d regions after Rearm, want %d", len(mem.Regions), n)
	}
	x, err := NewRun(ebpf.XDP, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.PrepareArgs(&mem, 0, 1); err == nil || !strings.Contains(err.Error(), "do not take arguments") {
		t.Errorf("XDP: %v", err)
	}
}
