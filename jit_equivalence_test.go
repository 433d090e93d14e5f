package waggle

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/isa"
)

// TestObjectsEnginesAgree runs every program of the project's objects
// (testdata/progs, examples, testdata/bench), not only those the
// kerneltest cases run (those leave out the benchmark programs and the
// tail-call targets as entry points), in the interpreter and compiled, on
// the same inputs in the same order: the inputs of the kerneltest cases of
// the program's type, and packets of every kind, cut and flipped at
// random. After every run the return values, the data and context out and
// every map must be the same. Programs that call helpers whose results are
// not deterministic (the clocks, bpf_get_prandom_u32) are left out; the
// kerneltest cases check them.
func TestObjectsEnginesAgree(t *testing.T) {
	if !jit.Supported {
		t.Skip("no JIT on this machine")
	}
	var objs []string
	for _, g := range []string{"testdata/progs/*.o", "examples/*/*.o", "testdata/bench/*.o"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, m...)
	}
	sort.Strings(objs)
	if len(objs) == 0 {
		t.Fatal("no objects")
	}
	random := 24
	if testing.Short() {
		random = 6
	}
	ran := 0
	for _, obj := range objs {
		spec, err := LoadCollectionSpec(obj)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Run(filepath.Base(obj)+"/"+name, func(t *testing.T) {
				if h, ok := nondeterministicHelper(spec, name); ok {
					t.Skipf("calls %s, whose results differ from run to run", h)
				}
				inputs := engineInputs(spec.Programs[name].Type, obj, name, random)
				compareEngines(t, obj, name, inputs)
				ran++
			})
		}
	}
	t.Logf("%d programs of %d objects compared", ran, len(objs))
}

// nondeterministicHelper names a helper with results that differ from run
// to run that the program calls, itself or by a tail call to a program of
// its object.
func nondeterministicHelper(spec *ebpf.CollectionSpec, name string) (asm.BuiltinFunc, bool) {
	bad := []asm.BuiltinFunc{asm.FnGetPrandomU32, asm.FnKtimeGetNs, asm.FnJiffies64, asm.FnKtimeGetBootNs,
		asm.FnKtimeGetCoarseNs, asm.FnKtimeGetTaiNs}
	check := func(ps *ebpf.ProgramSpec) (asm.BuiltinFunc, bool, bool) {
		tail := false
		for _, ins := range ps.Instructions {
			if !ins.IsBuiltinCall() {
				continue
			}
			fn := asm.BuiltinFunc(ins.Constant)
			if slices.Contains(bad, fn) {
				return fn, true, false
			}
			tail = tail || fn == asm.FnTailCall
		}
		return 0, false, tail
	}
	fn, found, tail := check(spec.Programs[name])
	if found || !tail {
		return fn, found
	}
	for _, ps := range spec.Programs {
		if fn, found, _ := check(ps); found {
			return fn, true
		}
	}
	return 0, false
}

// engineInput is one run's input.
type engineInput struct {
	data, ctx []byte
}

