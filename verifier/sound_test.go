package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/interp"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/isa"
)

// The soundness check: a program the verifier accepts is run by waggle's
// checked interpreter on inputs; it must never make an access the
// interpreter refuses, never end with an error, never exhaust a generous
// budget, and never change a read-only map.

// runner runs a verified program.
type runner struct {
	p       *Program
	maps    []maps.Map
	prog    *interp.Program
	run     *kernel.Run
	m       *interp.Machine
	hasLoop bool
}

func (r *runner) close() {
	for _, m := range r.maps {
		m.Close()
	}
}

// newRunner creates the program's maps and compiles it for the
// interpreter, resolving its map references as waggle's loader does.
func newRunner(p *Program) (*runner, error) {
	r := &runner{p: p}
	for _, m := range p.Maps {
		spec := &maps.Spec{Name: m.Name, Type: m.Type, KeySize: m.KeySize, ValueSize: m.ValueSize,
			MaxEntries: m.MaxEntries, Flags: m.Flags, CPUs: 1}
		if spec.MaxEntries == 0 && m.Type == ebpf.PerfEventArray {
			spec.MaxEntries = 1 // the number of CPUs when the loader creates it
		}
		if m.InnerMap != nil {
			spec.InnerMap = &maps.Spec{Type: m.InnerMap.Type, KeySize: m.InnerMap.KeySize, ValueSize: m.InnerMap.ValueSize,
				MaxEntries: m.InnerMap.MaxEntries, Flags: m.InnerMap.Flags, CPUs: 1}
		}
		mm, err := maps.New(spec)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("map %s: %w", m.Name, err)
		}
		if m.Value != nil {
			if err := mm.UpdateUser(make([]byte, 4), m.Value, 0); err != nil {
				r.close()
				return nil, fmt.Errorf("map %s: %w", m.Name, err)
			}
		}
		r.maps = append(r.maps, mm)
	}
	insns := append(isa.Instructions(nil), p.Instructions...)
	for i := range insns {
		ins := &insns[i]
		if ins.IsHelperCall() && int32(ins.Imm) == fnLoop {
			r.hasLoop = true
		}
		if !ins.IsLdDW() {
			continue
		}
		switch uint8(ins.Src) {
		case isa.PseudoMapFD:
			*ins = isa.Instruction{Opcode: isa.OpLdDW, Dst: ins.Dst, Imm: int64(r.maps[uint32(ins.Imm)].Handle())}
		case isa.PseudoMapValue:
			m := r.maps[uint32(ins.Imm)]
			ptr := m.Lookup(make([]byte, 4), 0)
			*ins = isa.Instruction{Opcode: isa.OpLdDW, Dst: ins.Dst, Imm: int64(uint64(uintptr(ptr)) + uint64(ins.Imm)>>32)}
		}
	}
	tab, err := kernel.HelpersFor(p.Type, kernel.Options{})
	if err != nil {
		r.close()
		return nil, err
	}
	insns, tab = kernel.WithUnreachableHelpers(insns, tab) // as waggle's loader
	prog, err := interp.Compile(insns, tab)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("compile: %w", err)
	}
	r.prog = prog
	r.run, err = kernel.NewRun(p.Type, kernel.Options{AttachType: p.AttachType})
	if err != nil {
		r.close()
		return nil, err
	}
	r.m = interp.NewMachine()
	return r, nil
}

// input builds an input for the program's type from rng.
func (r *runner) input(rng *rand.Rand) kernel.Input {
	fill := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	switch r.p.Type {
	case ebpf.CGroupSock:
		return kernel.Input{Context: fill(80)}
	case ebpf.SockOps:
		ctx := fill(224)
		clear(ctx[184:208]) // sk, skb_data, skb_data_end: the run sets them
		return kernel.Input{Context: ctx, Data: fill(rng.IntN(100))}
	case ebpf.XDP, ebpf.SchedCLS, ebpf.SchedACT, ebpf.SocketFilter, ebpf.CGroupSKB:
		n := 14 + rng.IntN(120)
		if rng.IntN(4) == 0 {
			n = 14 + rng.IntN(1500)
		}
		pkt := fill(n)
		switch rng.IntN(3) {
		case 0:
			pkt[12], pkt[13] = 0x08, 0x00
			if n < 34 {
				pkt[12] = 0x12
			}
		case 1:
			pkt[12], pkt[13] = 0x86, 0xdd
			if n < 54 {
				pkt[12] = 0x12
			}
		default:
			pkt[12] = 0x12
		}
		return kernel.Input{Data: pkt}
	case ebpf.RawTracepoint:
		return kernel.Input{Context: fill(96)}
	case ebpf.Kprobe:
		return kernel.Input{Context: fill(168)}
	case ebpf.TracePoint:
		return kernel.Input{Context: fill(2048)}
	case ebpf.PerfEvent:
		return kernel.Input{Context: fill(184)}
	case ebpf.Syscall:
		return kernel.Input{Context: fill(0xffff)}
	case kernel.RawMemory:
		return kernel.Input{Data: fill(rng.IntN(200))}
	}
	return kernel.Input{}
}

// errUnsound is a run that did what the verifier promised it would not.
var errUnsound = errors.New("unsound")

