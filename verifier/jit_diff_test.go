package verifier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// Differential testing of the JIT's unchecked mode (what runs verified
// programs) against the interpreter, on programs the verifier accepts.
//
// Each engine gets maps of its own, created alike, and the same
// kernel.Run, so that both runs see the context and the packet at the
// same addresses. The results compared are r0, the data and context out,
// and the contents of every map, after each of several runs on random
// inputs (the maps carry over from run to run, in both engines alike).
//
// What may legitimately differ is an address of memory that each engine
// has its own copy of: the stack (each machine has its own) and map
// values (each engine has its own maps). A root program may leak such an
// address into r0, the packet or a map. A difference is accepted only if
// it is such an address, precisely: the interpreter's value is at offset o
// of one of its stack or map value regions, and the JIT's value is at the
// same offset o of the corresponding region of its own (for 8-byte values,
// or the low 4 bytes of one). Every other difference fails the test. The
// values of maps of maps and program arrays (object IDs, which differ
// between the two sets of maps) are compared by key only.
//
// Helpers whose results are not deterministic (bpf_get_prandom_u32, the
// clocks) are replaced by deterministic ones, restarted before each run.

// jitDiffNondeterministic are the helpers replaced by a counter.
var jitDiffNondeterministic = []asm.BuiltinFunc{asm.FnGetPrandomU32, asm.FnKtimeGetNs, asm.FnJiffies64,
	asm.FnKtimeGetBootNs, asm.FnKtimeGetCoarseNs, asm.FnKtimeGetTaiNs}

// jitDiffEngine is one engine's copy of the program: its maps, its
// instructions with the maps' handles and addresses, and its machine.
type jitDiffEngine struct {
	maps  []maps.Map
	insns isa.Instructions
	iprog *interp.Program // the interpreter's, or
	im    *interp.Machine
	jprog *jit.Program // the JIT's
	jm    *jit.Machine
}

func (e *jitDiffEngine) close() {
	for _, m := range e.maps {
		m.Close()
	}
}

func (e *jitDiffEngine) stackTop() uint64 {
	if e.jm != nil {
		return e.jm.StackTop()
	}
	return e.im.StackTop()
}

// newJITDiffEngine creates the program's maps as newRunner does and
// resolves the program's map references to them.
func newJITDiffEngine(p *Program) (*jitDiffEngine, error) {
	e := &jitDiffEngine{}
	for _, m := range p.Maps {
		spec := &maps.Spec{Name: m.Name, Type: m.Type, KeySize: m.KeySize, ValueSize: m.ValueSize,
			MaxEntries: m.MaxEntries, Flags: m.Flags, CPUs: 1}
		if spec.MaxEntries == 0 && m.Type == ebpf.PerfEventArray {
			spec.MaxEntries = 1
		}
		if m.InnerMap != nil {
			spec.InnerMap = &maps.Spec{Type: m.InnerMap.Type, KeySize: m.InnerMap.KeySize, ValueSize: m.InnerMap.ValueSize,
				MaxEntries: m.InnerMap.MaxEntries, Flags: m.InnerMap.Flags, CPUs: 1}
		}
		mm, err := maps.New(spec)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("map %s: %w", m.Name, err)
		}
		e.maps = append(e.maps, mm)
		if m.Value != nil {
			if err := mm.UpdateUser(make([]byte, 4), m.Value, 0); err != nil {
				e.close()
				return nil, fmt.Errorf("map %s: %w", m.Name, err)
			}
		}
	}
	e.insns = append(isa.Instructions(nil), p.Instructions...)
	for i := range e.insns {
		ins := &e.insns[i]
		if !ins.IsLdDW() {
			continue
		}
		switch uint8(ins.Src) {
		case isa.PseudoMapFD:
			*ins = isa.Instruction{Opcode: isa.OpLdDW, Dst: ins.Dst, Imm: int64(e.maps[uint32(ins.Imm)].Handle())}
		case isa.PseudoMapValue:
			m := e.maps[uint32(ins.Imm)]
			ptr := m.Lookup(make([]byte, 4), 0)
			*ins = isa.Instruction{Opcode: isa.OpLdDW, Dst: ins.Dst, Imm: int64(uint64(uintptr(ptr)) + uint64(ins.Imm)>>32)}
		}
	}
	return e, nil
}

// jitDiffRegion is a region each engine has its own copy of: the
// interpreter's starts at a, the JIT's at b.
type jitDiffRegion struct{ a, b, size uint64 }

