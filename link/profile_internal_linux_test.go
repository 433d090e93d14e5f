package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/notify"
)

// TestSampleMemory checks that a sample's memory serves the stack copy
// where it has it, and the process's memory beyond it: here this test's
// own memory, with a "copy" of a buffer's first half that differs from
// the buffer, so that the test sees which one answered.
func TestSampleMemory(t *testing.T) {
	kerneltest.SkipIfEmulated(t, "qemu-user does not implement process_vm_readv")
	backing := bytes.Repeat([]byte{0xaa}, 64)
	for i := range backing {
		backing[i] = byte(i)
	}
	base := uint64(uintptr(unsafe.Pointer(&backing[0])))
	copied := bytes.Repeat([]byte{0xcc}, 32) // the sample's copy of backing[:32]
	m := &sampleMemory{sp: base, stack: copied, rest: notify.Memory{PID: os.Getpid()}}
	cases := []struct {
		name string
		off  uint64 // from base
		n    int
		want []byte
	}{
		{"in the copy", 8, 8, copied[8:16]},
		{"the copy's end, then the process", 28, 8, append(append([]byte{}, copied[28:32]...), backing[32:36]...)},
		{"after the copy", 40, 8, backing[40:48]},
	}
	for _, c := range cases {
		got := make([]byte, c.n)
		n, err := m.ReadAt(got, int64(base+c.off))
		if err != nil || n != c.n || !bytes.Equal(got, c.want) {
			t.Errorf("%s: read %d, %v: %x; want %x", c.name, n, err, got, c.want)
		}
	}
	// Below the copy, an unmapped address: a short read and an error.
	got := make([]byte, 8)
	if n, err := m.ReadAt(got, 8); err == nil || n == 8 {
		t.Errorf("a read of address 8 gave %d bytes, %v; want a failure", n, err)
	}
}

// TestPerfOpenError checks what a refused or impossible perf_event_open
// says: the sysctl and its value, or that the kernel lacks the events.
func TestPerfOpenError(t *testing.T) {
	cases := []struct {
		err  error
		want []string
	}{
		{unix.EACCES, []string{"thread 42 refused", "kernel.perf_event_paranoid is ", "sysctl -w kernel.perf_event_paranoid=2", "CAP_PERFMON"}},
		{unix.EPERM, []string{"kernel.perf_event_paranoid is "}},
		{unix.ENOENT, []string{"no software CPU clock events"}},
		{unix.EMFILE, []string{"thread 42 on CPU 3"}},
	}
	for _, c := range cases {
		err := perfOpenError(c.err, 42, 3)
		if !errors.Is(err, c.err) {
			t.Errorf("%v: %v does not wrap it", c.err, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", c.err, err, w)
			}
		}
	}
}

// sampleRecord builds a sample's body as the kernel writes it.
func sampleRecord(ip uint64, tgid, tid uint32, period uint64, regs []uint64, stack []byte, dyn uint64) []byte {
	var b []byte
	b = binary.NativeEndian.AppendUint64(b, ip)
	b = binary.NativeEndian.AppendUint32(b, tgid)
	b = binary.NativeEndian.AppendUint32(b, tid)
	b = binary.NativeEndian.AppendUint64(b, period)
	if regs == nil {
		b = binary.NativeEndian.AppendUint64(b, unix.PERF_SAMPLE_REGS_ABI_NONE)
	} else {
		b = binary.NativeEndian.AppendUint64(b, unix.PERF_SAMPLE_REGS_ABI_64)
		for _, r := range regs {
			b = binary.NativeEndian.AppendUint64(b, r)
		}
	}
	b = binary.NativeEndian.AppendUint64(b, uint64(len(stack)))
	if len(stack) > 0 {
		b = append(b, stack...)
		b = binary.NativeEndian.AppendUint64(b, dyn)
	}
	return b
}

// TestParseSample checks the parser of sample records on the shapes the
// kernel writes and on cut ones.
func TestParseSample(t *testing.T) {
	regs := make([]uint64, len(profileRegs))
	for i := range regs {
		regs[i] = uint64(i + 1)
	}
	stack := bytes.Repeat([]byte{7}, 64)
	full := sampleRecord(0x401000, 10, 11, 2000, regs, stack, 48)
	cases := []struct {
		name      string
		b         []byte
		ok, user  bool
		stackSize int
	}{
		{"user sample", full, true, true, 48},
		{"dynamic size above the copy's", sampleRecord(1, 2, 3, 4, regs, stack, 1<<40), true, true, 64},
		{"no stack", sampleRecord(1, 2, 3, 4, regs, nil, 0), true, true, 0},
		{"no user context", sampleRecord(1, 2, 3, 4, nil, nil, 0), true, false, 0},
		{"cut in the stack", full[:len(full)-9], false, false, 0},
		{"cut in the registers", full[:40], false, false, 0},
		{"cut in the header", full[:20], false, false, 0},
	}
	for _, c := range cases {
		p, ok := parseSample(c.b)
		if ok != c.ok || (ok && (p.userRegs != c.user || len(p.stack) != c.stackSize)) {
			t.Errorf("%s: ok %v, user %v, stack %d bytes; want %v, %v, %d", c.name, ok, p.userRegs, len(p.stack), c.ok, c.user, c.stackSize)
		}
	}
	p, _ := parseSample(full)
	if p.ip != 0x401000 || p.tgid != 10 || p.tid != 11 || p.period != 2000 || binary.NativeEndian.Uint64(p.regs[8*8:]) != 9 {
		t.Errorf("fields %+v", p)
	}
}

// FuzzParseSample checks that no record makes the parser fail other
// than by saying so, and that what it gives lies within the record.
func FuzzParseSample(f *testing.F) {
	regs := make([]uint64, len(profileRegs))
	f.Add(sampleRecord(1, 2, 3, 4, regs, bytes.Repeat([]byte{1}, 32), 16))
	f.Add(sampleRecord(1, 2, 3, 4, nil, nil, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := parseSample(b)
		if !ok {
			return
		}
		if p.userRegs && len(p.regs) != 8*len(profileRegs) {
			t.Fatalf("%d bytes of registers", len(p.regs))
		}
		if len(p.stack) > len(b) {
			t.Fatalf("a stack of %d bytes from a record of %d", len(p.stack), len(b))
		}
	})
}