// engineInputs are the inputs a program of type typ runs on: those of the
// kerneltest cases of its type (its own cases' first), then n random
// ones.
func engineInputs(typ ebpf.ProgramType, obj, name string, n int) []engineInput {
	var own, others []engineInput
	for _, c := range kerneltest.Cases() {
		if c.Type != typ {
			continue
		}
		in := engineInput{data: c.Data, ctx: c.Context}
		if filepath.Clean(c.Object) == filepath.Clean(obj) && c.Program == name {
			own = append(own, in)
		} else {
			others = append(others, in)
		}
	}
	out := append(own, others...)
	rng := rand.New(rand.NewPCG(uint64(len(obj)), uint64(len(name))))
	switch typ {
	case ebpf.XDP, ebpf.SchedCLS, ebpf.SchedACT, ebpf.SocketFilter:
		frames := []func() []byte{kerneltest.FrameTCP4, kerneltest.FrameUDP4, kerneltest.FrameICMP4, kerneltest.FrameUnrouted4,
			kerneltest.FrameTCP6, kerneltest.FrameUDP6, kerneltest.FrameICMP6, kerneltest.FrameARP, kerneltest.FrameVLANTCP4,
			kerneltest.FrameShortIPv4, kerneltest.FrameMinimal, kerneltest.FrameOther, kerneltest.FrameBigUDP4}
		for range n {
			pkt := frames[rng.IntN(len(frames))]()
			switch rng.IntN(4) {
			case 0: // cut
				pkt = pkt[:14+rng.IntN(len(pkt)-13)]
			case 1: // flip bytes
				for range 1 + rng.IntN(4) {
					pkt[rng.IntN(len(pkt))] ^= byte(1 + rng.IntN(255))
				}
			case 2: // random bytes
				for i := range pkt {
					pkt[i] = byte(rng.Uint32())
				}
			}
			out = append(out, engineInput{data: pkt})
		}
	default:
		// Contexts of the same sizes as the cases', with other bytes.
		sizes := []int{}
		for _, in := range out {
			if !slices.Contains(sizes, len(in.ctx)) {
				sizes = append(sizes, len(in.ctx))
			}
		}
		if len(sizes) == 0 {
			sizes = []int{64}
		}
		for range n {
			ctx := make([]byte, sizes[rng.IntN(len(sizes))])
			for i := range ctx {
				if rng.IntN(2) == 0 {
					ctx[i] = byte(rng.Uint32())
				}
			}
			out = append(out, engineInput{ctx: ctx})
		}
	}
	return out
}

// compareEngines loads obj once per engine, runs its program name on the
// inputs in order in both, and compares what each run leaves.
func compareEngines(t *testing.T, obj, name string, inputs []engineInput) {
	engines := []Engine{EngineInterpreter, EngineJIT}
	var colls [2]*Collection
	for i, engine := range engines {
		spec, err := LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		coll, err := NewCollectionWithOptions(spec, CollectionOptions{CPUs: equivalenceCPUs, Engine: engine})
		if err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		defer coll.Close()
		if got := coll.Programs[name].Engine(); got != engine {
			t.Fatalf("the program runs on the %s engine, not the %s", got, engine)
		}
		// The maps that only user space fills, as the kerneltest cases
		// of the object fill them.
		for _, c := range kerneltest.Cases() {
			if filepath.Clean(c.Object) != filepath.Clean(obj) {
				continue
			}
			for _, e := range c.Prefill {
				if err := coll.Maps[e.Map].Put(e.Key, e.Value); err != nil {
					t.Fatalf("prefill %s: %v", e.Map, err)
				}
			}
		}
		for _, m := range coll.Maps {
			if pa, ok := m.impl.(*maps.PerfEventArray); ok {
				pa.OpenAll()
			}
		}
		colls[i] = coll
	}
	mapNames := make([]string, 0, len(colls[0].Maps))
	for n := range colls[0].Maps {
		mapNames = append(mapNames, n)
	}
	sort.Strings(mapNames)
	for k, in := range inputs {
		var res [2]string
		for i, coll := range colls {
			// A budget of 2^24 instructions: nested_loops.o's programs
			// loop as long as their context says, and random contexts
			// say long.
			opts := &RunOptions{Data: in.data, Flags: RunOnCPU, CPU: 0, Budget: 1 << 24}
			if in.data != nil {
				opts.DataOut = make([]byte, len(in.data)+8192)
			}
			var ctxOut []byte
			if in.ctx != nil {
				opts.Context = in.ctx
				ctxOut = make([]byte, len(in.ctx)+4096)
				opts.ContextOut = ctxOut
			}
			var r RunResult // r0 in 64 bits
			opts.Result = &r
			_, err := coll.Programs[name].Run(opts)
			var b bytes.Buffer
			switch {
			case errors.Is(err, ErrBudgetExhausted):
				// The engines count differently (compiled code charges
				// whole loops at backward jumps): they stop at other
				// instructions.
				fmt.Fprintf(&b, "error: %v\n", ErrBudgetExhausted)
			case err != nil:
				// Errors name addresses, each engine's own.
				fmt.Fprintf(&b, "error %s\n", addressPattern.ReplaceAllString(err.Error(), "ADDR"))
			default:
				fmt.Fprintf(&b, "r0 %#x\ndata out %x\nctx out %x\n", r.ReturnValue, opts.DataOut, ctxOut)
			}
			for _, mn := range mapNames {
				kvs, err := dumpForKerneltest(coll, coll.Maps[mn])
				if err != nil {
					fmt.Fprintf(&b, "map %s: %v\n", mn, err)
					continue
				}
				fmt.Fprintf(&b, "map %s: %s\n", mn, kvString(kvs))
			}
			res[i] = b.String()
		}
		if res[0] != res[1] {
			t.Fatalf("input %d (data %x, ctx %x):\ninterpreter:\n%s\nJIT:\n%s", k, in.data, in.ctx, res[0], res[1])
		}
	}
	t.Logf("%d inputs", len(inputs))
}