// sameAddress reports whether x (the interpreter's) and y (the JIT's) are
// the same offset into corresponding regions (one past the end included,
// as r10 is).
func sameAddress(regions []jitDiffRegion, x, y uint64) bool {
	for _, r := range regions {
		if x-r.a <= r.size && y-r.b == x-r.a {
			return true
		}
	}
	return false
}

// sameAddress32 is sameAddress for the low 32 bits of addresses.
func sameAddress32(regions []jitDiffRegion, x, y uint32) bool {
	for _, r := range regions {
		if uint64(x-uint32(r.a)) <= r.size && y-uint32(r.b) == x-uint32(r.a) {
			return true
		}
	}
	return false
}

// sameBytes compares a (the interpreter's) and b (the JIT's): every byte
// that differs must lie in an 8-byte (or 4-byte) window holding the same
// address in both.
func sameBytes(regions []jitDiffRegion, a, b []byte) (ok, relocated bool) {
	if len(a) != len(b) {
		return false, false
	}
	covered := -1 // bytes before covered+1 are explained
	for i := range a {
		if a[i] == b[i] || i <= covered {
			continue
		}
		found := false
		for _, w := range []int{8, 4} {
			for q := max(i-w+1, 0); q <= i && q+w <= len(a); q++ {
				if w == 8 && sameAddress(regions, binary.LittleEndian.Uint64(a[q:]), binary.LittleEndian.Uint64(b[q:])) ||
					w == 4 && sameAddress32(regions, binary.LittleEndian.Uint32(a[q:]), binary.LittleEndian.Uint32(b[q:])) {
					covered, found = q+w-1, true
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			return false, false
		}
		relocated = true
	}
	return true, relocated
}

// jitDiffMapState is what a map holds: its elements in key order (or its
// records, for queues and ring buffers), as text for the report.
func jitDiffMapState(m maps.Map) ([][2][]byte, error) {
	s := m.Spec()
	var out [][2][]byte
	switch s.Type {
	case ebpf.RingBuf:
		rb, ok := m.(interface {
			ReadInto([]byte, <-chan struct{}) ([]byte, int, error)
		})
		if !ok {
			return nil, errors.New("ring buffer without ReadInto")
		}
		done := make(chan struct{})
		close(done)
		for {
			rec, _, err := rb.ReadInto(nil, done)
			if err != nil {
				break
			}
			out = append(out, [2][]byte{nil, rec})
		}
		return out, nil
	case ebpf.Queue, ebpf.Stack:
		q, ok := m.(interface{ Pop([]byte) error })
		if !ok {
			return nil, errors.New("queue without Pop")
		}
		for {
			v := make([]byte, s.ValueSize)
			if q.Pop(v) != nil {
				break
			}
			out = append(out, [2][]byte{nil, v})
		}
		return out, nil
	case ebpf.PerfEventArray, ebpf.BloomFilter:
		return nil, nil
	}
	vsize := int(s.ValueSize)
	if maps.IsPerCPU(s.Type) {
		vsize = int(maps.ValueStride(s.ValueSize)) * max(s.CPUs, 1)
	}
	var key []byte
	for range 1 << 16 {
		next := make([]byte, s.KeySize)
		if err := m.NextKey(key, next); err != nil {
			break
		}
		v := make([]byte, vsize)
		switch s.Type {
		case ebpf.ArrayOfMaps, ebpf.HashOfMaps, ebpf.ProgramArray, ebpf.DevMap, ebpf.DevMapHash:
			v = nil // object IDs or targets: compared by key only
		default:
			if err := m.LookupUser(next, v); err != nil {
				v = []byte(err.Error())
			}
		}
		out = append(out, [2][]byte{next, v})
		key = next
	}
	slices.SortFunc(out, func(x, y [2][]byte) int { return bytes.Compare(x[0], y[0]) })
	return out, nil
}

// jitDiffResult is what one run of one engine left.
type jitDiffResult struct {
	r0   uint64
	err  error
	data []byte
	ctx  []byte
	maps [][][2][]byte
}

// jitDiff is a verified program ready to run in the interpreter (twice,
// with different stacks and maps) and in the JIT.
type jitDiff struct {
	p            *Program
	e            [3]*jitDiffEngine // interpreter, interpreter, JIT
	run          *kernel.Run
	counter      uint64 // the state of the deterministic helpers
	hasLoop      bool
	relocated    int  // runs whose results differed by addresses only
	interpFailed int  // runs the interpreter ended with an error (both must)
	addrDep      bool // the results depend on addresses: not compared
	runs         int  // runs compared
}

func (d *jitDiff) close() {
	for _, e := range d.e {
		if e != nil {
			e.close()
		}
	}
}

// newJITDiff compiles p, which the verifier accepted with stats, for both
// engines.
func newJITDiff(p *Program, stats *Stats) (*jitDiff, error) {
	d := &jitDiff{p: p}
	tab, err := kernel.HelpersFor(p.Type, kernel.Options{})
	if err != nil {
		return nil, err
	}
	tab = tab.Clone()
	for _, id := range jitDiffNondeterministic {
		if _, ok := tab.Lookup(int32(id)); !ok {
			continue
		}
		step := uint64(1000)
		if id == asm.FnGetPrandomU32 {
			step = 0x9e3779b97f4a7c15
		}
		if err := tab.Register(helper.Helper{ID: int32(id), Func: func(*helper.Call) (uint64, error) {
			d.counter += step
			if id == asm.FnGetPrandomU32 {
				x := d.counter
				x ^= x >> 29
				x *= 0xbf58476d1ce4e5b9
				return uint64(uint32(x ^ x>>32)), nil
			}
			return d.counter, nil
		}}); err != nil {
			return nil, err
		}
	}
	for _, ins := range p.Instructions {
		if ins.IsHelperCall() && int32(ins.Imm) == fnLoop {
			d.hasLoop = true
		}
	}
	for k := range d.e {
		e, err := newJITDiffEngine(p)
		if err != nil {
			d.close()
			return nil, err
		}
		d.e[k] = e
		insns, tab := kernel.WithUnreachableHelpers(e.insns, tab) // as waggle's loader
		if k < 2 {
			if e.iprog, err = interp.Compile(insns, tab); err != nil {
				d.close()
				return nil, fmt.Errorf("interpreter: %w", err)
			}
			e.im = interp.NewMachine()
		} else {
			if e.jprog, err = jit.Compile(insns, tab, jit.Options{Type: p.Type, ContextAccesses: stats.ContextAccesses}); err != nil {
				d.close()
				return nil, fmt.Errorf("JIT: %w", err)
			}
			e.jm = jit.NewMachine()
		}
	}
	if d.run, err = kernel.NewRun(p.Type, kernel.Options{}); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// regions are the stack and map value regions of two engines, paired, and
// the maps' handles.
func regions(x, y *jitDiffEngine) []jitDiffRegion {
	const stack = engine.MaxFrames * engine.StackSize
	out := []jitDiffRegion{{a: x.stackTop() - stack, b: y.stackTop() - stack, size: stack}}
	for i := range x.maps {
		out = append(out, jitDiffRegion{a: x.maps[i].Handle(), b: y.maps[i].Handle()})
		xr, yr := x.maps[i].Regions(), y.maps[i].Regions()
		for k := range min(len(xr), len(yr)) {
			if xr[k].Size == yr[k].Size {
				out = append(out, jitDiffRegion{a: xr[k].Start, b: yr[k].Start, size: xr[k].Size})
			}
		}
	}
	return out
}

// errSkip is a run not compared: the input is one the kernel refuses, or
// an engine ran out of budget in a loop.
var errSkip = errors.New("skipped")

// exec runs the program in engine k on in.
func (d *jitDiff) exec(k int, in kernel.Input) (jitDiffResult, error) {
	var res jitDiffResult
	d.counter = 0
	e := d.e[k]
	var mem *memory.Memory
	var pkt *memory.Region
	if e.jm != nil {
		mem, pkt = &e.jm.Memory, &e.jm.Packet
	} else {
		mem, pkt = &e.im.Memory, &e.im.Packet
	}
	mem.Reset()
	regs, err := d.run.Setup(mem, in)
	if err != nil {
		return res, errSkip
	}
	*pkt = d.run.Packet()
	args := engine.RunArgs{R1: regs[0], R2: regs[1], R3: regs[2], R4: regs[3], R5: regs[4], State: d.run, Budget: 1 << 26}
	if e.jm != nil {
		res.r0, res.err = e.jprog.Run(e.jm, args)
	} else {
		res.r0, res.err = e.iprog.Run(e.im, args)
	}
	// The engines count a budget differently (the interpreter every
	// instruction, compiled code whole loop bodies at backward jumps):
	// near it they part.
	if errors.Is(res.err, engine.ErrBudgetExhausted) && d.hasLoop {
		return res, errSkip
	}
	var out kernel.Output
	d.run.Finish(&out)
	res.data, res.ctx = bytes.Clone(out.Data), bytes.Clone(out.Context)
	for _, m := range e.maps {
		st, err := jitDiffMapState(m)
		if err != nil {
			return res, err
		}
		res.maps = append(res.maps, st)
		// Put back what reading took from queues, so that the next
		// run starts alike in every engine.
		for _, kv := range st {
			if kv[0] == nil {
				switch m.Spec().Type {
				case ebpf.Queue, ebpf.Stack:
					m.UpdateUser(nil, kv[1], 0)
				}
			}
		}
	}
	return res, nil
}

// compare runs the program in the engines on in. The two interpreter runs
// must agree, else the results depend on addresses (a root program may
// compare pointers, subtract pointers to different memory, ...) and the
// program is not compared further; then the JIT must agree with the
// interpreter.
func (d *jitDiff) compare(in kernel.Input) error {
	if d.addrDep {
		return nil
	}
	var res [3]jitDiffResult
	for k := range d.e {
		var err error
		if res[k], err = d.exec(k, in); err != nil {
			if errors.Is(err, errSkip) {
				return nil
			}
			return err
		}
	}
	if _, err := diffResults(d.p, regions(d.e[0], d.e[1]), &res[0], &res[1]); err != nil {
		d.addrDep = true
		return nil
	}
	relocated, err := diffResults(d.p, regions(d.e[0], d.e[2]), &res[0], &res[2])
	if err != nil {
		return err
	}
	if res[0].err != nil {
		d.interpFailed++
	}
	if relocated {
		d.relocated++
	}
	d.runs++
	return nil
}

// diffResults describes how ir (the interpreter's) and jr differ, but for
// the same addresses in the regions.
func diffResults(p *Program, regions []jitDiffRegion, ir, jr *jitDiffResult) (relocated bool, err error) {
	if (ir.err == nil) != (jr.err == nil) {
		return false, fmt.Errorf("interpreter: r0 %#x, error %v; JIT: r0 %#x, error %v", ir.r0, ir.err, jr.r0, jr.err)
	}
	if ir.err == nil && ir.r0 != jr.r0 {
		if !sameAddress(regions, ir.r0, jr.r0) &&
			!(ir.r0>>32 == jr.r0>>32 && sameAddress32(regions, uint32(ir.r0), uint32(jr.r0))) {
			return false, fmt.Errorf("r0: interpreter %#x, JIT %#x", ir.r0, jr.r0)
		}
		relocated = true
	}
	for _, c := range []struct {
		what string
		a, b []byte
	}{{"data out", ir.data, jr.data}, {"context out", ir.ctx, jr.ctx}} {
		ok, rel := sameBytes(regions, c.a, c.b)
		if !ok {
			return false, fmt.Errorf("%s differs:\ninterpreter %x\nJIT         %x", c.what, c.a, c.b)
		}
		relocated = relocated || rel
	}
	for i := range ir.maps {
		a, b := ir.maps[i], jr.maps[i]
		name := p.Maps[i].Name
		if len(a) != len(b) {
			return false, fmt.Errorf("map %d (%s): interpreter has %d elements, JIT %d:\ninterpreter %x\nJIT         %x", i, name, len(a), len(b), a, b)
		}
		for k := range a {
			if !bytes.Equal(a[k][0], b[k][0]) {
				return false, fmt.Errorf("map %d (%s): keys differ: interpreter %x, JIT %x", i, name, a[k][0], b[k][0])
			}
			ok, rel := sameBytes(regions, a[k][1], b[k][1])
			if !ok {
				return false, fmt.Errorf("map %d (%s), key %x:\ninterpreter %x\nJIT         %x", i, name, a[k][0], a[k][1], b[k][1])
			}
			relocated = relocated || rel
		}
	}
	return relocated, nil
}

// jitDiffStats counts what a differential test did.
type jitDiffStats struct {
	generated, accepted, compared, addrDep, runs, relocated, failedRuns int
}

// checkJITDiff verifies p and, if it is accepted, compares the engines on n
// random inputs. It returns false when the verifier rejects p.
func checkJITDiff(p *Program, seed uint64, n int, st *jitDiffStats) (bool, error) {
	stats, err := Verify(p, Options{MaxInstructions: 200_000})
	if err != nil {
		return false, nil
	}
	d, err := newJITDiff(p, stats)
	if err != nil {
		return true, fmt.Errorf("accepted, but cannot be loaded: %w", err)
	}
	defer d.close()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	in := &runner{p: p}
	for i := 0; i < n; i++ {
		if err := d.compare(in.input(rng)); err != nil {
			return true, fmt.Errorf("input %d: %w", i, err)
		}
	}
	if st != nil {
		st.accepted++
		if d.addrDep {
			st.addrDep++
		} else {
			st.compared++
			st.runs += d.runs
		}
		st.relocated += d.relocated
		st.failedRuns += d.interpFailed
	}
	return true, nil
}

// jitDiffEpilogues replace the generated program's final "mov r0, 0":
// r0 then sums up the registers the program computed, so that r0 shows
// what the run did. The first the verifier accepts is used (a register
// may hold a pointer, or nothing, at the end).
func jitDiffEpilogues(pick int) []string {
	fold := func(regs ...int) string {
		var b strings.Builder
		for _, r := range regs {
			fmt.Fprintf(&b, "mul %%r0, 0x9e3779b1\nxor %%r0, %%r%d\n", r)
		}
		return b.String() + "exit\n"
	}
	return []string{
		fold(1, 2, 3, 4, 5, 9),
		fold(1, 2, 3, 9),
		fold(1, 2, 3),
		fmt.Sprintf("mov %%r0, %%r%d\nexit\n", []int{1, 2, 3, 4, 5, 9}[pick%6]),
		"mov %r0, 0\nexit\n",
	}
}

// genJITDiffProgram generates a program (genProgram), ends it with the
// first epilogue the verifier accepts, and, if the verifier rejects them
// all, repairs the first: the instruction the verifier refuses becomes a
// no-op (ja +0), a few times over. Most generated programs are made to
// probe the verifier's edges and are rejected; repaired, they run.
func genJITDiffProgram(data []byte, seed uint64) (*Program, string) {
	p, src := genProgram(data, seed)
	if p == nil {
		return nil, src
	}
	const end = "mov %r0, 0\nexit\n"
	i := strings.Index(src, end)
	if i < 0 {
		return p, src
	}
	var first *Program
	for _, epi := range jitDiffEpilogues(int(seed)) {
		s := src[:i] + epi + src[i+len(end):]
		insns, err := assembler.Assemble(s)
		if err != nil {
			continue
		}
		q := *p
		q.Instructions = insns
		if _, err := Verify(&q, Options{MaxInstructions: 200_000}); err == nil {
			return &q, s
		}
		if first == nil {
			first = &q
		}
	}
	if first == nil {
		return p, src
	}
	q := *first
	q.Instructions = slices.Clone(first.Instructions)
	for range 12 {
		_, err := Verify(&q, Options{MaxInstructions: 200_000})
		var verr *Error
		if err == nil || !errors.As(err, &verr) || verr.Index < 0 || verr.Index >= len(q.Instructions) {
			break
		}
		ins := q.Instructions[verr.Index]
		if ins.IsLdDW() || ins.Opcode == isa.OpExit || ins.Opcode == isa.OpJA && ins.Offset == 0 {
			break
		}
		q.Instructions[verr.Index] = isa.Instruction{Opcode: isa.OpJA}
	}
	return &q, disasm(&q)
}

// TestJITDifferentialGenerated runs generated programs that the verifier
// accepts in the interpreter and compiled (unchecked), on the same inputs:
// r0, the data and context out and the maps must be the same. 800
// programs, or $WAGGLE_JITDIFF_N.
func TestJITDifferentialGenerated(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	if !jit.Supported {
		t.Skip("no JIT on this machine")
	}
	n := 800
	if testing.Short() {
		n = 200
	}
	if env, err := strconv.Atoi(os.Getenv("WAGGLE_JITDIFF_N")); err == nil {
		n = env // a longer run
	}
	var st jitDiffStats
	for i := 0; i < n; i++ {
		p, src := genJITDiffProgram(nil, uint64(i)+5_000_000)
		if p == nil {
			t.Fatalf("generated program does not assemble:\n%s", src)
		}
		st.generated++
		if _, err := checkJITDiff(p, uint64(i), 4, &st); err != nil {
			t.Fatalf("seed %d (%s): %v\n%s", i+5_000_000, p.Type, err, src)
		}
	}
	t.Logf("%d of %d generated programs accepted; %d compared in %d runs (%d differed by addresses only, %d ended with an error in both), %d not compared (results depend on addresses)",
		st.accepted, st.generated, st.compared, st.runs, st.relocated, st.failedRuns, st.addrDep)
}

// TestJITDifferentialSeeds compares the engines on the accepted programs
// of the verifier's corpus, its table tests and the project's objects.
func TestJITDifferentialSeeds(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	if !jit.Supported {
		t.Skip("no JIT on this machine")
	}
	n := 6
	if testing.Short() {
		n = 2
	}
	var st jitDiffStats
	for i, p := range seedPrograms(t) {
		if p.Helpers != nil {
			continue
		}
		st.generated++
		if _, err := checkJITDiff(p, uint64(i), n, &st); err != nil {
			t.Errorf("%s (%s): %v\n%s", p.Name, p.Type, err, disasm(p))
		}
	}
	t.Logf("%d of %d programs accepted; %d compared in %d runs (%d differed by addresses only, %d ended with an error in both), %d not compared (results depend on addresses)",
		st.accepted, st.generated, st.compared, st.runs, st.relocated, st.failedRuns, st.addrDep)
}

// FuzzJITDifferential: whatever program the verifier accepts runs alike in
// the interpreter and compiled. The first byte chooses the program: even,
// the generator's (genProgram) from the bytes that follow; odd, bytecode
// (decodeFuzzProgram).
func FuzzJITDifferential(f *testing.F) {
	if !jit.Supported {
		f.Skip("no JIT on this machine")
	}
	for i := 0; i < 32; i++ {
		f.Add([]byte{0, byte(i), byte(i * 7), byte(i * 13), 6, 4, 9, 14, byte(i * 3), 19, 22, 16})
	}
	for _, p := range seedPrograms(f) {
		if b, ok := encodeFuzzProgram(p); ok {
			f.Add(append([]byte{1}, b...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var p *Program
		src := ""
		if data[0]&1 == 0 {
			p, src = genJITDiffProgram(data[1:], uint64(len(data)))
		} else {
			p = decodeFuzzProgram(data[1:])
			if p != nil {
				src = disasm(p)
			}
		}
		if p == nil {
			return
		}
		// A verified program ends: one that runs for a minute is a
		// bug (of the JIT's if the interpreter's runs end).
		watchdog := time.AfterFunc(time.Minute, func() {
			os.WriteFile(filepath.Join(os.TempDir(), "jitdiff-hang.bin"), data, 0o644)
			panic(fmt.Sprintf("no result after a minute (input in %s)\n%s", filepath.Join(os.TempDir(), "jitdiff-hang.bin"), src))
		})
		defer watchdog.Stop()
		if _, err := checkJITDiff(p, uint64(len(data)), 4, nil); err != nil {
			t.Fatalf("%s: %v\n%s", p.Type, err, src)
		}
	})
}

// minimiseJITDiff makes instructions of p no-ops (ja +0), one at a time,
// while the verifier accepts p and the engines still differ on it.
func minimiseJITDiff(p *Program, seed uint64) *Program {
	q := *p
	q.Instructions = slices.Clone(p.Instructions)
	differs := func(q *Program) bool {
		accepted, err := checkJITDiff(q, seed, 4, nil)
		return accepted && err != nil
	}
	for changed := true; changed; {
		changed = false
		for i := range q.Instructions {
			ins := q.Instructions[i]
			if ins.IsLdDW() || ins.Opcode == isa.OpJA && ins.Offset == 0 {
				continue
			}
			q.Instructions[i] = isa.Instruction{Opcode: isa.OpJA}
			if differs(&q) {
				changed = true
			} else {
				q.Instructions[i] = ins
			}
		}
	}
	return &q
}

// TestJITDifferentialMinimise minimises the generated program of seed
// $WAGGLE_JITDIFF_SEED on which the engines differ.
func TestJITDifferentialMinimise(t *testing.T) {
	seed, err := strconv.ParseUint(os.Getenv("WAGGLE_JITDIFF_SEED"), 10, 64)
	if err != nil {
		t.Skip("set WAGGLE_JITDIFF_SEED")
	}
	p, _ := genJITDiffProgram(nil, seed)
	i := seed - 5_000_000
	if _, err := checkJITDiff(p, i, 4, nil); err == nil {
		t.Fatal("the engines agree")
	}
	q := minimiseJITDiff(p, i)
	_, err = checkJITDiff(q, i, 4, nil)
	var b strings.Builder
	for k, ins := range q.Instructions {
		if ins.Opcode != isa.OpJA || ins.Offset != 0 {
			fmt.Fprintf(&b, "%d: %s\n", k, ins)
		}
	}
	t.Logf("%s: %v\n%s", q.Type, err, b.String())
}
