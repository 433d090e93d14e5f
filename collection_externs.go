package waggle

import (
	"debug/elf"
	"io"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle/internal/kernel"
)

// What libbpf links that cilium/ebpf's reader refuses or leaves alone:
//
//   - global functions of hidden visibility (__hidden, as usdt.bpf.h's
//     bpf_usdt_arg), which libbpf marks static in the BTF so that the
//     verifier checks them with their callers' context (hiddenStatic);
//   - weak definitions of maps (STB_WEAK symbols in a maps section, as
//     libbpf's usdt.bpf.h declares __bpf_usdt_specs): within one object a
//     weak definition is the definition, so the reader sees them as
//     global ones (weakMaps);
//   - externs of the .kconfig section (extern ... __kconfig), which libbpf
//     resolves from the kernel's configuration and waggle from what it is
//     (kernel.KconfigSpec): a read-only single-element array ".kconfig"
//     that their loads address, as libbpf and cilium/ebpf build it
//     (kconfigMap, and resolveMaps for the loads).

// weakMaps returns r, or an overlay of it in which the weak symbols
// defined in a maps section (".maps", "maps") are global: cilium/ebpf's
// reader refuses a relocation against a weak map. It also returns the
// names of the functions of hidden visibility. Anything it cannot read is
// left to the reader, which explains it.
func weakMaps(r io.ReaderAt) (_ io.ReaderAt, hidden map[string]bool) {
	f, err := elf.NewFile(r)
	if err != nil || f.Class != elf.ELFCLASS64 {
		return r, nil
	}
	symtab := f.SectionByType(elf.SHT_SYMTAB)
	if symtab == nil || symtab.Entsize != 24 || symtab.Size > 1<<28 || int(symtab.Link) >= len(f.Sections) {
		return r, nil
	}
	data, err := symtab.Data()
	if err != nil {
		return r, nil
	}
	var strs []byte
	if st := f.Sections[symtab.Link]; st.Type == elf.SHT_STRTAB && st.Size <= 1<<28 {
		strs, _ = st.Data()
	}
	var patches []patchByte
	for i := 24; i+24 <= len(data); i += 24 { // entry 0 is the null symbol
		info, other := data[i+4], data[i+5]
		shndx := int(f.ByteOrder.Uint16(data[i+6:]))
		if shndx == int(elf.SHN_UNDEF) || shndx >= len(f.Sections) {
			continue
		}
		if elf.ST_TYPE(info) == elf.STT_FUNC && elf.ST_BIND(info) != elf.STB_LOCAL &&
			(elf.ST_VISIBILITY(other) == elf.STV_HIDDEN || elf.ST_VISIBILITY(other) == elf.STV_INTERNAL) {
			if off := uint64(f.ByteOrder.Uint32(data[i:])); off < uint64(len(strs)) {
				if name, _, ok := strings.Cut(string(strs[off:]), "\x00"); ok && name != "" {
					if hidden == nil {
						hidden = map[string]bool{}
					}
					hidden[name] = true
				}
			}
		}
		if elf.ST_BIND(info) != elf.STB_WEAK {
			continue
		}
		if name := f.Sections[shndx].Name; name != ".maps" && name != "maps" && !strings.HasPrefix(name, "maps/") {
			continue
		}
		patches = append(patches, patchByte{off: int64(symtab.Offset) + int64(i) + 4, b: elf.ST_INFO(elf.STB_GLOBAL, elf.ST_TYPE(info))})
	}
	if len(patches) == 0 {
		return r, hidden
	}
	return &patchedReader{r: r, patches: patches}, hidden
}

// hiddenStatic gives the functions of hidden visibility static linkage in
// the programs' BTF, as libbpf does: the verifier then checks them as
// parts of their callers, not on their own with only their prototypes.
func hiddenStatic(spec *ebpf.CollectionSpec, hidden map[string]bool) {
	if len(hidden) == 0 {
		return
	}
	for _, ps := range spec.Programs {
		for i := range ps.Instructions {
			if fn := btf.FuncMetadata(&ps.Instructions[i]); fn != nil && fn.Linkage == btf.GlobalFunc && hidden[fn.Name] {
				fn.Linkage = btf.StaticFunc
			}
		}
	}
}

// patchByte is one byte of a patchedReader.
type patchByte struct {
	off int64
	b   byte
}

// patchedReader reads r with a few bytes replaced.
type patchedReader struct {
	r       io.ReaderAt
	patches []patchByte
}

func (p *patchedReader) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.r.ReadAt(b, off)
	for _, pb := range p.patches {
		if pb.off >= off && pb.off < off+int64(n) {
			b[pb.off-off] = pb.b
		}
	}
	return n, err
}

// kconfigMap adds the .kconfig map of spec's externs to mapSpecs (see
// kernel.KconfigSpec), when the object has any.
func kconfigMap(spec *ebpf.CollectionSpec, mapSpecs map[string]*ebpf.MapSpec) error {
	if spec.Types == nil {
		return nil
	}
	if _, ok := mapSpecs[kernel.KconfigName]; ok {
		return nil
	}
	var ds *btf.Datasec
	if err := spec.Types.TypeByName(kernel.KconfigName, &ds); err != nil {
		return nil // no .kconfig section
	}
	ms, err := kernel.KconfigSpec(ds)
	if err != nil {
		return err
	}
	mapSpecs[kernel.KconfigName] = ms
	return nil
}
