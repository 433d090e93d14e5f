package verifier

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/isa"
)

// MapFromSpec describes a map of cilium/ebpf's (or waggle's) MapSpec: its
// geometry, the frozen value of a read-only array (.rodata), the place of
// a struct bpf_spin_lock in its value (from BTF) and its inner map.
func MapFromSpec(ms *ebpf.MapSpec) *Map {
	m := &Map{
		Type: ms.Type, KeySize: ms.KeySize, ValueSize: ms.ValueSize,
		MaxEntries: ms.MaxEntries, Flags: ms.Flags, Name: ms.Name,
	}
	if ms.InnerMap != nil {
		m.InnerMap = MapFromSpec(ms.InnerMap)
	}
	if ms.Type == ebpf.Array && ms.MaxEntries == 1 && ms.Flags&bpfFRdonlyProg != 0 && len(ms.Contents) == 1 {
		if b, ok := ms.Contents[0].Value.([]byte); ok {
			m.Value = append([]byte(nil), b...)
		}
	}
	m.SpinLockOffset, m.HasSpinLock = SpinLockOffset(ms.Value)
	return m
}

// SpinLockOffset finds the struct bpf_spin_lock in a map's value type (a
// MapSpec's Value, from BTF): its offset in the value, and whether there
// is one.
func SpinLockOffset(value btf.Type) (uint32, bool) {
	if value == nil {
		return 0, false
	}
	return findSpinLock(value, 0, 0)
}

// findSpinLock looks for a struct bpf_spin_lock in a value type.
func findSpinLock(t btf.Type, base uint32, depth int) (uint32, bool) {
	if depth > 8 {
		return 0, false
	}
	t = btf.UnderlyingType(t)
	s, ok := t.(*btf.Struct)
	if !ok {
		return 0, false
	}
	if s.Name == "bpf_spin_lock" {
		return base, true
	}
	for _, mem := range s.Members {
		if off, ok := findSpinLock(mem.Type, base+uint32(mem.Offset.Bytes()), depth+1); ok {
			return off, true
		}
	}
	return 0, false
}

// ProgramFromSpec converts a program of an object (cilium/ebpf's
// ProgramSpec, with its collection's maps) into a Program: the
// instructions with bpf-to-bpf calls resolved, map references as indexes
// into Program.Maps (in the order the program meets them), and the source
// lines from the object's BTF line information. Its CO-RE relocations are
// resolved against waggle's kernel BTF (kernel.RelocateCORE).
func ProgramFromSpec(ps *ebpf.ProgramSpec, maps map[string]*ebpf.MapSpec) (*Program, error) {
	cinsns, unresolved, err := kernel.RelocatedInstructions(ps.Instructions)
	if err != nil {
		return nil, err
	}
	insns, err := isa.FromCilium(cinsns)
	if err != nil {
		return nil, err
	}
	p := &Program{Name: ps.Name, Type: ps.Type, AttachType: ps.AttachType, Instructions: insns, Unresolved: unresolved}
	index := map[string]int{}
	for i, ins := range cinsns {
		if !ins.IsLoadFromMap() {
			continue
		}
		name := ins.Reference()
		out := &p.Instructions[i]
		var kconfig *ebpf.MapSpec
		if ds, off, ok := kernel.KconfigLoad(ins); ok {
			// An extern __kconfig: a value of the .kconfig map that the
			// loader makes (kernel.KconfigSpec).
			name = kernel.KconfigName
			out.Imm = int64(uint64(off) << 32)
			if _, made := index[name]; !made {
				ms, err := kernel.KconfigSpec(ds)
				if err != nil {
					return nil, fmt.Errorf("instruction %d: %w", i, err)
				}
				kconfig = ms
			}
		}
		idx, ok := index[name]
		if !ok {
			ms, found := maps[name]
			if kconfig != nil {
				ms, found = kconfig, true
			}
			if !found {
				if ins.Map() != nil {
					return nil, fmt.Errorf("instruction %d refers to a map by file descriptor, which the verifier cannot inspect", i)
				}
				return nil, fmt.Errorf("instruction %d refers to map %q, which the object does not define", i, name)
			}
			idx = len(p.Maps)
			index[name] = idx
			p.Maps = append(p.Maps, MapFromSpec(ms))
		}
		switch uint8(out.Src) {
		case isa.PseudoMapFD, isa.PseudoMapIdx:
			out.Src = isa.Register(isa.PseudoMapFD)
			out.Imm = int64(idx)
		case isa.PseudoMapValue, isa.PseudoMapIdxValue:
			out.Src = isa.Register(isa.PseudoMapValue)
			out.Imm = int64(uint64(out.Imm)&^0xffffffff | uint64(uint32(idx)))
		default:
			return nil, fmt.Errorf("instruction %d loads map %q with source kind %d", i, name, out.Src)
		}
	}
	p.GlobalFunctions = GlobalFunctions(ps)
	p.Source = SourceLines(ps)
	return p, nil
}

