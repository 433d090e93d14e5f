package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// raw runs src as a RawMemory program on mem.
func raw(t *testing.T, opts Options, src string, mem []byte, extra ...memory.Region) outcome {
	t.Helper()
	return exec(t, RawMemory, opts, src, Input{Data: mem}, extra...)
}

func TestCsumDiff(t *testing.T) {
	// Linux 6.18 results: from words, to words (stored as 32-bit
	// immediates), sizes, seed.
	cases := []struct {
		from, to []uint32
		fs, ts   int
		seed     int32
		want     uint64
	}{
		{nil, []uint32{0x01020304}, 0, 4, 0, 0x406},
		{nil, []uint32{0xffffffff}, 0, 4, 0, 0xffff},
		{nil, []uint32{0x12345678, 0x9abcdef0}, 0, 8, 0, 0xe259},
		{nil, []uint32{0x12345678, 0x9abcdef0}, 0, 8, 0x11111, 0xf36b},
		{nil, []uint32{0x12345678}, 0, 4, -1, 0x68ac},
		{[]uint32{0x01020304}, nil, 4, 0, 0, 0xfbf9},
		{[]uint32{0x01020304}, nil, 4, 0, 0x5678, 0x5272},
		{[]uint32{0x01020304}, []uint32{0x05060708}, 4, 4, 0, 0x808},
		{[]uint32{0x01020304, 0xaabbccdd}, []uint32{0x05060708}, 8, 4, 0x1234, 0xa2a2},
		{[]uint32{0xffffffff}, []uint32{0}, 4, 4, 0, 0},
		{[]uint32{0}, []uint32{0xffffffff}, 4, 4, 0, 0xffff},
		{nil, nil, 0, 0, 0x12345, 0x2346},
		{nil, nil, 0, 0, -1, 0xffff},
		{nil, []uint32{1}, 0, 3, 0, 1},
		{nil, []uint32{1, 2, 3, 4, 5, 6, 7, 8}, 0, 32, 0, 0x24},
	}
	for _, c := range cases {
		var src strings.Builder
		for i, v := range c.from {
			fmt.Fprintf(&src, "stw [%%r10%+d], %d\n", -64+4*i, int32(v))
		}
		for i, v := range c.to {
			fmt.Fprintf(&src, "stw [%%r10%+d], %d\n", -32+4*i, int32(v))
		}
		fmt.Fprintf(&src, "mov %%r1, %%r10\nadd %%r1, -64\nmov %%r2, %d\nmov %%r3, %%r10\nadd %%r3, -32\nmov %%r4, %d\nmov %%r5, %d\ncall 28\nexit", c.fs, c.ts, c.seed)
		r := mustRun(t, ebpf.XDP, src.String(), Input{Data: packet(64)})
		if r.ret != c.want {
			t.Errorf("from %x to %x seed %#x: %#x, kernel %#x", c.from, c.to, c.seed, r.ret, c.want)
		}
	}
	// Odd sizes over a buffer of i*7+1 (kernel: array value of 2048 bytes,
	// from at 0, to at 1024).
	buf := make([]byte, 2048)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	for _, c := range []struct {
		fs, ts int
		want   uint64
	}{
		{0, 1, 0x1}, {0, 2, 0x801}, {0, 3, 0x810}, {0, 5, 0x1e2d}, {1, 0, 0xfffe}, {3, 0, 0xf7ef},
		{1, 1, 0xffff}, {3, 5, 0x161d}, {0, 512, 0x807f}, {0, 513, 0x8080}, {256, 256, 0xffff},
		{256, 260, 0x1e10}, {0, 1024, 0xff}, {1024, 1024, 0xffff},
	} {
		src := fmt.Sprintf("mov %%r6, %%r1\nmov %%r2, %d\nmov %%r3, %%r6\nadd %%r3, 1024\nmov %%r4, %d\nmov %%r5, 0\ncall 28\nexit", c.fs, c.ts)
		if r := raw(t, Options{}, src, buf); r.err != nil || r.ret != c.want {
			t.Errorf("sizes %d/%d: %#x %v, kernel %#x", c.fs, c.ts, r.ret, r.err, c.want)
		}
	}
}

