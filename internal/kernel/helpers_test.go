package kernel

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// outcome of one test run.
type outcome struct {
	ret uint64
	err error
	out Output
	run *Run
}

// exec assembles src, compiles it with the helpers of t and runs it once on
// in, with extra regions (map values) added to the machine's memory.
func exec(t *testing.T, typ ebpf.ProgramType, opts Options, src string, in Input, extra ...memory.Region) outcome {
	t.Helper()
	insns, err := assembler.Assemble(src)
	if err != nil {
		t.Fatalf("assemble: %v", err)
	}
	tab, err := HelpersFor(typ, opts)
	if err != nil {
		t.Fatalf("HelpersFor: %v", err)
	}
	p, err := interp.Compile(insns, tab)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	run, err := NewRun(typ, opts)
	if err != nil {
		t.Fatalf("NewRun: %v", err)
	}
	m := interp.NewMachine()
	for _, r := range extra {
		m.Memory.Add(r)
	}
	args, err := run.Setup(&m.Memory, in)
	if err != nil {
		return outcome{err: err, run: run}
	}
	m.Packet = run.Packet()
	ret, err := p.Run(m, engine.RunArgs{R1: args[0], R2: args[1], R3: args[2], R4: args[3], R5: args[4], State: run, CPU: in.CPU})
	var out Output
	run.Finish(&out)
	return outcome{ret: ret, err: err, out: out, run: run}
}

func mustRun(t *testing.T, typ ebpf.ProgramType, src string, in Input) outcome {
	t.Helper()
	r := exec(t, typ, Options{}, src, in)
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	return r
}

// packet returns n bytes 0, 1, 2, ... with an EtherType of 0x1234 (no IP
// header checks) unless n is short.
func packet(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	if n >= 14 {
		b[12], b[13] = 0x12, 0x34
	}
	return b
}

// ---- fake maps -------------------------------------------------------------

type fakeMap struct {
	spec   maps.Spec
	handle uint64
	vals   [][]byte // array: one value per index
	queue  [][]byte
	objs   map[uint32]any
	// ring buffer
	records [][]byte
	pending map[uintptr][]byte
}

func newFake(t *testing.T, spec maps.Spec) *fakeMap {
	f := &fakeMap{spec: spec, objs: map[uint32]any{}, pending: map[uintptr][]byte{}}
	for i := uint32(0); i < spec.MaxEntries && spec.Type == ebpf.Array; i++ {
		f.vals = append(f.vals, make([]byte, maps.ValueStride(spec.ValueSize)))
	}
	f.handle = maps.Register(f)
	t.Cleanup(func() { maps.Unregister(f.handle) })
	return f
}

func (f *fakeMap) Spec() *maps.Spec { return &f.spec }
func (f *fakeMap) Handle() uint64   { return f.handle }
func (f *fakeMap) index(key []byte) (uint32, bool) {
	if len(key) != 4 {
		return 0, false
	}
	i := binary.NativeEndian.Uint32(key)
	return i, i < f.spec.MaxEntries
}
func (f *fakeMap) Lookup(key []byte, cpu int) unsafe.Pointer {
	if i, ok := f.index(key); ok && f.vals != nil {
		return unsafe.Pointer(&f.vals[i][0])
	}
	return nil
}
func (f *fakeMap) Update(key, value []byte, flags uint64, cpu int) error {
	i, ok := f.index(key)
	if !ok || f.vals == nil {
		return maps.ErrInvalid
	}
	if flags == maps.UpdateNoExist {
		return maps.ErrKeyExist
	}
	copy(f.vals[i], value)
	return nil
}
func (f *fakeMap) Delete(key []byte) error                 { return maps.ErrInvalid }
func (f *fakeMap) LookupUser(key, value []byte) error      { return maps.ErrNotSupp }
func (f *fakeMap) UpdateUser(k, v []byte, fl uint64) error { return maps.ErrNotSupp }
func (f *fakeMap) NextKey(key, next []byte) error          { return maps.ErrKeyNotExist }
func (f *fakeMap) Regions() []memory.Region {
	var rs []memory.Region
	for _, v := range f.vals {
		rs = append(rs, memory.NewRegion(v, true, memory.KindMapValue))
	}
	for _, v := range f.pending {
		rs = append(rs, memory.NewRegion(v, true, memory.KindMapValue))
	}
	return rs
}
func (f *fakeMap) Close() {}

