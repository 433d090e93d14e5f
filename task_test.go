package waggle_test

import (
	"errors"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
)

// fakeAddressSpace is a task's memory with one mapping: b at base.
type fakeAddressSpace struct {
	base int64
	b    []byte
}

var errUnmapped = errors.New("unmapped")

func (m fakeAddressSpace) ReadAt(p []byte, off int64) (int, error) {
	if off < m.base || off >= m.base+int64(len(m.b)) {
		return 0, errUnmapped
	}
	n := copy(p, m.b[off-m.base:])
	if n < len(p) {
		return n, errUnmapped
	}
	return n, nil
}

// taskProgram loads a verified raw tracepoint program.
func taskProgram(t *testing.T, src string) *waggle.Program {
	t.Helper()
	insns, err := assembler.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "task", Type: ebpf.RawTracepoint, License: "GPL", Instructions: insns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestRunTask(t *testing.T) {
	ids := taskProgram(t, `
		call 14 # bpf_get_current_pid_tgid
		mov %r6, %r0
		call 15 # bpf_get_current_uid_gid
		xor %r0, %r6
		exit`)
	task := &helper.Task{PID: 1001, TGID: 1000, UID: 7, GID: 8, Comm: "tracee"}
	ret, err := ids.Run(&waggle.RunOptions{Context: make([]byte, 8), Task: task})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64((1000<<32 | 1001) ^ (8<<32 | 7)); uint64(ret) != want&0xffffffff {
		t.Errorf("pid_tgid ^ uid_gid = %#x, want %#x", ret, want&0xffffffff)
	}

	// r0 = the first byte read | the helper's result << 8.
	readStr := taskProgram(t, `
		ldxdw %r3, [%r1]
		mov %r1, %r10
		add %r1, -16
		mov %r2, 16
		call 114 # bpf_probe_read_user_str
		mov %r7, %r0
		ldxb %r0, [%r10-16]
		lsh %r7, 8
		or %r0, %r7
		exit`)
	space := fakeAddressSpace{base: 0x7f0000, b: []byte("hello\x00world, and more than sixteen bytes")}
	const efault = 0xfffff200 // -EFAULT << 8, in 32 bits
	for _, tc := range []struct {
		name string
		task *helper.Task
		addr uint64
		want uint64
	}{
		{"string", &helper.Task{Memory: space}, 0x7f0000, 'h' | 6<<8},
		{"cut to the buffer", &helper.Task{Memory: space}, 0x7f0006, 'w' | 16<<8},
		{"unmapped", &helper.Task{Memory: space}, 0x1000, efault},
		{"no NUL before the mapping ends", &helper.Task{Memory: fakeAddressSpace{base: 0x7f0000, b: []byte("abc")}}, 0x7f0000, efault},
		{"task without memory", &helper.Task{}, 0x7f0000, efault},
		{"no task", nil, 0x7f0000, efault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := make([]byte, 8)
			for i := range 8 {
				ctx[i] = byte(tc.addr >> (8 * i))
			}
			ret, err := readStr.Run(&waggle.RunOptions{Context: ctx, Task: tc.task})
			if err != nil {
				t.Fatal(err)
			}
			if uint64(ret) != tc.want&0xffffffff {
				t.Errorf("return value %#x, want %#x", ret, tc.want&0xffffffff)
			}
		})
	}
}
