package kernel

import (
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// stackMemory is a user address space for stack walks: 8-byte words at
// addresses.
type stackMemory map[uint64]uint64

func (m stackMemory) ReadAt(p []byte, off int64) (int, error) {
	for i := 0; i < len(p); i += 8 {
		w, ok := m[uint64(off)+uint64(i)]
		if !ok || len(p)-i < 8 {
			return i, errors.New("unmapped")
		}
		binary.NativeEndian.PutUint64(p[i:], w)
	}
	return len(p), nil
}

// A stack of three frames: rip 0x401000, returns to 0x401234 then
// 0x401500; the last frame's saved rbp is 0.
var threeFrames = stackMemory{
	0x7ffd0010: 0x7ffd0030, 0x7ffd0018: 0x401234,
	0x7ffd0030: 0, 0x7ffd0038: 0x401500,
}

var threeFramesRegs = &helper.UserRegs{IP: 0x401000, SP: 0x7ffd0000, BP: 0x7ffd0010}

func TestGetStack(t *testing.T) {
	const user = stackUser
	loop := stackMemory{0x7ffd0010: 0x7ffd0010, 0x7ffd0018: 0x401111} // a frame pointing at itself
	for _, tc := range []struct {
		name  string
		task  *helper.Task
		size  uint64
		flags uint64
		ret   int64
		want  []uint64 // the buffer's words
	}{
		{"user stack", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 32, user, 24, []uint64{0x401000, 0x401234, 0x401500, 0}},
		{"cut to the buffer", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 16, user, 16, []uint64{0x401000, 0x401234}},
		{"skip 1", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 32, user | 1, 16, []uint64{0x401234, 0x401500, 0, 0}},
		{"skip all", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 32, user | 3, 0, []uint64{0, 0, 0, 0}},
		{"skip more than the frames", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 32, user | 4, -14, []uint64{0, 0, 0, 0}},
		{"frame loop bounded by the buffer", &helper.Task{Regs: threeFramesRegs, Memory: loop}, 32, user, 32, []uint64{0x401000, 0x401111, 0x401111, 0x401111}},
		{"no registers", &helper.Task{Memory: threeFrames}, 16, user, -14, []uint64{0, 0}},
		{"no task", nil, 16, user, -14, []uint64{0, 0}},
		{"no memory: the instruction pointer only", &helper.Task{Regs: threeFramesRegs}, 16, user, 8, []uint64{0x401000, 0}},
		{"kernel stack: empty", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 16, 0, 0, []uint64{0, 0}},
		{"kernel stack, skipped frames", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 16, 2, -14, []uint64{0, 0}},
		{"size not a multiple of 8", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 12, user, -22, []uint64{0, 0}},
		{"unknown flag", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 16, user | 1<<9, -22, []uint64{0, 0}},
		{"build ID without the user stack", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 32, stackUserBuild, -22, []uint64{0, 0, 0, 0}},
		{"build IDs: addresses", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 64, user | stackUserBuild, 64,
			[]uint64{buildIDStatusIP, 0, 0, 0x401000, buildIDStatusIP, 0, 0, 0x401234}},
		{"build IDs, size not a multiple of 32", &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}, 40, user | stackUserBuild, -22, []uint64{0, 0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, 64)
			for i := range buf {
				buf[i] = 0xee // the helper zeroes what it does not write
			}
			region := memory.NewRegion(buf, true, memory.KindMapValue)
			ctx := binary.NativeEndian.AppendUint64(nil, region.Start)
			ctx = binary.NativeEndian.AppendUint64(ctx, tc.size)
			ctx = binary.NativeEndian.AppendUint64(ctx, tc.flags)
			r := exec(t, ebpf.RawTracepoint, Options{}, `
				ldxdw %r2, [%r1]
				ldxdw %r3, [%r1+8]
				ldxdw %r4, [%r1+16]
				call 67
				exit`, Input{Context: ctx, Task: tc.task}, region)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if int64(r.ret) != tc.ret {
				t.Errorf("bpf_get_stack returned %d, want %d", int64(r.ret), tc.ret)
			}
			var got []uint64
			for i := 0; i+8 <= int(tc.size); i += 8 {
				got = append(got, binary.NativeEndian.Uint64(buf[i:]))
			}
			if int(tc.size)%8 != 0 {
				got = append(got, uint64(binary.NativeEndian.Uint32(buf[tc.size-4:])))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("buffer %#x, want %#x", got, tc.want)
			}
			for i := tc.size; i < uint64(len(buf)); i++ {
				if buf[i] != 0xee {
					t.Fatalf("byte %d past the buffer's %d written", i, tc.size)
				}
			}
		})
	}
}