// Iterable.
func (f *fakeMap) ForEach(cpu int, fn func(key []byte, value unsafe.Pointer) bool) int {
	n := 0
	for i := range f.vals {
		var k [4]byte
		binary.NativeEndian.PutUint32(k[:], uint32(i))
		n++
		if !fn(k[:], unsafe.Pointer(&f.vals[i][0])) {
			break
		}
	}
	return n
}

// Queue.
func (f *fakeMap) Push(value []byte, flags uint64) error {
	if uint32(len(f.queue)) >= f.spec.MaxEntries {
		return maps.ErrFull
	}
	f.queue = append(f.queue, append([]byte(nil), value...))
	return nil
}
func (f *fakeMap) Pop(value []byte) error {
	if err := f.Peek(value); err != nil {
		return err
	}
	f.queue = f.queue[1:]
	return nil
}
func (f *fakeMap) Peek(value []byte) error {
	if len(f.queue) == 0 {
		return maps.ErrKeyNotExist
	}
	copy(value, f.queue[0])
	return nil
}

// ObjectMap.
func (f *fakeMap) LookupObject(key []byte) any {
	i, ok := f.index(key)
	if !ok {
		return nil
	}
	return f.objs[i]
}
func (f *fakeMap) UpdateObject(key []byte, obj any, flags uint64) error { return maps.ErrNotSupp }

// RingBuffer.
func (f *fakeMap) Reserve(size uint64) unsafe.Pointer {
	if size > 64 {
		return nil
	}
	b := make([]byte, size)
	p := unsafe.Pointer(&b[0])
	f.pending[uintptr(p)] = b
	return p
}
func (f *fakeMap) Commit(p unsafe.Pointer, discard bool) error {
	b, ok := f.pending[uintptr(p)]
	if !ok {
		return errors.New("not reserved")
	}
	delete(f.pending, uintptr(p))
	if !discard {
		f.records = append(f.records, b)
	}
	return nil
}
func (f *fakeMap) Output(data []byte) error {
	f.records = append(f.records, append([]byte(nil), data...))
	return nil
}
func (f *fakeMap) Query(flag uint64) uint64                  { return 100 + flag }
func (f *fakeMap) Read(done <-chan struct{}) ([]byte, error) { return nil, maps.ErrClosed }

var _ interface {
	maps.Iterable
	maps.Queue
	maps.ObjectMap
	maps.RingBuffer
} = (*fakeMap)(nil)

// ---- helper tables ---------------------------------------------------------

