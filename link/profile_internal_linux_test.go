package link

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/notify"
)

// TestSampleMemory checks that a sample's memory serves the stack copy
// where it has it, and the process's memory beyond it: here this test's
// own memory, with a "copy" of a buffer's first half that differs from
// the buffer, so that the test sees which one answered.
func TestSampleMemory(t *testing.T) {
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