func TestMapHelpers(t *testing.T) {
	arr := newFake(t, maps.Spec{Name: "arr", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	regions := arr.Regions()
	// update key 2 with 0x1122, look it up, read through the pointer.
	src := fmt.Sprintf(`
	stw [%%r10-4], 2
	mov %%r1, 0x1122
	stxdw [%%r10-16], %%r1
	lddw %%r1, %#x
	mov %%r2, %%r10
	add %%r2, -4
	mov %%r3, %%r10
	add %%r3, -16
	mov %%r4, 0
	call 2
	lddw %%r1, %#x
	mov %%r2, %%r10
	add %%r2, -4
	call 1
	jeq %%r0, 0, miss
	ldxdw %%r0, [%%r0+0]
	exit
miss:
	mov %%r0, -1
	exit`, arr.handle, arr.handle)
	if r := raw(t, Options{}, src, nil, regions...); r.err != nil || r.ret != 0x1122 {
		t.Errorf("update+lookup: %#x %v", r.ret, r.err)
	}
	// lookup of a missing key gives 0; update with BPF_NOEXIST gives -EEXIST;
	// delete gives the map's errno.
	for _, c := range []struct {
		src  string
		want uint64
	}{
		{fmt.Sprintf("stw [%%r10-4], 9\nlddw %%r1, %#x\nmov %%r2, %%r10\nadd %%r2, -4\ncall 1\nexit", arr.handle), 0},
		{fmt.Sprintf("stw [%%r10-4], 1\nstdw [%%r10-16], 0\nlddw %%r1, %#x\nmov %%r2, %%r10\nadd %%r2, -4\nmov %%r3, %%r10\nadd %%r3, -16\nmov %%r4, 1\ncall 2\nexit", arr.handle), neg(errno.EEXIST)},
		{fmt.Sprintf("stw [%%r10-4], 1\nlddw %%r1, %#x\nmov %%r2, %%r10\nadd %%r2, -4\ncall 3\nexit", arr.handle), neg(errno.EINVAL)},
	} {
		if r := raw(t, Options{}, c.src, nil, regions...); r.err != nil || r.ret != c.want {
			t.Errorf("%s: %#x %v, want %#x", c.src, r.ret, r.err, c.want)
		}
	}
	// A value that is no map's handle ends the run.
	if r := raw(t, Options{}, "stw [%r10-4], 1\nlddw %r1, 0x1234\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit", nil); r.err == nil || !strings.Contains(r.err.Error(), "0x1234") {
		t.Errorf("bad handle: %v", r.err)
	}
	// A key outside program memory ends the run.
	if r := raw(t, Options{}, fmt.Sprintf("lddw %%r1, %#x\nmov %%r2, 8\ncall 1\nexit", arr.handle), nil); r.err == nil {
		t.Error("key at address 8 accepted")
	}

	// Map in map: the lookup returns the inner map's handle.
	outer := newFake(t, maps.Spec{Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	outer.objs[1] = maps.Map(arr)
	src = fmt.Sprintf("stw [%%r10-4], 1\nlddw %%r1, %#x\nmov %%r2, %%r10\nadd %%r2, -4\ncall 1\nexit", outer.handle)
	if r := raw(t, Options{}, src, nil); r.ret != arr.handle {
		t.Errorf("map in map: %#x %v", r.ret, r.err)
	}

	// Queue: push 2 values, peek, pop, pop on empty.
	q := newFake(t, maps.Spec{Type: ebpf.Queue, ValueSize: 8, MaxEntries: 2})
	src = fmt.Sprintf(`
	lddw %%r6, %#x
	stdw [%%r10-8], 11
	mov %%r1, %%r6
	mov %%r2, %%r10
	add %%r2, -8
	mov %%r3, 0
	call 87
	stdw [%%r10-8], 22
	mov %%r1, %%r6
	mov %%r2, %%r10
	add %%r2, -8
	mov %%r3, 0
	call 87
	mov %%r1, %%r6
	mov %%r2, %%r10
	add %%r2, -8
	mov %%r3, 0
	call 87
	mov %%r7, %%r0
	mov %%r1, %%r6
	mov %%r2, %%r10
	add %%r2, -16
	call 89
	mov %%r1, %%r6
	mov %%r2, %%r10
	add %%r2, -16
	call 88
	mov %%r1, %%r6
	mov %%r2, %%r10
	add %%r2, -24
	call 88
	mov %%r1, %%r6
	mov %%r2, %%r10
	add %%r2, -24
	call 88
	lsh %%r0, 32
	ldxdw %%r1, [%%r10-16]
	ldxdw %%r2, [%%r10-24]
	lsh %%r2, 8
	or %%r0, %%r1
	or %%r0, %%r2
	and %%r7, 0xff
	lsh %%r7, 16
	or %%r0, %%r7
	exit`, q.handle)
	r := raw(t, Options{}, src, nil)
	if want := neg(errno.ENOENT)<<32 | uint64(byte(neg(errno.E2BIG)))<<16 | 22<<8 | 11; r.err != nil || r.ret != want {
		t.Errorf("queue: %#x %v, want %#x", r.ret, r.err, want)
	}
}

func TestTailCall(t *testing.T) {
	target, err := interp.Compile(mustAssemble(t, "mov %r0, 42\nexit"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := newFake(t, maps.Spec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	pa.objs[1] = target
	for _, c := range []struct {
		idx  int
		want uint64
	}{{0, 7}, {4, 7}, {-1, 7}} {
		src := fmt.Sprintf("lddw %%r2, %#x\nmov %%r3, %d\ncall 12\nmov %%r0, 7\nexit", pa.handle, c.idx)
		if r := raw(t, Options{}, src, nil); r.err != nil || r.ret != c.want {
			t.Errorf("tail call %d: %d %v", c.idx, r.ret, r.err)
		}
	}
}

// TestTailCallHelper checks what bpf_tail_call hands the engine for a
// filled slot. (The engine's handling of it is the engine's to test.)
func TestTailCallHelper(t *testing.T) {
	pa := newFake(t, maps.Spec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	pa.objs[1] = "target"
	c := helper.Call{Args: [5]uint64{0, pa.handle, 1}}
	_, err := tailCall(&c)
	var tc *helper.TailCall
	if !errors.As(err, &tc) || tc.Target != "target" {
		t.Errorf("tail call to a filled slot: %v", err)
	}
	arr := newFake(t, maps.Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	c.Args[1] = arr.handle
	if _, err := tailCall(&c); err == nil || errors.As(err, &tc) {
		t.Errorf("tail call through an array: %v", err)
	}
}

func mustAssemble(t *testing.T, src string) isa.Instructions {
	t.Helper()
	insns, err := assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	return insns
}

func TestLoopAndForEach(t *testing.T) {
	// bpf_loop: sum the indexes into the context's first u64; stop at 5.
	src := `
	mov %r6, %r1
	mov %r1, %NR
	lddw %r2, func body
	mov %r3, %r6
	mov %r4, %FLAGS
	call 181
	exit
body:
	ldxdw %r3, [%r2+0]
	add %r3, %r1
	stxdw [%r2+0], %r3
	mov %r0, 0
	jne %r1, 5, out
	mov %r0, 1
out:
	exit`
	for _, c := range []struct {
		nr, flags string
		ret, sum  uint64
	}{
		{"3", "0", 3, 3}, {"10", "0", 6, 15}, {"0", "0", 0, 0}, {"3", "1", neg(errno.EINVAL), 0},
		// 32-bit, as the kernel's inlined bpf_loop gives it.
		{"0x800001", "0", uint64(uint32(neg(errno.E2BIG))), 0},
	} {
		s := strings.NewReplacer("%NR", c.nr, "%FLAGS", c.flags).Replace(src)
		s = strings.Replace(s, "mov %r1, 0x800001", "lddw %r1, 0x800001", 1)
		r := raw(t, Options{}, s, make([]byte, 8))
		if r.err != nil || r.ret != c.ret || binary.NativeEndian.Uint64(r.out.Data) != c.sum {
			t.Errorf("loop %s flags %s: %#x sum %d %v", c.nr, c.flags, r.ret, binary.NativeEndian.Uint64(r.out.Data), r.err)
		}
	}
	// for_each_map_elem: add key*value into ctx; stop at key 2; the key is
	// read-only.
	arr := newFake(t, maps.Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	for i := range arr.vals {
		binary.NativeEndian.PutUint64(arr.vals[i], uint64(10*(i+1)))
	}
	src = fmt.Sprintf(`
	mov %%r3, %%r1
	lddw %%r1, %#x
	lddw %%r2, func cb
	mov %%r4, 0
	call 164
	exit
cb:
	ldxw %%r5, [%%r2+0]
	ldxdw %%r6, [%%r3+0]
	mul %%r6, %%r5
	ldxdw %%r7, [%%r4+0]
	add %%r7, %%r6
	stxdw [%%r4+0], %%r7
	stdw [%%r3+0], 0
	mov %%r0, 0
	jne %%r5, 2, out
	mov %%r0, 1
out:
	exit`, arr.handle)
	r := raw(t, Options{}, src, make([]byte, 8), arr.Regions()...)
	if r.err != nil || r.ret != 3 || binary.NativeEndian.Uint64(r.out.Data) != 0*10+1*20+2*30 {
		t.Errorf("for_each: %d sum %d %v", r.ret, binary.NativeEndian.Uint64(r.out.Data), r.err)
	}
	if binary.NativeEndian.Uint64(arr.vals[1]) != 0 || binary.NativeEndian.Uint64(arr.vals[3]) != 40 {
		t.Error("the callback's value pointer does not reach the element")
	}
	bad := strings.Replace(src, "stdw [%r3+0], 0", "stw [%r2+0], 0", 1)
	if r := raw(t, Options{}, bad, make([]byte, 8), arr.Regions()...); r.err == nil {
		t.Error("the callback wrote the key")
	}
	flags := strings.Replace(src, "mov %r4, 0\n\tcall 164", "mov %r4, 1\n\tcall 164", 1)
	if r := raw(t, Options{}, flags, make([]byte, 8), arr.Regions()...); r.ret != neg(errno.EINVAL) {
		t.Errorf("for_each flags 1: %#x %v", r.ret, r.err)
	}
}

func TestPrintf(t *testing.T) {
	var trace bytes.Buffer
	opts := Options{Trace: &trace}
	for _, c := range []struct {
		format string
		args   []uint64
		want   string
		ok     bool
	}{
		{"x=%d y=%u z=%x", []uint64{1<<32 | 0xffffffff, 0xffffffff, 255}, "x=-1 y=4294967295 z=ff", true},
		{"%ld %lu %lx %lld %llu %llx %X", []uint64{1<<64 - 2, 1<<64 - 1, 1 << 40, 5, 6, 0xab, 0xab}, "-2 18446744073709551615 10000000000 5 6 ab AB", true},
		{"%i %5d|%-5d|%05d|%+d|% d", []uint64{7, 42, 42, 42, 42, 42}, "7    42|42   |00042|+42| 42", true},
		{"%c%c %% %s", []uint64{'h', 'i', 0}, "hi % ", true},
		{"%p", []uint64{0xdead}, "000000000000dead", true},
		{"%q", []uint64{1}, "", false},
		{"%d %d %d %d", []uint64{1, 2, 3, 4}, "", true},
		{"%", []uint64{1}, "", false},
		{"\x01", nil, "", false},
		{"%pZ", []uint64{1}, "", false},
	} {
		// Format in the raw memory at 0, arguments at 256.
		mem := make([]byte, 512)
		copy(mem, c.format)
		for i, a := range c.args {
			binary.NativeEndian.PutUint64(mem[256+8*i:], a)
		}
		// snprintf into the memory at 128.
		src := fmt.Sprintf(`
	mov %%r6, %%r1
	mov %%r1, %%r6
	add %%r1, 128
	mov %%r2, 100
	mov %%r3, %%r6
	mov %%r4, %%r6
	add %%r4, 256
	mov %%r5, %d
	call 165
	exit`, 8*len(c.args))
		r := raw(t, opts, src, mem)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !c.ok {
			if r.ret != neg(errno.EINVAL) {
				t.Errorf("snprintf %q: %#x, want -EINVAL", c.format, r.ret)
			}
			continue
		}
		if c.format == "%d %d %d %d" {
			continue
		}
		got := string(r.out.Data[128 : 128+bytes.IndexByte(r.out.Data[128:], 0)])
		if got != c.want || r.ret != uint64(len(c.want)+1) {
			t.Errorf("snprintf %q = %q (%d), want %q", c.format, got, r.ret, c.want)
		}
	}
	// trace_printk: 3 arguments at most, a line to Options.Trace, the length.
	mem := make([]byte, 64)
	copy(mem, "n=%d %s\x00hello\x00")
	src := "mov %r6, %r1\nmov %r2, 16\nmov %r3, 5\nmov %r4, %r6\nadd %r4, 8\ncall 6\nexit"
	r := raw(t, opts, src, mem)
	if r.err != nil || r.ret != 9 || trace.String() != "n=5 hello\n" {
		t.Errorf("trace_printk: %d %q %v", r.ret, trace.String(), r.err)
	}
	copy(mem, "%d%d%d%d\x00")
	if r := raw(t, opts, src, mem); r.ret != neg(errno.EINVAL) {
		t.Errorf("trace_printk with 4 conversions: %#x", r.ret)
	}
	copy(mem, "no nul in size")
	if r := raw(t, opts, "mov %r2, 4\ncall 6\nexit", mem); r.ret != neg(errno.EINVAL) {
		t.Errorf("trace_printk without NUL: %#x", r.ret)
	}
	// snprintf with size 0 writes nothing and returns the length; a %s of
	// an unreadable address prints nothing.
	mem = make([]byte, 64)
	copy(mem, "<%s>\x00")
	binary.NativeEndian.PutUint64(mem[32:], 8)
	src = "mov %r6, %r1\nmov %r1, %r6\nadd %r1, 48\nmov %r2, 0\nmov %r3, %r6\nmov %r4, %r6\nadd %r4, 32\nmov %r5, 8\ncall 165\nexit"
	if r := raw(t, opts, src, mem); r.ret != 3 || r.out.Data[48] != 0 {
		t.Errorf("snprintf size 0: %d", r.ret)
	}
	if r := raw(t, opts, strings.Replace(src, "mov %r5, 8", "mov %r5, 4", 1), mem); r.ret != neg(errno.EINVAL) {
		t.Errorf("snprintf data_len 4: %#x", r.ret)
	}
}

func TestProbeReadAndStrings(t *testing.T) {
	mem := make([]byte, 64)
	copy(mem[32:], "yz\x00")
	copy(mem, "xxxxxxxx")
	// An address outside the program's memory: the legacy helper and the
	// user variant give -EFAULT, the kernel variant -ERANGE for a user-half
	// address (as on x86-64) and -EFAULT above it; dst is zeroed.
	for _, c := range []struct {
		id   int
		addr string
		want uint64
	}{
		{4, "0x1000", neg(errno.EFAULT)},
		{112, "0x1000", neg(errno.EFAULT)},
		{113, "0x1000", neg(errno.ERANGE)},
		{113, "0xffff888000000000", neg(errno.EFAULT)},
	} {
		src := fmt.Sprintf("mov %%r2, 8\nlddw %%r3, %s\ncall %d\nexit", c.addr, c.id)
		r := raw(t, Options{}, src, mem)
		if r.ret != c.want || !bytes.Equal(r.out.Data[:8], make([]byte, 8)) {
			t.Errorf("probe_read %d of %s: %#x % x, want %#x", c.id, c.addr, r.ret, r.out.Data[:8], c.want)
		}
	}
	// User memory: waggle has none, so even the program's own memory
	// fails, as a kernel address does in the kernel.
	r := raw(t, Options{}, "mov %r3, %r1\nadd %r3, 32\nmov %r2, 3\ncall 112\nexit", mem)
	if r.ret != neg(errno.EFAULT) {
		t.Errorf("probe_read_user of program memory: %#x", r.ret)
	}
	r = raw(t, Options{}, "mov %r3, %r1\nadd %r3, 32\nmov %r2, 3\ncall 113\nexit", mem)
	if r.ret != 0 || string(r.out.Data[:3]) != "yz\x00" {
		t.Errorf("probe_read_kernel ok: %#x %q", r.ret, r.out.Data[:3])
	}
	for _, c := range []struct {
		n    int
		ret  uint64
		want string
	}{{8, 3, "yz\x00xxxxx"}, {2, 2, "y\x00xxxxxx"}, {1, 1, "\x00xxxxxxx"}} {
		for _, id := range []int{45, 115} {
			r := raw(t, Options{}, fmt.Sprintf("mov %%r3, %%r1\nadd %%r3, 32\nmov %%r2, %d\ncall %d\nexit", c.n, id), mem)
			if r.ret != c.ret || string(r.out.Data[:8]) != c.want {
				t.Errorf("probe_read_str %d n=%d: %d %q", id, c.n, r.ret, r.out.Data[:8])
			}
		}
	}
	r = raw(t, Options{}, "mov %r2, 8\nmov %r3, 0x1000\ncall 115\nexit", mem)
	if r.ret != neg(errno.ERANGE) || !bytes.Equal(r.out.Data[:8], make([]byte, 8)) {
		t.Errorf("probe_read_kernel_str of a user-half address: %#x", r.ret)
	}
	r = raw(t, Options{}, "mov %r2, 8\nmov %r3, 0x1000\ncall 114\nexit", mem)
	if r.ret != neg(errno.EFAULT) {
		t.Errorf("probe_read_user_str: %#x", r.ret)
	}
	// strncmp: the kernel's -1, 0, 1.
	for _, c := range []struct {
		a, b string
		n    int
		want int64
	}{{"abc", "abc", 4, 0}, {"abc", "abd", 4, -1}, {"abd", "abc", 4, 1}, {"ab", "abc", 4, -1}, {"abc", "ab", 4, 1}, {"abc", "abd", 2, 0}, {"\xff", "a", 2, 1}} {
		m := make([]byte, 64)
		copy(m, c.a)
		copy(m[32:], c.b)
		r := raw(t, Options{}, fmt.Sprintf("mov %%r3, %%r1\nadd %%r3, 32\nmov %%r2, %d\ncall 182\nexit", c.n), m)
		if int64(r.ret) != c.want {
			t.Errorf("strncmp(%q, %d, %q) = %d", c.a, c.n, c.b, int64(r.ret))
		}
	}
}

func TestTaskAndTimeHelpers(t *testing.T) {
	r := raw(t, Options{}, "call 14\nexit", nil)
	if r.ret>>32 != uint64(os.Getpid()) {
		t.Errorf("pid_tgid %#x", r.ret)
	}
	r = raw(t, Options{}, "call 15\nexit", nil)
	uid, gid := uint64(os.Getuid()), uint64(os.Getgid())
	if runtime.GOOS == "windows" { // no uid or gid: the kernel's overflowuid and overflowgid
		uid, gid = 65534, 65534
	}
	if r.ret != gid<<32|uid {
		t.Errorf("uid_gid %#x", r.ret)
	}
	r = raw(t, Options{Comm: "averyveryverylongname"}, "mov %r2, 20\ncall 16\nexit", bytes.Repeat([]byte{'x'}, 20))
	if string(r.out.Data) != "averyveryverylongna\x00" {
		t.Errorf("comm %q", r.out.Data)
	}
	r = raw(t, Options{Comm: "ab"}, "mov %r2, 6\ncall 16\nexit", bytes.Repeat([]byte{'x'}, 8))
	if string(r.out.Data) != "ab\x00\x00\x00\x00xx" {
		t.Errorf("comm %q", r.out.Data)
	}
	r = raw(t, Options{}, "mov %r2, 16\ncall 16\nexit", make([]byte, 16))
	if !strings.HasPrefix(procComm(), string(bytes.TrimRight(r.out.Data, "\x00"))) || r.out.Data[0] == 0 {
		t.Errorf("comm %q", r.out.Data)
	}
	r = exec(t, RawMemory, Options{}, "call 8\nexit", Input{CPU: 3})
	if r.ret != 3 {
		t.Errorf("smp_processor_id %d", r.ret)
	}
	if r := raw(t, Options{}, "call 42\nexit", nil); r.ret != 0 {
		t.Errorf("numa %d", r.ret)
	}
	mono := uint64(time.Duration(monotonicNs()))
	for _, id := range []int{5, 125, 160} {
		r := raw(t, Options{}, fmt.Sprintf("call %d\nexit", id), nil)
		if d := int64(r.ret) - int64(mono); d < -int64(time.Second) || d > int64(time.Hour*24*365) {
			t.Errorf("clock %d: %d vs monotonic %d", id, r.ret, mono)
		}
	}
	r = raw(t, Options{HZ: 1000}, "call 118\nexit", nil)
	if want := initialJiffies(1000) + monotonicNs()/1e6; r.ret > want || want-r.ret > 1000 {
		t.Errorf("jiffies64 %d, want about %d", r.ret, want)
	}
	a := raw(t, Options{}, "call 7\nmov %r6, %r0\ncall 7\nxor %r0, %r6\nexit", nil)
	if a.ret == 0 {
		t.Error("two prandom values are equal")
	}
}

func TestSpinLock(t *testing.T) {
	arr := newFake(t, maps.Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	lookup := fmt.Sprintf("stw [%%r10-4], 0\nlddw %%r1, %#x\nmov %%r2, %%r10\nadd %%r2, -4\ncall 1\nmov %%r6, %%r0\n", arr.handle)
	// lock, increment, unlock.
	r := raw(t, Options{}, lookup+"mov %r1, %r6\ncall 93\nldxw %r1, [%r6+4]\nadd %r1, 1\nstxw [%r6+4], %r1\nldxw %r7, [%r6+0]\nmov %r1, %r6\ncall 94\nldxw %r0, [%r6+0]\nlsh %r7, 8\nor %r0, %r7\nexit", nil, arr.Regions()...)
	if r.err != nil || r.ret != 1<<8 || arr.vals[0][4] != 1 {
		t.Errorf("lock: %#x %v", r.ret, r.err)
	}
	// A run that ends holding the lock releases it in Finish, so the next
	// run does not deadlock.
	r = raw(t, Options{}, lookup+"mov %r1, %r6\ncall 93\nldxw %r0, [%r6+0]\nexit", nil, arr.Regions()...)
	if r.ret != 1 || arr.vals[0][0] != 0 {
		t.Errorf("lock left held: %d word %d", r.ret, arr.vals[0][0])
	}
	r = raw(t, Options{}, lookup+"mov %r1, %r6\ncall 93\nmov %r1, %r6\ncall 93\nexit", nil, arr.Regions()...)
	if r.err == nil {
		t.Error("taking a second lock succeeded")
	}
	r = raw(t, Options{}, lookup+"mov %r1, %r6\nadd %r1, 2\ncall 93\nexit", nil, arr.Regions()...)
	if r.err == nil {
		t.Error("misaligned lock accepted")
	}
}

func TestRingbuf(t *testing.T) {
	rb := newFake(t, maps.Spec{Type: ebpf.RingBuf, MaxEntries: 4096})
	src := fmt.Sprintf(`
	lddw %%r1, %#x
	mov %%r2, 8
	mov %%r3, 0
	call 131
	jeq %%r0, 0, fail
	stdw [%%r0+0], 0x77
	mov %%r1, %%r0
	mov %%r2, 0
	call 132
	lddw %%r1, %#x
	mov %%r2, 8
	mov %%r3, 0
	call 131
	mov %%r1, %%r0
	mov %%r2, 0
	call 133
	lddw %%r1, %#x
	mov %%r2, 100
	mov %%r3, 0
	call 131
	jne %%r0, 0, fail
	lddw %%r1, %#x
	mov %%r2, 8
	mov %%r3, 1
	call 131
	jne %%r0, 0, fail
	stdw [%%r10-8], 0x99
	lddw %%r1, %#x
	mov %%r2, %%r10
	add %%r2, -8
	mov %%r3, 8
	mov %%r4, 0
	call 130
	jne %%r0, 0, fail
	lddw %%r1, %#x
	mov %%r2, %%r10
	add %%r2, -8
	mov %%r3, 8
	mov %%r4, 4
	call 130
	mov %%r6, %%r0
	lddw %%r1, %#x
	mov %%r2, 2
	call 134
	lsh %%r6, 8
	or %%r0, %%r6
	exit
fail:
	mov %%r0, -1
	exit`, rb.handle, rb.handle, rb.handle, rb.handle, rb.handle, rb.handle, rb.handle)
	// The reserved record is memory the program may write: the fake ring
	// buffer's pending records, known only after Reserve, so the test
	// engine gets a region over all the fake's future records instead.
	r := execRing(t, rb, src)
	if r.err != nil || r.ret != (neg(errno.EINVAL)<<8|102) {
		t.Fatalf("ringbuf: %#x %v", r.ret, r.err)
	}
	if len(rb.records) != 2 || rb.records[0][0] != 0x77 || rb.records[1][0] != 0x99 || len(rb.pending) != 0 {
		t.Errorf("records %v pending %d", rb.records, len(rb.pending))
	}
	// A record not submitted is discarded by Finish.
	r = execRing(t, rb, fmt.Sprintf("lddw %%r1, %#x\nmov %%r2, 8\nmov %%r3, 0\ncall 131\nmov %%r0, 0\nexit", rb.handle))
	if len(rb.pending) != 0 || len(rb.records) != 2 {
		t.Errorf("after an unsubmitted reserve: pending %d records %d", len(rb.pending), len(rb.records))
	}
	if r := execRing(t, rb, "mov %r1, 8\nmov %r2, 0\ncall 132\nexit"); r.err == nil {
		t.Error("submitting an address that is no record succeeded")
	}
}

// execRing runs a RawMemory program whose helpers see the fake ring
// buffer's records as memory: a helper wrapper adds the record's region to
// the machine after each reserve.
func execRing(t *testing.T, rb *fakeMap, src string) outcome {
	t.Helper()
	tab, _ := HelpersFor(RawMemory, Options{})
	var m *interp.Machine
	orig, _ := tab.Lookup(131)
	tab.Register(helper.Helper{ID: 131, Func: func(c *helper.Call) (uint64, error) {
		r, err := orig.Func(c)
		if r != 0 {
			m.Memory.Regions = append(m.Memory.Regions, memory.NewRegion(rb.pending[uintptr(r)], true, memory.KindMapValue))
		}
		return r, err
	}})
	p, err := interp.Compile(mustAssemble(t, src), tab)
	if err != nil {
		t.Fatal(err)
	}
	run, _ := NewRun(RawMemory, Options{})
	m = interp.NewMachine()
	args, _ := run.Setup(&m.Memory, Input{})
	ret, err := p.Run(m, engine.RunArgs{R1: args[0], State: run})
	var out Output
	run.Finish(&out)
	return outcome{ret: ret, err: err, out: out, run: run}
}

func TestPerfEventOutput(t *testing.T) {
	pe := newFake(t, maps.Spec{Type: ebpf.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	var got []PerfRecord
	opts := Options{PerfOutput: func(r PerfRecord) error { got = append(got, r); return nil }}
	call := func(flags string) string {
		return fmt.Sprintf("stdw [%%r10-8], 0x41\nlddw %%r2, %#x\nlddw %%r3, %s\nmov %%r4, %%r10\nadd %%r4, -8\nmov %%r5, 1\ncall 25\nexit", pe.handle, flags)
	}
	for _, c := range []struct {
		typ   ebpf.ProgramType
		opts  Options
		flags string
		want  uint64
		rec   string
	}{
		{ebpf.XDP, opts, "0xffffffff", 0, "A"},
		{ebpf.XDP, opts, "0x300000001", 0, "A\x00\x01\x02"},
		{ebpf.XDP, opts, "0x4100000000", neg(errno.EFAULT), ""},
		{ebpf.XDP, opts, "2", neg(errno.E2BIG), ""},
		{ebpf.XDP, opts, "0x10000000000000", neg(errno.EINVAL), ""},
		{ebpf.XDP, Options{}, "0", neg(errno.ENOENT), ""},
		{ebpf.SocketFilter, opts, "0x200000000", 0, "A\x0e\x0f"},
		{RawMemory, opts, "0x100000000", neg(errno.EINVAL), ""},
		{RawMemory, opts, "1", 0, "A"},
	} {
		got = nil
		in := Input{Data: packet(64)}
		if c.typ == RawMemory {
			in = Input{}
		}
		r := exec(t, c.typ, c.opts, call(c.flags), in)
		if r.err != nil || r.ret != c.want {
			t.Errorf("%v flags %s: %#x %v, want %#x", c.typ, c.flags, r.ret, r.err, c.want)
			continue
		}
		if c.rec != "" && (len(got) != 1 || string(got[0].Data) != c.rec) {
			t.Errorf("%v flags %s: records %+v", c.typ, c.flags, got)
		}
	}
}

func TestOtherContexts(t *testing.T) {
	// Raw tracepoint: u64 arguments, narrow aligned reads, at most 12.
	args := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for _, c := range []struct {
		src  string
		want uint64
		ok   bool
	}{
		{"ldxdw %r0, [%r1+8]\nexit", 0x100f0e0d0c0b0a09, true},
		{"ldxh %r0, [%r1+10]\nexit", 0x0c0b, true},
		{"ldxh %r0, [%r1+11]\nexit", 0, false},
		{"ldxdw %r0, [%r1+16]\nexit", 0, false},
		{"stdw [%r1+0], 1\nexit", 0, false},
	} {
		r := exec(t, ebpf.RawTracepoint, Options{}, c.src, Input{Context: args})
		if c.ok != (r.err == nil) || r.ret != c.want {
			t.Errorf("raw_tp %q: %#x %v", c.src, r.ret, r.err)
		}
	}
	if r := exec(t, ebpf.RawTracepoint, Options{}, "mov %r0, 0\nexit", Input{Context: make([]byte, 104)}); !errors.Is(r.err, errno.EINVAL) {
		t.Errorf("raw_tp 13 args: %v", r.err)
	}
	if r := exec(t, ebpf.RawTracepoint, Options{}, "mov %r0, %r1\nexit", Input{}); r.err != nil || r.ret != 0 {
		t.Errorf("raw_tp without args: r1 = %#x %v", r.ret, r.err)
	}
	// Syscall: writable context, written back.
	r := exec(t, ebpf.Syscall, Options{}, "ldxw %r2, [%r1+0]\nadd %r2, 1\nstxw [%r1+0], %r2\nmov %r0, 0\nexit", Input{Context: []byte{1, 0, 0, 0}})
	if r.err != nil || !bytes.Equal(r.out.Context, []byte{2, 0, 0, 0}) {
		t.Errorf("syscall: % x %v", r.out.Context, r.err)
	}
	if r := exec(t, ebpf.Syscall, Options{}, "mov %r0, 0\nexit", Input{Data: []byte{1}}); !errors.Is(r.err, errno.EINVAL) {
		t.Errorf("syscall with data: %v", r.err)
	}
	// kprobe, tracepoint, perf_event: read-only context memory.
	for _, typ := range []ebpf.ProgramType{ebpf.Kprobe, ebpf.TracePoint, ebpf.PerfEvent} {
		r := exec(t, typ, Options{}, "ldxdw %r0, [%r1+8]\nexit", Input{Context: args})
		if r.err != nil || r.ret != 0x100f0e0d0c0b0a09 {
			t.Errorf("%v read: %#x %v", typ, r.ret, r.err)
		}
		if r := exec(t, typ, Options{}, "stdw [%r1+0], 1\nexit", Input{Context: args}); r.err == nil {
			t.Errorf("%v write succeeded", typ)
		}
	}
	// RawMemory: r1, r2 = the memory and its length.
	r = raw(t, Options{}, "stb [%r1+1], 9\nmov %r0, %r2\nexit", []byte{1, 2, 3})
	if r.ret != 3 || !bytes.Equal(r.out.Data, []byte{1, 9, 3}) {
		t.Errorf("raw: %d % x", r.ret, r.out.Data)
	}
	// Helpers that need the run refuse to run without it.
	tab, _ := HelpersFor(ebpf.XDP, Options{})
	h, _ := tab.Lookup(44)
	var c helper.Call
	if _, err := h.Func(&c); err == nil {
		t.Error("xdp_adjust_head without a Run succeeded")
	}
}

func assemble(src string) (isa.Instructions, error) { return assembler.Assemble(src) }

// TestRunHoldsInnerMaps: an inner map that a run looked up stays reachable
// from the run until the next run begins, even after Go removed it from the
// outer map and closed it: compiled code may still hold the address of one
// of its values.
func TestRunHoldsInnerMaps(t *testing.T) {
	innerSpec := maps.Spec{Name: "inner", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
	inner, err := maps.New(&innerSpec)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := maps.New(&maps.Spec{Name: "outer", Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: &innerSpec})
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close()
	key := make([]byte, 4)
	if err := outer.(maps.ObjectMap).UpdateObject(key, inner, maps.UpdateAny); err != nil {
		t.Fatal(err)
	}
	run, _ := NewRun(RawMemory, Options{})
	var mem memory.Memory
	if _, err := run.Setup(&mem, Input{}); err != nil {
		t.Fatal(err)
	}
	h, err := MapLookup(&helper.Call{State: run}, outer, key)
	if err != nil || h != inner.Handle() {
		t.Fatalf("lookup in the outer map: %#x, %v; want the inner map's handle %#x", h, err, inner.Handle())
	}
	inner.Close()
	if err := outer.Delete(key); err != nil {
		t.Fatal(err)
	}
	if maps.ByHandle(h) != nil {
		t.Fatal("the inner map is still registered after its last reference went")
	}
	if len(run.held) != 1 || run.held[0] != inner {
		t.Fatalf("the run holds %v, want the inner map", run.held)
	}
	if _, err := run.Setup(&mem, Input{}); err != nil {
		t.Fatal(err)
	}
	if len(run.held) != 0 {
		t.Fatalf("the next run still holds %v", run.held)
	}
}