func TestHelpersFor(t *testing.T) {
	// Which types may call which helpers, as Linux 6.18 answered
	// features.HaveProgramHelper: xdp, tc, sched_act, socket_filter,
	// kprobe, tracepoint, raw_tracepoint, syscall, perf_event. 148
	// (bpf_copy_from_user) only for sleepable programs: syscall.
	types := []ebpf.ProgramType{ebpf.XDP, ebpf.SchedCLS, ebpf.SchedACT, ebpf.SocketFilter, ebpf.Kprobe, ebpf.TracePoint, ebpf.RawTracepoint, ebpf.Syscall, ebpf.PerfEvent}
	kernel := map[int32]string{
		1: "YYYYYYYYY", 2: "YYYYYYYYY", 3: "YYYYYYYYY", 4: "----YYYYY", 5: "YYYYYYYYY", 6: "YYYYYYYYY",
		7: "YYYYYYYYY", 8: "YYYYYYYYY", 12: "YYYYYYYYY", 14: "YYYYYYYYY", 15: "YYYYYYYYY", 16: "YYYYYYYYY",
		23: "YYY------", 25: "YYYYYYYYY", 26: "-YYY-----", 27: "----YYYYY", 28: "YYY------", 42: "YYYYYYYYY", 44: "Y--------",
		35: "YYYYYYYYY", 45: "----YYYYY", 51: "Y--------", 67: "----YYYYY", 54: "Y--------", 65: "Y--------", 87: "YYYYYYYYY", 88: "YYYYYYYYY",
		89: "YYYYYYYYY", 93: "YYYYYYYYY", 94: "YYYYYYYYY", 112: "YYYYYYYYY", 113: "YYYYYYYYY", 114: "YYYYYYYYY",
		115: "YYYYYYYYY", 118: "YYYYYYYYY", 125: "YYYYYYYYY", 130: "YYYYYYYYY", 131: "YYYYYYYYY",
		132: "YYYYYYYYY", 133: "YYYYYYYYY", 134: "YYYYYYYYY", 148: "-------Y-", 160: "YYYY-----", 164: "YYYYYYYYY",
		165: "YYYYYYYYY", 174: "----YYY-Y", 181: "YYYYYYYYY", 182: "YYYYYYYYY",
		// The skb helpers. The kernel also gives syscall programs a
		// bpf_get_socket_cookie (46) of a socket pointer, which waggle
		// does not have.
		9: "-YY------", 10: "-YY------", 11: "-YY------", 17: "YYYYYYYYY", 18: "-YY------", 19: "-YY------",
		20: "-YY------", 21: "-YY------", 29: "-YY------", 30: "-YY------", 31: "-YY------", 32: "-YY------",
		34: "-YY------", 38: "-YY------", 39: "-YY------", 43: "-YY------", 41: "-YY------", 46: "-YYY-----", 48: "-YY------",
		50: "-YY------", 68: "-YYY-----", 79: "-YY------", 122: "-YYY-----", 135: "-YY------", 152: "-YY------",
		155: "-YY------", 69: "YYY------", 13: "-YY------",
		84: "YYY------", 85: "YYY------", 86: "YYY------", 99: "YYY------", 124: "-YY------",
		40: "-YY------", 24: "-YY------", 47: "-YYY-----", 151: "-YY------", 83: "-YY------", 97: "-YY------",
		// 188 is also given to syscall programs (on a BTF xdp_buff), which
		// waggle does not do.
		188: "Y--------", 189: "Y--------", 190: "Y--------",
		59: "---------", // the socket types' own: TestSockHelpersFor
	}
	if len(kernel) != len(defs) {
		t.Errorf("%d helpers implemented, %d in the table", len(defs), len(kernel))
	}
	for i, typ := range types {
		tab, err := HelpersFor(typ, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for id, row := range kernel {
			want := row[i] == 'Y'
			_, got := tab.Lookup(id)
			known, allowed := HelperAllowed(typ, id)
			if got != want || !known || allowed != want {
				t.Errorf("%v helper %d (%s): in table %v, allowed %v, kernel %v", typ, id, helper.Name(id), got, allowed, want)
			}
		}
	}
	if known, _ := HelperAllowed(ebpf.XDP, 9999); known {
		t.Error("helper 9999 known")
	}
	if _, err := HelpersFor(ebpf.LSM, Options{}); err == nil || !strings.Contains(err.Error(), "LSM") {
		t.Errorf("HelpersFor(LSM) = %v", err)
	}
	if known, allowed := HelperAllowed(ebpf.SocketFilter, 44); !known || allowed {
		t.Errorf("xdp_adjust_head in socket filters: known %v allowed %v", known, allowed)
	}
	// A program calling a helper its type may not call is refused at load.
	insns, _ := assembler.Assemble("call 44\nexit")
	tab, _ := HelpersFor(ebpf.SocketFilter, Options{})
	if _, err := interp.Compile(insns, tab); err == nil || !strings.Contains(err.Error(), "bpf_xdp_adjust_head") {
		t.Errorf("compile: %v", err)
	}
	if _, err := NewRun(ebpf.LSM, Options{}); err == nil {
		t.Error("NewRun(LSM) succeeded")
	}
}