// SourceLines returns the source line of each instruction of ps (by its
// index, as isa.FromCilium numbers them), from the object's BTF line
// information, for Program.Source. The lines are formatted when first
// asked for — a rejection, a log — not for every program verified: for a
// program of a thousand instructions, formatting them all was a tenth of
// a `waggle verify -p` process.
func SourceLines(ps *ebpf.ProgramSpec) func(index int) string {
	srcs := make([]fmt.Stringer, len(ps.Instructions))
	for i := range ps.Instructions {
		srcs[i] = ps.Instructions[i].Source()
	}
	lines := sync.OnceValue(func() []string {
		lines := make([]string, len(srcs))
		last := ""
		for i, src := range srcs {
			if src != nil {
				last = lineString(src)
			}
			lines[i] = last
		}
		return lines
	})
	return func(i int) string {
		if i < 0 || i >= len(srcs) {
			return ""
		}
		return lines()[i]
	}
}

// GlobalFunctions lists the functions of global linkage in a program's
// BTF (but the program itself), with their arguments' kinds, for
// Program.GlobalFunctions. A function with an argument the verifier does
// not model is left out (verified as a static function).
func GlobalFunctions(ps *ebpf.ProgramSpec) []GlobalFunction {
	var out []GlobalFunction
	for i := 1; i < len(ps.Instructions); i++ {
		fn := btf.FuncMetadata(&ps.Instructions[i])
		if fn == nil || fn.Linkage != btf.GlobalFunc {
			continue
		}
		proto, ok := fn.Type.(*btf.FuncProto)
		if !ok || len(proto.Params) > 5 {
			continue
		}
		g := GlobalFunction{Start: i, Name: fn.Name}
		for _, prm := range proto.Params {
			a, ok := globalArg(ps.Type, prm.Type)
			if !ok {
				g.Args = nil
				break
			}
			g.Args = append(g.Args, a)
		}
		if len(g.Args) == len(proto.Params) {
			out = append(out, g)
		}
	}
	return out
}

func globalArg(pt ebpf.ProgramType, t btf.Type) (GlobalArg, bool) {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int, *btf.Enum:
		return GlobalArg{Kind: GlobalArgScalar}, true
	case *btf.Pointer:
		target := btf.UnderlyingType(u.Target)
		if s, ok := target.(*btf.Struct); ok {
			if t, ok := kernel.ProgramTypeOf(pt); ok && slices.Contains(t.CTypes, s.Name) {
				return GlobalArg{Kind: GlobalArgCtx}, true
			}
		}
		switch target.(type) {
		case *btf.Int, *btf.Enum, *btf.Struct, *btf.Union, *btf.Array:
			n, err := btf.Sizeof(target)
			if err != nil || n <= 0 {
				return GlobalArg{}, false
			}
			return GlobalArg{Kind: GlobalArgMem, Size: uint32(n)}, true
		}
	}
	return GlobalArg{}, false
}

func lineString(src fmt.Stringer) string {
	if l, ok := src.(*btf.Line); ok {
		return fmt.Sprintf("%s:%d: %s", filepath.Base(l.FileName()), l.LineNumber(), trimSpace(l.Line()))
	}
	return trimSpace(src.String())
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t' || s[j-1] == '\n') {
		j--
	}
	return s[i:j]
}

// ProgramsFromSpec converts every program of a collection, by name.
func ProgramsFromSpec(spec *ebpf.CollectionSpec) (map[string]*Program, error) {
	if spec == nil {
		return nil, errors.New("no collection")
	}
	out := map[string]*Program{}
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p, err := ProgramFromSpec(spec.Programs[n], spec.Maps)
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", n, err)
		}
		out[n] = p
	}
	return out, nil
}
