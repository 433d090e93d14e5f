//go:build linux

package probe_test

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	kernellink "github.com/cilium/ebpf/link"
)

//go:noinline
func kernelProbed(a, b uint64) uint64 { return a ^ b }

// BenchmarkKernelUprobe is the kernel's answer to BenchmarkFire's
// array-jit case, for comparison in the same run: a kernel uprobe on a
// plain Go function of this binary, running a counting program (an
// atomic add to element 0 of an array) in the kernel at every call. It
// needs root and a kernel with uprobes; it skips, saying which is
// missing, otherwise.
func BenchmarkKernelUprobe(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("the kernel's uprobes need root")
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		b.Skipf("the kernel's bpf(): %v", err)
	}
	defer m.Close()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, License: "GPL", Instructions: asm.Instructions{
		asm.Mov.Imm(asm.R1, 0),
		asm.StoreMem(asm.RFP, -4, asm.R1, asm.Word),
		asm.LoadMapPtr(asm.R1, m.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "exit"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("exit"),
		asm.Return(),
	}})
	if err != nil {
		b.Skipf("the kernel refuses a kprobe program: %v", err)
	}
	defer prog.Close()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	ex, err := kernellink.OpenExecutable(self)
	if err != nil {
		b.Fatal(err)
	}
	l, err := ex.Uprobe("github.com/waggle-ebpf/waggle/probe_test.kernelProbed", prog, nil)
	if errors.Is(err, kernellink.ErrNoSymbol) {
		b.Skipf("%v: go test links the binaries it runs without a symbol table; build this one with go test -c", err)
	}
	if err != nil {
		b.Skipf("the kernel's uprobes: %v", err)
	}
	defer l.Close()
	for i := 0; b.Loop(); i++ {
		sink += kernelProbed(uint64(i), 2)
	}
	var n uint64
	if err := m.Lookup(uint32(0), &n); err != nil {
		b.Fatal(err)
	}
	if n != uint64(b.N) {
		b.Fatalf("the kernel's program counted %d calls, want %d", n, b.N)
	}
}
