package elfsubset

import (
	"debug/elf"
)

// BTF kinds (include/uapi/linux/btf.h) whose records keepMaps walks.
const (
	btfKindInt       = 1
	btfKindPtr       = 2
	btfKindArray     = 3
	btfKindStruct    = 4
	btfKindUnion     = 5
	btfKindEnum      = 6
	btfKindFwd       = 7
	btfKindTypedef   = 8
	btfKindVolatile  = 9
	btfKindConst     = 10
	btfKindRestrict  = 11
	btfKindFunc      = 12
	btfKindFuncProto = 13
	btfKindVar       = 14
	btfKindDatasec   = 15
	btfKindFloat     = 16
	btfKindDeclTag   = 17
	btfKindTypeTag   = 18
	btfKindEnum64    = 19

	btfTypeSize = 12 // struct btf_type: name_off, info, size/type
	secinfoSize = 12 // struct btf_var_secinfo: type, offset, size
)

// mapSymbol is a symbol of .maps that cilium/ebpf takes for a map.
type mapSymbol struct {
	name  string
	idx   int    // its index in the symbol table
	entry uint64 // offset of its symbol table entry in the file
}

// keepMaps returns the patches that hide, from cilium/ebpf's reader, the
// maps of .maps that nothing kept refers to — the relocations of the
// program sections that stay (of fn's section only fn's when alone), and
// .text's — and the number of maps hidden; ok false when it cannot tell
// (then every map stays, as before). A map is hidden twice over: its
// symbol's type becomes STT_SECTION, which the reader skips, and its
// variable leaves the .maps Datasec of .BTF, which the reader would
// otherwise resolve with every type the map's key and value reach (for a
// Cilium object, three quarters of its types for a program that uses two
// of its sixty maps). The Datasec shrinks in place; the types after it
// move up and the bytes freed at the end of the type section become
// anonymous pointers to void, one per entry removed, so that every type
// keeps its ID.
//
// It gives up when anything kept could refer to a map other than by a
// program's relocation: relocations of .maps, of legacy map sections or
// of data sections (maps initialised with maps or programs, data with
// addresses), RELA sections on kept code.
func (f *file) keepMaps(fn symbol, alone bool) ([]patch, int, bool) {
	mapsIdx := -1
	for i, sec := range f.sections {
		if sec.name == ".maps" {
			if mapsIdx >= 0 {
				return nil, 0, false
			}
			mapsIdx = i
		}
	}
	if mapsIdx < 0 || f.sections[mapsIdx].typ != elf.SHT_PROGBITS {
		return nil, 0, false
	}
	// The symbols of .maps the kept code refers to, by symbol table index.
	needed := make([]bool, len(f.shndx))
	for _, rel := range f.sections {
		if (rel.typ != elf.SHT_REL && rel.typ != elf.SHT_RELA) || uint64(rel.info) >= uint64(len(f.sections)) {
			continue
		}
		target := int(rel.info)
		tsec := f.sections[target]
		switch n := tsec.name; {
		case n == ".maps", hasPrefix(n, "maps"), n == ".bss", hasPrefix(n, ".data"), hasPrefix(n, ".rodata"), hasPrefix(n, ".struct_ops"):
			if rel.size > 0 {
				return nil, 0, false
			}
			continue
		}
		kept := target == fn.section || (tsec.name == ".text" && isProgramSection(tsec))
		if !kept {
			continue
		}
		if rel.typ == elf.SHT_RELA || !rel.dataInRange || rel.size%16 != 0 {
			return nil, 0, false
		}
		for o := rel.off; o < rel.off+rel.size; o += 16 {
			off, info := f.bo.Uint64(f.data[o:]), f.bo.Uint64(f.data[o+8:])
			if alone && target == fn.section && (off < fn.value || off >= fn.value+fn.size) {
				continue // a hidden function's
			}
			symIdx := info >> 32
			if symIdx >= uint64(len(f.shndx)) {
				return nil, 0, false
			}
			if int(f.shndx[symIdx]) == mapsIdx {
				needed[symIdx] = true
			}
		}
	}
	syms, ok := f.mapSymbols(mapsIdx)
	if !ok {
		return nil, 0, false
	}
	hide := make(map[string]mapSymbol, len(syms))
	for _, s := range syms {
		if !needed[s.idx] {
			if _, dup := hide[s.name]; dup {
				return nil, 0, false
			}
			hide[s.name] = s
		}
	}
	for _, s := range syms {
		if needed[s.idx] {
			if _, dup := hide[s.name]; dup {
				return nil, 0, false // a name both kept and hidden
			}
		}
	}
	if len(hide) == 0 {
		return nil, 0, false
	}
	btfPatch, ok := f.shrinkMapsDatasec(hide)
	if !ok {
		return nil, 0, false
	}
	// One patch of the symbol table from the first symbol hidden to the
	// last, rather than one each: every read goes through every patch.
	lo, hi := uint64(len(f.data)), uint64(0)
	for _, s := range hide {
		lo, hi = min(lo, s.entry), max(hi, s.entry+symSize)
	}
	entries := append([]byte(nil), f.data[lo:hi]...)
	for _, s := range hide {
		entries[s.entry-lo+4] = byte(elf.ST_INFO(elf.STB_LOCAL, elf.STT_SECTION))
	}
	return []patch{btfPatch, {int64(lo), entries}}, len(hide), true
}