// addressPattern matches the addresses in errors.
var addressPattern = regexp.MustCompile(`0x[0-9a-f]{9,}`)

// TestShortContext checks runs on contexts of plain memory shorter than
// the program accesses, which compiled code would otherwise read or write
// past: a syscall program's run is refused with EINVAL, as the kernel
// refuses it (ctx_size_in below max_ctx_offset); kprobe and tracepoint
// programs read zeros past what the caller gave. Both engines behave the
// same.
func TestShortContext(t *testing.T) {
	for _, c := range []struct {
		typ    ebpf.ProgramType
		ins    asm.Instruction
		refuse bool
	}{
		{ebpf.Syscall, asm.StoreImm(asm.R1, 64, 0x41414141, asm.Word), true},
		{ebpf.Kprobe, asm.LoadMem(asm.R0, asm.R1, 64, asm.Word), false},
		{ebpf.TracePoint, asm.LoadMem(asm.R0, asm.R1, 64, asm.Word), false},
	} {
		insns, err := isa.FromCilium(asm.Instructions{c.ins, asm.Return()})
		if err != nil {
			t.Fatal(err)
		}
		if c.refuse {
			insns, err = isa.FromCilium(asm.Instructions{c.ins, asm.Mov.Imm(asm.R0, 0), asm.Return()})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, engine := range []Engine{EngineInterpreter, EngineJIT} {
			if engine == EngineJIT && !jit.Supported {
				continue
			}
			p, err := NewProgramWithOptions(&ProgramSpec{Name: "short_ctx", Type: c.typ, License: "GPL", Instructions: insns},
				ProgramOptions{Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			for _, ctx := range [][]byte{make([]byte, 4), nil} {
				ret, err := p.Run(&RunOptions{Context: ctx})
				switch {
				case c.refuse && !errors.Is(err, errno.EINVAL):
					t.Errorf("%s, %s: a run on a context of %d bytes: %v, want EINVAL", c.typ, engine, len(ctx), err)
				case !c.refuse && (err != nil || ret != 0):
					t.Errorf("%s, %s: a run on a context of %d bytes: r0 %d, %v; want 0 (zeros past the context)", c.typ, engine, len(ctx), ret, err)
				}
			}
			full := make([]byte, 68)
			full[64] = 7
			ret, err := p.Run(&RunOptions{Context: full})
			want := uint32(7)
			if c.refuse {
				want = 0
			}
			if err != nil || ret != want {
				t.Errorf("%s, %s: a run on a context of 68 bytes: r0 %d, %v; want %d", c.typ, engine, ret, err, want)
			}
		}
	}
}
