package waggle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/isa"
)

// MapInfo describes a map, as cilium/ebpf's MapInfo describes one from the
// kernel's BPF_OBJ_GET_INFO_BY_FD, with the same exported fields.
type MapInfo struct {
	// Type is the map's type.
	Type ebpf.MapType
	// KeySize is the size of a key in bytes.
	KeySize uint32
	// ValueSize is the size of a value in bytes (of one CPU's value for
	// per-CPU maps).
	ValueSize uint32
	// MaxEntries is the map's capacity.
	MaxEntries uint32
	// Flags are the map's creation flags. For global data sections they
	// lack the BPF_F_MMAPABLE that cilium/ebpf adds when it creates them
	// in the kernel: waggle's maps need no mmap to be read in place.
	Flags uint32
	// Name is the map's name. Unlike the kernel's, it is not cut to 15
	// bytes.
	Name string
	// Handle is what identifies the map in waggle, in the place of the
	// kernel's map ID: the value by which programs refer to it (see
	// Map.Handle). 0 once the map is closed.
	Handle uint64

	mapExtra uint64
	memory   uint64
	frozen   bool
}

// ID is the kernel's map ID, which waggle's maps do not have: it reports
// false (cilium/ebpf reports false where the kernel gives none). Handle
// identifies the map instead.
func (mi *MapInfo) ID() (ebpf.MapID, bool) { return 0, false }

// MapExtra is the map's map_extra (the number of hash functions of a bloom
// filter); the bool is true, as on kernels that have it.
func (mi *MapInfo) MapExtra() (uint64, bool) { return mi.mapExtra, true }

// Memlock is the memory, in bytes, that the map holds against the map
// memory budget (see SetMapMemoryLimit), where the kernel reports the
// memory it charged to the map.
func (mi *MapInfo) Memlock() (uint64, bool) { return mi.memory, true }

// Frozen reports whether the map was frozen (Map.Freeze, or .rodata at
// load) when Info was called.
func (mi *MapInfo) Frozen() bool { return mi.frozen }

// Info describes the map, as cilium/ebpf's Map.Info does. It fails with
// os.ErrClosed once the map is closed.
func (m *Map) Info() (*MapInfo, error) {
	if m.closed.Load() {
		return nil, m.errClosed("map info")
	}
	return &MapInfo{
		Type:       m.typ,
		KeySize:    m.keySize,
		ValueSize:  m.valueSize,
		MaxEntries: m.maxEntries,
		Flags:      m.flags,
		Name:       m.name,
		Handle:     m.Handle(),
		mapExtra:   m.impl.Spec().MapExtra,
		memory:     maps.Charged(m.impl),
		frozen:     m.IsFrozen(),
	}, nil
}

// ProgramInfo describes a loaded program, as cilium/ebpf's ProgramInfo
// describes one from the kernel, with the same exported fields.
type ProgramInfo struct {
	// Type is the program's type (RawMemory for programs without one).
	Type ebpf.ProgramType
	// Tag is the kernel's tag of the program: the first 8 bytes, in hex,
	// of the SHA-256 of its instructions as loaded (bpf-to-bpf calls
	// resolved) with the map references' constants zeroed, computed as
	// Linux 6.18's bpf_prog_calc_tag computes it, so that the same object
	// has the same tag in waggle and in the kernel. (Kernels before 6.18,
	// which had no program signatures, used SHA-1 instead.)
	Tag string
	// Name is the program's name. Unlike the kernel's, it is not cut to 15
	// bytes.
	Name string

	maps     []uint64
	verified int
	engine   Engine
}

// ID is the kernel's program ID, which waggle's programs do not have: it
// reports false.
func (pi *ProgramInfo) ID() (ebpf.ProgramID, bool) { return 0, false }

// MapIDs would list the kernel IDs of the maps the program uses; waggle's
// maps have none, so it reports false. MapHandles lists them.
func (pi *ProgramInfo) MapIDs() ([]ebpf.MapID, bool) { return nil, false }

// MapHandles are the handles (Map.Handle) of the maps the program uses and
// holds (see Program.Close), each once, in the order the instructions
// first name them: global data sections too, as in the kernel's map IDs.
func (pi *ProgramInfo) MapHandles() []uint64 { return slices.Clone(pi.maps) }

// VerifiedInstructions is the number of instructions waggle's verifier
// processed to prove the program safe (its count, which may differ from
// the kernel's); false if the program was loaded unverified.
func (pi *ProgramInfo) VerifiedInstructions() (uint32, bool) {
	return uint32(pi.verified), pi.verified > 0
}

// Engine is the engine that runs the program (the kernel's "jited").
func (pi *ProgramInfo) Engine() Engine { return pi.engine }

// Info describes the program, as cilium/ebpf's Program.Info does. waggle
// does not count runs or their time (cilium/ebpf's ProgramInfo.Stats,
// which the kernel keeps only with kernel.bpf_stats_enabled): use package
// link's Observer or package metrics for that. It fails with os.ErrClosed
// once the program is closed.
func (p *Program) Info() (*ProgramInfo, error) {
	if p.life.userClosed.Load() {
		return nil, fmt.Errorf("program info: %w", p.errClosed())
	}
	pi := &ProgramInfo{Type: p.typ, Tag: programTag(p.insns, p.refs), Name: p.name, verified: p.verified, engine: p.engine}
	for _, m := range usedMaps(p.refs) {
		pi.maps = append(pi.maps, m.Handle())
	}
	return pi, nil
}

// programTag computes the kernel's tag of a program (bpf_prog_calc_tag):
// the SHA-256 (Linux 6.18) of its bytecode in which every lddw of a map (BPF_PSEUDO_MAP_FD)
// or of a map value (BPF_PSEUDO_MAP_VALUE) has both halves of its constant
// zeroed, since file descriptors change from load to load; the tag is the
// digest's first 8 bytes.
func programTag(insns isa.Instructions, refs []mapRef) string {
	if len(refs) > 0 {
		insns = slices.Clone(insns)
		for _, r := range refs {
			kind := isa.PseudoMapFD
			if r.value {
				kind = isa.PseudoMapValue
			}
			insns[r.index].Src = isa.Register(kind)
			insns[r.index].Imm = 0
		}
	}
	sum := sha256.Sum256(insns.Encode())
	return hex.EncodeToString(sum[:8])
}