// TestGetStackID: bpf_get_stackid stores stacks in a stack trace map of
// one bucket (max_entries 1), so that every stack has ID 0 and the
// collisions are known: each step runs on the map as the steps before
// left it.
func TestGetStackID(t *testing.T) {
	const user = stackUser
	task := &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}
	for _, buildID := range []bool{false, true} {
		spec := maps.Spec{Name: "stacks", Type: ebpf.StackTrace, KeySize: 4, ValueSize: 64, MaxEntries: 1}
		entry := func(ip uint64) []uint64 { return []uint64{ip} }
		if buildID {
			spec.Flags = maps.FlagStackBuildID
			entry = func(ip uint64) []uint64 { return []uint64{buildIDStatusIP, 0, 0, ip} }
		}
		m, err := maps.New(&spec)
		if err != nil {
			t.Fatal(err)
		}
		depth := 8 // value_size / 8, or / 32 for build IDs
		if buildID {
			depth = 2
		}
		stack := func(ips ...uint64) []uint64 {
			var w []uint64
			for _, ip := range ips[:min(depth, len(ips))] {
				w = append(w, entry(ip)...)
			}
			return append(w, make([]uint64, 8-len(w))...)
		}
		for _, step := range []struct {
			name  string
			task  *helper.Task
			flags uint64
			ret   int64
			want  []uint64 // the map's stack 0 after the step, nil for none
		}{
			{"the kernel stack is empty", task, 0, -14, nil},
			{"no registers", &helper.Task{Memory: threeFrames}, user, -14, nil},
			{"unknown flag", task, user | 1<<11, -22, nil},
			{"skipping every frame", task, user | 3, -14, nil},
			{"a user stack", task, user, 0, stack(0x401000, 0x401234, 0x401500)},
			{"the same stack: the same ID", task, user, 0, stack(0x401000, 0x401234, 0x401500)},
			{"another stack on the ID", task, user | 1, -17, stack(0x401000, 0x401234, 0x401500)},
			{"BPF_F_FAST_STACK_CMP: another hash", task, user | 1 | 1<<9, -17, stack(0x401000, 0x401234, 0x401500)},
			{"BPF_F_REUSE_STACKID replaces it", task, user | 1 | 1<<10, 0, stack(0x401234, 0x401500)},
		} {
			ctx := binary.NativeEndian.AppendUint64(nil, 0)
			ctx = binary.NativeEndian.AppendUint64(ctx, m.Handle())
			ctx = binary.NativeEndian.AppendUint64(ctx, step.flags)
			r := exec(t, ebpf.RawTracepoint, Options{}, `
				ldxdw %r2, [%r1+8]
				ldxdw %r3, [%r1+16]
				call 27
				exit`, Input{Context: ctx, Task: step.task})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if int64(r.ret) != step.ret {
				t.Errorf("build ID %v, %s: bpf_get_stackid returned %d, want %d", buildID, step.name, int64(r.ret), step.ret)
			}
			value := make([]byte, 64)
			err := m.LookupUser(make([]byte, 4), value)
			var got []uint64
			if err == nil {
				for i := 0; i < 64; i += 8 {
					got = append(got, binary.NativeEndian.Uint64(value[i:]))
				}
			}
			if !slices.Equal(got, step.want) {
				t.Errorf("build ID %v, %s: stack 0 is %#x, want %#x", buildID, step.name, got, step.want)
			}
		}
		m.Close()
	}
}

// TestGetStackContextRegs: kprobe and perf_event programs walk the user
// stack from their context's registers when those are user-mode ones (cs &
// 3 == 3: a uprobe's, a user-space sample's), as the kernel does, and from
// the task's otherwise.
func TestGetStackContextRegs(t *testing.T) {
	task := &helper.Task{Regs: threeFramesRegs, Memory: threeFrames}
	for _, tc := range []struct {
		name string
		typ  ebpf.ProgramType
		size int
		cs   uint64
		want []uint64
	}{
		{"kprobe, user-mode registers", ebpf.Kprobe, ptRegsSize, 0x33, []uint64{0x402000, 0x401500, 0}},
		{"kprobe, kernel-mode registers: the task's", ebpf.Kprobe, ptRegsSize, 0x10, []uint64{0x401000, 0x401234, 0x401500}},
		{"perf_event, user-mode registers", ebpf.PerfEvent, perfEventDataSize, 0x33, []uint64{0x402000, 0x401500, 0}},
		{"perf_event, no registers: the task's", ebpf.PerfEvent, perfEventDataSize, 0, []uint64{0x401000, 0x401234, 0x401500}},
		{"tracepoint: the task's", ebpf.TracePoint, 64, 0x33, []uint64{0x401000, 0x401234, 0x401500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, 24)
			region := memory.NewRegion(buf, true, memory.KindMapValue)
			ctx := make([]byte, tc.size)
			// The helper's arguments in r13, r14, r15 of the registers (the
			// 8 bytes at 16, 24, 32 of a tracepoint's record).
			args := 16
			if tc.typ != ebpf.TracePoint {
				args = 0
				binary.NativeEndian.PutUint64(ctx[ptRegsIP:], 0x402000)
				binary.NativeEndian.PutUint64(ctx[ptRegsSP:], 0x7ffd0020)
				binary.NativeEndian.PutUint64(ctx[ptRegsBP:], 0x7ffd0030)
				binary.NativeEndian.PutUint64(ctx[ptRegsCS:], tc.cs)
			}
			binary.NativeEndian.PutUint64(ctx[args:], region.Start)
			binary.NativeEndian.PutUint64(ctx[args+8:], 24)
			binary.NativeEndian.PutUint64(ctx[args+16:], stackUser)
			src := strings.NewReplacer("A0", strconv.Itoa(args), "A1", strconv.Itoa(args+8), "A2", strconv.Itoa(args+16)).Replace(`
				ldxdw %r2, [%r1+A0]
				ldxdw %r3, [%r1+A1]
				ldxdw %r4, [%r1+A2]
				call 67
				exit`)
			r := exec(t, tc.typ, Options{}, src, Input{Context: ctx, Task: task}, region)
			if r.err != nil {
				t.Fatal(r.err)
			}
			n := 0
			for _, w := range tc.want {
				if w != 0 {
					n += 8
				}
			}
			if int64(r.ret) != int64(n) {
				t.Errorf("bpf_get_stack returned %d, want %d", int64(r.ret), n)
			}
			got := []uint64{binary.NativeEndian.Uint64(buf), binary.NativeEndian.Uint64(buf[8:]), binary.NativeEndian.Uint64(buf[16:])}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stack %#x, want %#x", got, tc.want)
			}
		})
	}
}