// mapSymbols returns the symbols of section mapsIdx that cilium/ebpf
// takes for maps (named, STT_NOTYPE or STT_OBJECT).
func (f *file) mapSymbols(mapsIdx int) ([]mapSymbol, bool) {
	var symtab *section
	for i := range f.sections {
		if f.sections[i].typ == elf.SHT_SYMTAB {
			symtab = &f.sections[i]
		}
	}
	if symtab == nil { // symtab found it before
		return nil, false
	}
	names := f.data[f.sections[symtab.link].off : f.sections[symtab.link].off+f.sections[symtab.link].size]
	var syms []mapSymbol
	for i, sec := range f.shndx {
		if int(sec) != mapsIdx {
			continue
		}
		o := symtab.off + uint64(i)*symSize
		info := f.data[o+4]
		if typ := elf.ST_TYPE(info); typ != elf.STT_NOTYPE && typ != elf.STT_OBJECT {
			continue
		}
		n, ok := cstring(names, uint64(f.bo.Uint32(f.data[o:])))
		if !ok {
			return nil, false
		}
		if n == "" {
			continue
		}
		syms = append(syms, mapSymbol{name: n, idx: i, entry: o})
	}
	return syms, true
}

// shrinkMapsDatasec returns the patch of .BTF's type section that removes
// from the Datasec named .maps the variables named in hide (each exactly
// once), keeping every type's ID (see keepMaps).
func (f *file) shrinkMapsDatasec(hide map[string]mapSymbol) (patch, bool) {
	var btf *section
	for i := range f.sections {
		if f.sections[i].name == ".BTF" {
			if btf != nil {
				return patch{}, false
			}
			btf = &f.sections[i]
		}
	}
	if btf == nil || btf.typ != elf.SHT_PROGBITS || !btf.dataInRange {
		return patch{}, false
	}
	b := f.data[btf.off : btf.off+btf.size]
	strs, ok := f.btfStrings(b)
	if !ok {
		return patch{}, false
	}
	hdrLen, secOff, typeLen := uint64(f.bo.Uint32(b[4:])), uint64(f.bo.Uint32(b[8:])), uint64(f.bo.Uint32(b[12:]))
	if hdrLen < 24 || hdrLen > uint64(len(b)) || secOff > uint64(len(b))-hdrLen || typeLen > uint64(len(b))-hdrLen-secOff {
		return patch{}, false
	}
	types := b[hdrLen+secOff : hdrLen+secOff+typeLen]
	// Walk the types: the offset of every type by ID, and the .maps Datasec.
	typeOff := make([]uint32, 1, 1024) // ID 0 is void
	kinds := make([]uint8, 1, cap(typeOff))
	dsOff, dsEnd := uint64(0), uint64(0)
	found := false
	for off := uint64(0); off < uint64(len(types)); {
		if uint64(len(types))-off < btfTypeSize {
			return patch{}, false
		}
		info := f.bo.Uint32(types[off+4:])
		kind, vlen := (info>>24)&0x1f, uint64(info&0xffff)
		size := uint64(btfTypeSize)
		switch kind {
		case btfKindPtr, btfKindFwd, btfKindTypedef, btfKindVolatile, btfKindConst, btfKindRestrict,
			btfKindFunc, btfKindFloat, btfKindTypeTag:
		case btfKindInt, btfKindVar, btfKindDeclTag:
			size += 4
		case btfKindArray:
			size += 12
		case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
			size += 12 * vlen
		case btfKindEnum, btfKindFuncProto:
			size += 8 * vlen
		default:
			return patch{}, false // a kind this walk does not know: its size is unknown
		}
		if size > uint64(len(types))-off {
			return patch{}, false
		}
		typeOff, kinds = append(typeOff, uint32(off)), append(kinds, uint8(kind))
		switch kind {
		case btfKindDatasec:
			if name, ok := cstring(strs, uint64(f.bo.Uint32(types[off:]))); ok && name == ".maps" {
				if found {
					return patch{}, false
				}
				found, dsOff, dsEnd = true, off, off+size
			}
		}
		off += size
	}
	if !found {
		return patch{}, false
	}
	ds := types[dsOff:dsEnd]
	vlen := (dsEnd - dsOff - btfTypeSize) / secinfoSize
	out := make([]byte, 0, uint64(len(types))-dsOff)
	out = append(out, ds[:btfTypeSize]...)
	removed := make(map[string]bool, len(hide))
	for i := uint64(0); i < vlen; i++ {
		e := ds[btfTypeSize+i*secinfoSize : btfTypeSize+(i+1)*secinfoSize]
		vid := uint64(f.bo.Uint32(e))
		if vid >= uint64(len(kinds)) || kinds[vid] != btfKindVar {
			return patch{}, false // not a variable: leave it all to the reader
		}
		vo := uint64(typeOff[vid])
		name, ok := cstring(strs, uint64(f.bo.Uint32(types[vo:])))
		if !ok {
			return patch{}, false
		}
		if _, h := hide[name]; h {
			if removed[name] {
				return patch{}, false
			}
			removed[name] = true
			continue
		}
		out = append(out, e...)
	}
	if len(removed) != len(hide) {
		return patch{}, false // a symbol without its variable
	}
	kept := uint32(vlen) - uint32(len(removed))
	info := f.bo.Uint32(ds[4:])
	f.bo.PutUint32(out[4:], info&^0xffff|kept)
	out = append(out, types[dsEnd:]...)
	ptr := make([]byte, btfTypeSize) // name_off 0, info PTR, type 0: void *
	f.bo.PutUint32(ptr[4:], btfKindPtr<<24)
	for range removed {
		out = append(out, ptr...)
	}
	return patch{int64(btf.off + hdrLen + secOff + dsOff), out}, true
}