// exec runs the program once; an error wrapping errUnsound means the
// verifier accepted a program that misbehaves.
func (r *runner) exec(in kernel.Input, budget uint64) error {
	// Read-only maps must not change.
	var before [][]byte
	for i, m := range r.p.Maps {
		if m.Flags&bpfFRdonlyProg != 0 && m.Type == ebpf.Array {
			before = append(before, snapshot(r.maps[i], m))
		} else {
			before = append(before, nil)
		}
	}
	r.m.Memory.Reset()
	args, err := r.run.Setup(&r.m.Memory, in)
	if err != nil {
		return nil // an input the kernel would refuse too
	}
	r.m.Packet = r.run.Packet()
	_, err = r.prog.Run(r.m, engine.RunArgs{R1: args[0], R2: args[1], R3: args[2], R4: args[3], R5: args[4], State: r.run, Budget: budget})
	var out kernel.Output
	r.run.Finish(&out)
	if err != nil {
		if errors.Is(err, engine.ErrBudgetExhausted) && r.hasLoop {
			return nil // bpf_loop may run 2^23 times: not the verifier's business
		}
		return fmt.Errorf("%w: the run failed: %v", errUnsound, err)
	}
	for i, b := range before {
		if b != nil && !bytes.Equal(b, snapshot(r.maps[i], r.p.Maps[i])) {
			return fmt.Errorf("%w: read-only map %s changed", errUnsound, r.p.Maps[i].Name)
		}
	}
	return nil
}

func snapshot(m maps.Map, spec *Map) []byte {
	p := m.Lookup(make([]byte, 4), 0)
	if p == nil {
		return nil
	}
	return bytes.Clone(unsafe.Slice((*byte)(p), spec.ValueSize))
}

// checkSound verifies p and, if it is accepted, runs it on n inputs.
func checkSound(p *Program, seed uint64, n int) error {
	if _, err := Verify(p, Options{MaxInstructions: 200_000}); err != nil {
		return nil
	}
	r, err := newRunner(p)
	if err != nil {
		return fmt.Errorf("%w: accepted, but waggle cannot load it: %v", errUnsound, err)
	}
	defer r.close()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < n; i++ {
		if err := r.exec(r.input(rng), 1<<26); err != nil {
			return err
		}
	}
	return nil
}

// Fuzz inputs for programs: a program type, maps, then bytecode.

var fuzzTypes = []ebpf.ProgramType{ebpf.XDP, ebpf.SchedCLS, ebpf.SocketFilter, ebpf.RawTracepoint, ebpf.Syscall, kernel.RawMemory, ebpf.Kprobe,
	ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.SockOps}

var fuzzMaps = []Map{
	{Type: ebpf.Array, KeySize: 4, ValueSize: 16, MaxEntries: 4},
	{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16},
	{Type: ebpf.RingBuf, MaxEntries: 4096},
	{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: bpfFRdonlyProg, Value: []byte{1, 0, 0, 0, 0, 0, 0, 0}},
	{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 64, MaxEntries: 2},
	{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
	{Type: ebpf.Queue, ValueSize: 8, MaxEntries: 8},
	{Type: ebpf.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1, HasSpinLock: true, SpinLockOffset: 0},
}

// decodeFuzzProgram reads a fuzz input: the type (byte 0), the number of
// maps and their kinds (indexes into fuzzMaps), then bytecode.
func decodeFuzzProgram(data []byte) *Program {
	if len(data) < 2 {
		return nil
	}
	p := &Program{Name: "fuzz", Type: fuzzTypes[int(data[0])%len(fuzzTypes)]}
	n := int(data[1]) % 4
	data = data[2:]
	if len(data) < n {
		return nil
	}
	for i := 0; i < n; i++ {
		m := fuzzMaps[int(data[i])%len(fuzzMaps)]
		m.Name = fmt.Sprintf("m%d", i)
		if m.Value != nil {
			m.Value = bytes.Clone(m.Value)
		}
		p.Maps = append(p.Maps, &m)
	}
	data = data[n:]
	insns, err := isa.Decode(data[:len(data)/8*8])
	if err != nil || len(insns) == 0 || len(insns) > 4096 {
		return nil
	}
	// Map references must name the program's maps.
	for i := range insns {
		ins := &insns[i]
		if !ins.IsLdDW() {
			continue
		}
		switch uint8(ins.Src) {
		case isa.PseudoMapFD, isa.PseudoMapValue:
			if len(p.Maps) == 0 {
				ins.Src = 0
				continue
			}
			idx := uint32(ins.Imm) % uint32(len(p.Maps))
			ins.Imm = int64(uint64(ins.Imm)&^0xffffffff | uint64(idx))
			if uint8(ins.Src) == isa.PseudoMapFD {
				ins.Imm = int64(idx)
			}
		}
	}
	p.Instructions = insns
	return p
}

// encodeFuzzProgram is decodeFuzzProgram's inverse, for seeds; ok is false
// when the program's maps are not among fuzzMaps.
func encodeFuzzProgram(p *Program) ([]byte, bool) {
	ti := -1
	for i, t := range fuzzTypes {
		if t == p.Type {
			ti = i
		}
	}
	if ti < 0 || len(p.Maps) > 3 {
		return nil, false
	}
	out := []byte{byte(ti), byte(len(p.Maps))}
	for _, m := range p.Maps {
		k := -1
		for i, f := range fuzzMaps {
			if f.Type == m.Type && f.KeySize == m.KeySize && f.ValueSize == m.ValueSize && f.MaxEntries == m.MaxEntries &&
				f.Flags == m.Flags && f.HasSpinLock == m.HasSpinLock && f.SpinLockOffset == m.SpinLockOffset {
				k = i
			}
		}
		if k < 0 {
			return nil, false
		}
		out = append(out, byte(k))
	}
	return append(out, p.Instructions.Encode()...), true
}
