package waggle

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
	"github.com/waggle-ebpf/waggle/verifier"
)

// LoadCollectionSpec reads an ELF object compiled with clang -target bpf
// (or by cilium/ebpf's bpf2go) with cilium/ebpf, which needs no kernel:
// programs, maps, global data and BTF.
func LoadCollectionSpec(path string) (*ebpf.CollectionSpec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	spec, err := loadSpec(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return spec, nil
}

// LoadCollectionSpecFromReader is LoadCollectionSpec for an object in
// memory or any other io.ReaderAt.
func LoadCollectionSpecFromReader(r io.ReaderAt) (*ebpf.CollectionSpec, error) {
	spec, err := loadSpec(r)
	if err != nil {
		return nil, fmt.Errorf("load object: %w", err)
	}
	return spec, nil
}

// loadSpec checks the ELF structure, which cilium/ebpf would report as a
// bare EOF or not at all, then reads the object with cilium/ebpf.
func loadSpec(r io.ReaderAt) (*ebpf.CollectionSpec, error) {
	if err := checkELF(r); err != nil {
		return nil, err
	}
	if err := checkZeroSections(r); err != nil {
		return nil, err
	}
	r, hidden := weakMaps(r)
	spec, err := ebpf.LoadCollectionSpecFromReader(r)
	if err != nil {
		return nil, err
	}
	hiddenStatic(spec, hidden)
	return spec, nil
}

// checkELF says what is wrong with an object that is not an ELF file, is
// cut short, or has a section header table or a section that extends past
// the end of the file. Other defects are left to cilium/ebpf's reader.
func checkELF(r io.ReaderAt) error {
	var hdr [64]byte // Elf64_Ehdr
	n, _ := r.ReadAt(hdr[:], 0)
	hdrSize := len(hdr)
	if elf.Class(hdr[elf.EI_CLASS]) == elf.ELFCLASS32 {
		hdrSize = 52
	}
	switch {
	case n == 0:
		return errors.New("not an ELF object: the file is empty")
	case n < 4 || string(hdr[:4]) != elf.ELFMAG:
		return fmt.Errorf("not an ELF object: it starts with %q, not %q", hdr[:min(n, 4)], elf.ELFMAG)
	case n < hdrSize:
		return fmt.Errorf("truncated ELF object: it ends at byte %d, inside the %d-byte ELF header", n, hdrSize)
	case elf.Class(hdr[elf.EI_CLASS]) != elf.ELFCLASS64:
		return nil // not an eBPF object: cilium/ebpf explains
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if elf.Data(hdr[elf.EI_DATA]) == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	shoff, shentsize, shnum := bo.Uint64(hdr[0x28:]), uint64(bo.Uint16(hdr[0x3a:])), uint64(bo.Uint16(hdr[0x3c:]))
	if shnum == 0 || shentsize != 64 {
		return nil // no sections, or extended numbering: cilium/ebpf explains
	}
	if !readable(r, shoff, shnum*shentsize) {
		return fmt.Errorf("truncated or corrupt ELF object: its %d section headers, at bytes [%d, %d), are past the end of the file", shnum, shoff, shoff+shnum*shentsize)
	}
	table := make([]byte, shnum*shentsize)
	if _, err := r.ReadAt(table, int64(shoff)); err != nil {
		return fmt.Errorf("read the section headers: %w", err)
	}
	// Section names, if the name table itself is readable.
	var names []byte
	shstrndx := uint64(bo.Uint16(hdr[0x3e:]))
	if shstrndx < shnum {
		sh := table[shstrndx*shentsize:]
		off, size := bo.Uint64(sh[0x18:]), bo.Uint64(sh[0x20:])
		if size <= 1<<20 && readable(r, off, size) {
			names = make([]byte, size)
			if _, err := r.ReadAt(names, int64(off)); err != nil {
				names = nil
			}
		}
	}
	for i := range shnum {
		sh := table[i*shentsize:]
		typ, off, size := elf.SectionType(bo.Uint32(sh[4:])), bo.Uint64(sh[0x18:]), bo.Uint64(sh[0x20:])
		if typ == elf.SHT_NOBITS || typ == elf.SHT_NULL || readable(r, off, size) {
			continue
		}
		name := fmt.Sprintf("section %d", i)
		if i == shstrndx {
			name += " (the section name table)"
		} else if nameOff := uint64(bo.Uint32(sh[0:])); nameOff < uint64(len(names)) {
			if s, _, ok := strings.Cut(string(names[nameOff:]), "\x00"); ok {
				name = fmt.Sprintf("section %d (%s)", i, s)
			}
		}
		return fmt.Errorf("truncated or corrupt ELF object: %s, at bytes [%d, %d), is past the end of the file", name, off, off+size)
	}
	return nil
}

// readable reports whether the size bytes at off are in r.
func readable(r io.ReaderAt, off, size uint64) bool {
	end := off + size
	if end < off || end > math.MaxInt64 {
		return false
	}
	if size == 0 {
		return true
	}
	var b [1]byte
	_, err := r.ReadAt(b[:], int64(end-1))
	return err == nil
}

// CollectionOptions control how a collection is loaded.
type CollectionOptions struct {
	// CPUs is the number of CPU slots: per-CPU maps keep one value per
	// slot, bpf_get_smp_processor_id returns the run's slot, and at most
	// CPUs runs of the collection's programs proceed at once. 0 means
	// runtime.GOMAXPROCS(0).
	CPUs int
	// Helpers are helper functions of your own, by ID, available to every
	// program on top of the kernel helpers its type may call.
	Helpers *helper.Table
	// Trace receives the output of bpf_trace_printk; nil discards it.
	Trace io.Writer
	// SkipVerification loads the programs without the verifier. Then only
	// the checked interpreter stands between a program and the host: a
	// bad access ends the run with an error instead of being refused at
	// load. For programs you trust, or to study what an unsafe program
	// does.
	SkipVerification bool
	// Strict verifies with the kernel's rules for unprivileged programs
	// (no pointer leaks, no reads of uninitialised stack...), for
	// plug-ins you did not write. By default the verifier applies the
	// rules the kernel applies to root.
	Strict bool
	// Engine selects what runs the programs: EngineAuto (the default)
	// compiles verified programs to machine code where waggle can, and
	// interprets them elsewhere or when verification is skipped.
	// EngineJIT with SkipVerification compiles checked code: every
	// memory access is checked and runs count instructions against
	// RunOptions.Budget.
	Engine Engine
	// MemoryLimit is the most memory, in bytes, that the collection's
	// maps may hold together (see SetMapMemoryLimit); a map that would go
	// beyond it is refused with ENOMEM. 0 sets no limit of its own; the
	// limit for all the maps of the process always applies.
	MemoryLimit uint64
	// MapReplacements are maps to use instead of creating the maps of
	// the same names, as in cilium/ebpf: each must match its MapSpec in
	// type, key and value sizes, max entries and flags (per-CPU maps: in
	// CPUs too), else NewCollectionWithOptions fails with an error that
	// names the map and the differences and matches
	// ebpf.ErrMapIncompatible. A replacement is neither filled with its
	// spec's Contents nor frozen. The collection takes a reference of its
	// own on the map, as cilium/ebpf clones it: Collection.Close leaves
	// the caller's Map open, and the programs hold the map as they hold
	// their own.
	MapReplacements map[string]*Map
	// PinPath is the directory of the pin files of the maps whose
	// MapSpec.Pinning is ebpf.PinByName (cilium/ebpf's
	// CollectionOptions.Maps.PinPath, flat here): the file named after
	// the map, if it exists, is loaded instead of creating the map (it
	// must be compatible with the spec, else an error matching
	// ebpf.ErrMapIncompatible; its contents win, and it is neither filled
	// nor frozen), else the map is created and pinned there. See Map.Pin.
	PinPath string
}

// Collection is the programs, maps and global variables of an object,
// loaded.
type Collection struct {
	Programs map[string]*Program
	Maps     map[string]*Map
	// Variables are the object's global variables, in the maps of their
	// data sections (see Variable).
	Variables map[string]*Variable
}

// NewCollection loads a CollectionSpec with the default options.
func NewCollection(spec *ebpf.CollectionSpec) (*Collection, error) {
	return NewCollectionWithOptions(spec, CollectionOptions{})
}

// NewCollectionWithOptions verifies every program (unless
// opts.SkipVerification), creates the maps of spec (global data sections
// become array maps holding the values of spec.Variables; .rodata is
// frozen), resolves the programs' map references, and loads every program.
// Errors name the program or map, and for programs the instruction.
func NewCollectionWithOptions(spec *ebpf.CollectionSpec, opts CollectionOptions) (_ *Collection, err error) {
	if spec == nil {
		return nil, errors.New("load collection: nil CollectionSpec")
	}
	cpus := opts.CPUs
	if cpus <= 0 {
		cpus = runtime.GOMAXPROCS(0)
	}
	mapSpecs, err := withVariables(spec)
	if err != nil {
		return nil, fmt.Errorf("load collection: %w", err)
	}
	coll := &Collection{Programs: map[string]*Program{}, Maps: map[string]*Map{}}
	defer func() {
		if err != nil {
			coll.Close()
		}
	}()

	var budget *maps.Budget
	if opts.MemoryLimit > 0 {
		budget = maps.NewBudget(nil, opts.MemoryLimit, "the maps of this collection", "CollectionOptions.MemoryLimit")
	}
	if err := checkReplacements(mapSpecs, opts.MapReplacements); err != nil {
		return nil, fmt.Errorf("load collection: %w", err)
	}
	for _, name := range sortedKeys(mapSpecs) {
		ms := mapSpecs[name]
		if r, ok := opts.MapReplacements[name]; ok {
			m, err := replacementMap(name, ms, r, cpus)
			if err != nil {
				return nil, fmt.Errorf("load collection: %w", err)
			}
			coll.Maps[name] = m
			continue
		}
		if ms.Pinning == ebpf.PinByName {
			pm, loaded, perr := pinnedCollectionMap(name, ms, opts.PinPath, cpus, budget)
			if perr != nil {
				return nil, fmt.Errorf("load collection: %w", perr)
			}
			coll.Maps[name] = pm
			if !loaded {
				defer func() {
					if err != nil {
						pm.Unpin() // the failed load's own pin
					}
				}()
			}
			continue
		}
		m, err := NewMapWithOptions(ms, MapOptions{CPUs: cpus, budget: budget})
		if err != nil {
			return nil, err // it names the map
		}
		coll.Maps[name] = m
		if err := freezeMap(m, ms); err != nil {
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
	}

	slots := newCPUSlots(cpus)
	kopts := kernelOptions(opts.Trace)
	for _, name := range sortedKeys(spec.Programs) {
		ps := spec.Programs[name]
		insns, refs, unresolved, err := resolveMaps(ps, coll.Maps)
		if err != nil {
			return nil, fmt.Errorf("program %s (section %s): %w", name, ps.SectionName, err)
		}
		license := ps.License
		kopts.AttachType = attachType(ps)
		p, err := newProgram(name, programType(ps), insns, &license, opts.Helpers, kopts, slots, !opts.SkipVerification, unresolved)
		if err != nil {
			return nil, fmt.Errorf("program %s (section %s): %w", name, ps.SectionName, err)
		}
		var verified *verifier.Stats
		if !opts.SkipVerification {
			vp := verifierProgram(name, p.typ, p.insns, refs, opts.Helpers)
			vp.AttachType = p.kopts.AttachType
			vp.Source, vp.GlobalFunctions = verifier.SourceLines(ps), verifier.GlobalFunctions(ps)
			vp.Unresolved = unresolved
			if verified, err = verify(vp, opts.Strict, cpus); err != nil {
				return nil, fmt.Errorf("program %s (section %s): %w", name, ps.SectionName, err)
			}
		}
		if err := p.open(opts.Engine, verified, refs); err != nil {
			return nil, fmt.Errorf("program %s (section %s): %w", name, ps.SectionName, err)
		}
		coll.Programs[name] = p
	}

	// Maps of programs and of maps refer to them by name.
	for _, name := range sortedKeys(mapSpecs) {
		if _, replaced := opts.MapReplacements[name]; replaced {
			continue
		}
		if err := fillObjectMap(coll.Maps[name], mapSpecs[name], coll); err != nil {
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
	}
	coll.Variables = collectionVariables(spec, coll)
	return coll, nil
}

// VerifierError is the verifier's rejection of a program: the
// instruction, its source line, why, the offending register's state and
// the branch decisions that lead there.
type VerifierError = verifier.Error

// Close closes the collection's programs and maps (see Program.Close and
// Map.Close): a map stays usable by the programs that still hold it, a
// program by the prog_arrays that still hold it, until they go too. Use
// DetachProgram and DetachMap first to keep some of them.
func (c *Collection) Close() {
	for _, p := range c.Programs {
		p.Close()
	}
	for _, m := range c.Maps {
		m.Close()
	}
}

// DetachProgram removes the named program from the collection and returns
// it, or nil if there is none: Close leaves it open, and closing it is
// the caller's.
func (c *Collection) DetachProgram(name string) *Program {
	p := c.Programs[name]
	delete(c.Programs, name)
	return p
}

// DetachMap removes the named map from the collection and returns it, or
// nil if there is none: Close leaves it open, and closing it is the
// caller's.
func (c *Collection) DetachMap(name string) *Map {
	m := c.Maps[name]
	delete(c.Maps, name)
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readOnlyProg is BPF_F_RDONLY_PROG: programs may not write the map
// (cilium/ebpf sets it on .rodata).
const readOnlyProg = 1 << 7

// freezeMap makes a map that programs may not write (.rodata) read-only to
// them, and freezes it for Go, as cilium/ebpf freezes it in the kernel:
// the verifier relies on its value. NewMap has stored its initial
// contents.
func freezeMap(m *Map, ms *ebpf.MapSpec) error {
	if ms.Flags&readOnlyProg != 0 {
		for _, r := range m.impl.Regions() {
			memory.SetSharedWritable(r.Start, false)
		}
		maps.Freeze(m.impl)
	}
	return nil
}

// fillObjectMap stores the programs of a prog_array and the inner maps of a
// map-in-map that the object initialises statically.
func fillObjectMap(m *Map, ms *ebpf.MapSpec, coll *Collection) error {
	om, ok := m.impl.(maps.ObjectMap)
	if !ok {
		return nil
	}
	for _, kv := range ms.Contents {
		name, ok := kv.Value.(string)
		if !ok {
			return fmt.Errorf("initial contents: key %v: value %T is not the name of a program or map", kv.Key, kv.Value)
		}
		key, err := marshalKey(kv.Key, ms.KeySize)
		if err != nil {
			return fmt.Errorf("initial contents: %w", err)
		}
		var obj any
		if ms.Type == ebpf.ProgramArray {
			p, ok := coll.Programs[name]
			if !ok {
				return fmt.Errorf("initial contents: program %q is not in the object", name)
			}
			if err := m.claimProgramType(p); err != nil {
				return fmt.Errorf("initial contents: key %v = %s: %w", kv.Key, name, err)
			}
			obj = p.tailCallTarget()
		} else {
			inner, ok := coll.Maps[name]
			if !ok {
				return fmt.Errorf("initial contents: map %q is not in the object", name)
			}
			obj = inner.impl
		}
		if err := om.UpdateObject(key, obj, maps.UpdateAny); err != nil {
			return fmt.Errorf("initial contents: key %v = %s: %w", kv.Key, name, err)
		}
	}
	return nil
}

// marshalKey encodes a static key (cilium/ebpf gives uint32 indexes).
func marshalKey(k any, size uint32) ([]byte, error) {
	if b, ok := k.([]byte); ok {
		return b, nil
	}
	if binary.Size(k) != int(size) {
		return nil, fmt.Errorf("key %v (%T) is not %d bytes", k, k, size)
	}
	return binary.Append(nil, binary.NativeEndian, k)
}

// programType is the type of an object's program: cilium/ebpf's, from
// the section name, or for a section that cilium/ebpf does not know,
// waggle's registry's.
func programType(ps *ebpf.ProgramSpec) ebpf.ProgramType {
	if ps.Type == ebpf.UnspecifiedProgram {
		if _, t, ok := kernel.ProgramTypeOfSection(ps.SectionName); ok {
			return t
		}
	}
	return ps.Type
}

// attachType is the expected attach type of an object's program:
// cilium/ebpf's, from the section name, or for a section that cilium/ebpf
// does not know, waggle's registry's.
func attachType(ps *ebpf.ProgramSpec) ebpf.AttachType {
	if ps.Type == ebpf.UnspecifiedProgram && ps.AttachType == 0 {
		if pt, _, ok := kernel.ProgramTypeOfSection(ps.SectionName); ok {
			if a, ok := pt.AttachOfSection(ps.SectionName); ok {
				return a
			}
		}
	}
	return ps.AttachType
}

// resolveMaps converts a program's instructions, once for the verifier and
// the engines alike, and replaces its map references: a map pointer
// becomes the map's handle, a direct value reference (global data) the
// address of the value plus the offset; refs lists them.
//
// Its CO-RE relocations are resolved first, against waggle's kernel BTF
// (kernel.RelocateCORE); unresolved lists the instructions they poisoned,
// for the verifier.
func resolveMaps(ps *ebpf.ProgramSpec, collMaps map[string]*Map) (_ isa.Instructions, refs []mapRef, unresolved map[int]string, err error) {
	cinsns, unresolved, err := kernel.RelocatedInstructions(ps.Instructions)
	if err != nil {
		return nil, nil, nil, err
	}
	insns, err := isa.FromCilium(cinsns)
	if err != nil {
		return nil, nil, nil, err
	}
	slot := 0
	for i, ins := range cinsns {
		out := &insns[i]
		switch {
		case ins.IsKfuncCall():
			return nil, nil, nil, fmt.Errorf("instruction %d calls a kernel function (kfunc %s), which waggle does not support", slot, ins.Reference())
		case ins.IsLoadFromMap():
			name := ins.Reference()
			if _, off, ok := kernel.KconfigLoad(ins); ok {
				// An extern __kconfig: a value of the .kconfig map.
				name = kernel.KconfigName
				out.Imm = int64(uint64(off) << 32)
			}
			m, ok := collMaps[name]
			if !ok {
				return nil, nil, nil, fmt.Errorf("instruction %d refers to map %q, which the object does not define", slot, name)
			}
			switch uint8(out.Src) {
			case isa.PseudoMapFD, isa.PseudoMapIdx:
				*out = isa.Instruction{Opcode: isa.OpLdDW, Dst: out.Dst, Imm: int64(m.impl.Handle())}
				refs = append(refs, mapRef{index: i, m: m.impl})
			case isa.PseudoMapValue, isa.PseudoMapIdxValue:
				off := uint32(uint64(out.Imm) >> 32)
				addr, err := directValue(m, off)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("instruction %d: map %s: %w", slot, name, err)
				}
				*out = isa.Instruction{Opcode: isa.OpLdDW, Dst: out.Dst, Imm: int64(addr)}
				refs = append(refs, mapRef{index: i, m: m.impl, value: true, off: off})
			default:
				return nil, nil, nil, fmt.Errorf("instruction %d loads map %q with source kind %d, which waggle does not know", slot, name, out.Src)
			}
		case ins.OpCode.IsDWordLoad() && ins.Reference() != "" && !ins.IsFunctionReference():
			// An extern (a map or variable of another object, a __ksym)
			// that nothing resolved: the instruction would load 0.
			return nil, nil, nil, fmt.Errorf("instruction %d refers to %q, which the object does not define", slot, ins.Reference())
		}
		slot += out.Slots()
	}
	return insns, refs, unresolved, nil
}

// directValue is the address of byte off of a single-element array map's
// value, for direct value loads (the kernel's map_direct_value_addr).
func directValue(m *Map, off uint32) (uint64, error) {
	spec := m.impl.Spec()
	if spec.Type != ebpf.Array || spec.MaxEntries != 1 {
		return 0, fmt.Errorf("direct value access needs an array map of one element, not %s with %d entries", spec.Type, spec.MaxEntries)
	}
	if off >= spec.ValueSize {
		return 0, fmt.Errorf("offset %d is past the value's %d bytes", off, spec.ValueSize)
	}
	p := m.impl.Lookup(make([]byte, 4), 0)
	if p == nil {
		return 0, errors.New("the map has no element 0")
	}
	return uint64(uintptr(p)) + uint64(off), nil
}
