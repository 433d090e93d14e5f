// Package elfsubset presents an eBPF ELF object as if it held only one of
// its programs, so that reading it (cilium/ebpf's LoadCollectionSpec) does
// not decode, relocate and annotate every other program: `waggle verify
// -p NAME` of one program of a Cilium object, whose other programs are a
// hundred times its size, reads only what that program needs.
//
// The subset is the same file with a few changes, made in an overlay
// (Subset is an io.ReaderAt; the object's bytes are not copied):
//
//   - every other program section loses SHF_EXECINSTR in its section
//     header, so the reader takes it for data it has no use for; .text
//     (the functions programs call) and the program's own section stay;
//   - in the program's own section, the other programs' symbols become
//     local labels (STB_LOCAL, STT_NOTYPE), which the reader skips, so it
//     decodes only the program's instructions, and the section's
//     relocations shrink to the program's — when the program calls nothing
//     in its own section and nothing that stays refers to them;
//   - .BTF.ext keeps the function, line and CO-RE records of what stays,
//     the program's moved to where the reader now counts its instructions
//     from, and drops the others;
//   - the maps of .maps that nothing which stays refers to are hidden:
//     their symbols become STT_SECTION, which the reader skips, and their
//     variables leave the .maps Datasec of .BTF (shrunk in place, every
//     type keeping its ID), so that the reader does not resolve the types
//     of every map's key and value (see keepMaps).
//
// Everything else — symbols, relocations, data sections, the other BTF
// types — is read as before. When what stays refers to something hidden
// (a call into another program's section, a map initialised with a
// program), the reader refuses the subset ("reference to ... in section"):
// the caller then reads the whole object (see Program's contract), which
// is what it would have done anyway.
package elfsubset

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
)

// Layout of the ELF64 structures read here.
const (
	ehdrSize   = 64
	shdrSize   = 64
	symSize    = 24
	shFlagsOff = 8
	btfMagic   = 0xeb9f
)

// Subset is an object seen through the changes Program made: an
// io.ReaderAt over the original bytes with a few byte ranges replaced.
type Subset struct {
	data    []byte
	patches []patch
	// Kept is the number of program sections that stay (the program's
	// and .text when it has one), Dropped the number hidden, Hidden the
	// number of the other programs of the program's section hidden,
	// MapsHidden the number of maps of .maps hidden (those that nothing
	// which stays refers to).
	Kept, Dropped, Hidden, MapsHidden int
}

type patch struct {
	off  int64
	data []byte
}

// Size is the object's size in bytes, as the original's.
func (s *Subset) Size() int64 { return int64(len(s.data)) }

// ReadAt reads the object with the changes applied.
func (s *Subset) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= int64(len(s.data)) {
		return 0, io.EOF
	}
	n := copy(p, s.data[off:])
	for _, pt := range s.patches {
		lo, hi := max(off, pt.off), min(off+int64(n), pt.off+int64(len(pt.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], pt.data[lo-pt.off:hi-pt.off])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// byteOrder is binary.LittleEndian or binary.BigEndian, told apart by a
// flag so that its methods inline: through the binary.ByteOrder interface
// every read in the loops over relocations and .BTF.ext records was a
// call (a sixth of the instructions of Program for a Cilium object).
type byteOrder struct{ big bool }

func (o byteOrder) Uint16(b []byte) uint16 {
	if o.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (o byteOrder) Uint32(b []byte) uint32 {
	if o.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (o byteOrder) Uint64(b []byte) uint64 {
	if o.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func (o byteOrder) PutUint32(b []byte, v uint32) {
	if o.big {
		binary.BigEndian.PutUint32(b, v)
		return
	}
	binary.LittleEndian.PutUint32(b, v)
}

func (o byteOrder) PutUint64(b []byte, v uint64) {
	if o.big {
		binary.BigEndian.PutUint64(b, v)
		return
	}
	binary.LittleEndian.PutUint64(b, v)
}

// file is the little of an ELF64 object Program needs, with every offset
// checked against the data.
type file struct {
	data     []byte
	bo       byteOrder
	shoff    uint64
	sections []section
	funcs    []symbol           // symtab's
	shndx    []elf.SectionIndex // symtab's
}

type section struct {
	name        string
	typ         elf.SectionType
	flags       elf.SectionFlag
	off, size   uint64
	link, info  uint32
	hdr         uint64 // offset of its header
	dataInRange bool
}

// Program returns obj as if its only program were the one named name (the
// function symbol cilium/ebpf names its ProgramSpec after), or ok false
// when it cannot tell that subsetting is safe and cheaper: obj is not a
// little- or big-endian ELF64 object it can read, name is not exactly one
// function of a program section other than .text, a function's name
// appears twice in program sections (which cilium/ebpf refuses), two
// program sections have the same name, or there is no other program
// section, no other function of the program's section and no map to
// hide. It never fails otherwise: a .BTF.ext it does not understand is
// left whole (and then the program's section whole too), as are the maps
// when .maps or a data section has relocations or the .BTF types cannot
// be walked.
//
// The caller must read the whole object instead when ok is false or when
// reading the subset fails, so that every error is the one the whole
// object gives. Reading the subset succeeds with the same ProgramSpec for
// name as the whole object, the same variables, and of the whole object's
// maps those that what stays refers to (every map the program uses among
// them); what it does not report are defects of the other programs'
// sections and of the maps hidden.
func Program(obj []byte, name string) (s *Subset, ok bool) {
	f, ok := parse(obj)
	if !ok {
		return nil, false
	}
	fn, ok := f.function(name)
	if !ok {
		return nil, false
	}
	s = &Subset{data: obj}
	keptNames := map[string]bool{}
	names := map[string]bool{}
	for i, sec := range f.sections {
		if !isProgramSection(sec) {
			continue
		}
		if names[sec.name] {
			return nil, false // .BTF.ext names sections: which would be whose?
		}
		names[sec.name] = true
		if i == fn.section || sec.name == ".text" {
			keptNames[sec.name] = true
			s.Kept++
			continue
		}
		s.Dropped++
		flags := make([]byte, 8)
		f.bo.PutUint64(flags, uint64(sec.flags&^elf.SHF_EXECINSTR))
		s.patches = append(s.patches, patch{int64(sec.hdr + shFlagsOff), flags})
	}
	hidden, window, alone := f.alone(fn)
	if !alone {
		window = nil
	}
	ext, extOK := f.filterExt(keptNames, f.sections[fn.section].name, window)
	switch {
	case extOK:
		s.patches = append(s.patches, ext...)
	case alone && f.hasExt():
		// Its records cannot be moved: leave the section's other programs.
		alone = false
	}
	if alone {
		for _, off := range hidden {
			s.patches = append(s.patches, patch{int64(off + 4), []byte{byte(elf.ST_INFO(elf.STB_LOCAL, elf.STT_NOTYPE))}})
		}
		s.Hidden = len(hidden)
		s.patches = append(s.patches, f.keepRelocations(fn)...)
	}
	if maps, n, ok := f.keepMaps(fn, alone); ok {
		// First: its patch of the symbol table copies the entries of
		// functions hidden above, which the later patches change.
		s.patches = append(maps, s.patches...)
		s.MapsHidden = n
	}
	if s.Dropped == 0 && s.Hidden == 0 && s.MapsHidden == 0 {
		return nil, false
	}
	return s, true
}

// isProgramSection mirrors cilium/ebpf's reader: what it decodes as
// programs is a non-empty executable PROGBITS section whose name is none
// of the names it reads as something else first.
func isProgramSection(sec section) bool {
	if sec.typ != elf.SHT_PROGBITS || sec.flags&elf.SHF_EXECINSTR == 0 || sec.size == 0 {
		return false
	}
	n := sec.name
	switch {
	case hasPrefix(n, "license"), hasPrefix(n, "version"), hasPrefix(n, "maps"), n == ".maps",
		n == ".bss", hasPrefix(n, ".data"), hasPrefix(n, ".rodata"):
		return false
	}
	return true
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// parse reads the ELF header and section headers of obj.
func parse(obj []byte) (*file, bool) {
	if len(obj) < ehdrSize || string(obj[:4]) != elf.ELFMAG || elf.Class(obj[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return nil, false
	}
	f := &file{data: obj}
	switch elf.Data(obj[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		f.bo = byteOrder{}
	case elf.ELFDATA2MSB:
		f.bo = byteOrder{big: true}
	default:
		return nil, false
	}
	f.shoff = f.bo.Uint64(obj[0x28:])
	shentsize, shnum, shstrndx := uint64(f.bo.Uint16(obj[0x3a:])), uint64(f.bo.Uint16(obj[0x3c:])), uint64(f.bo.Uint16(obj[0x3e:]))
	if shentsize != shdrSize || shnum == 0 || shstrndx >= shnum || !f.inRange(f.shoff, shnum*shdrSize) {
		return nil, false // extended numbering, no sections, or cut short
	}
	f.sections = make([]section, shnum)
	for i := range f.sections {
		h := f.shoff + uint64(i)*shdrSize
		sh := obj[h : h+shdrSize]
		sec := section{
			typ: elf.SectionType(f.bo.Uint32(sh[4:])), flags: elf.SectionFlag(f.bo.Uint64(sh[8:])),
			off: f.bo.Uint64(sh[24:]), size: f.bo.Uint64(sh[32:]),
			link: f.bo.Uint32(sh[40:]), info: f.bo.Uint32(sh[44:]), hdr: h,
		}
		sec.dataInRange = sec.typ == elf.SHT_NOBITS || f.inRange(sec.off, sec.size)
		f.sections[i] = sec
	}
	strtab := f.sections[shstrndx]
	if strtab.typ != elf.SHT_STRTAB || !strtab.dataInRange {
		return nil, false
	}
	names := obj[strtab.off : strtab.off+strtab.size]
	for i := range f.sections {
		n, ok := cstring(names, uint64(f.bo.Uint32(obj[f.sections[i].hdr:])))
		if !ok {
			return nil, false
		}
		f.sections[i].name = n
	}
	return f, true
}

// inRange reports whether [off, off+n) lies within the data.
func (f *file) inRange(off, n uint64) bool {
	return off <= uint64(len(f.data)) && n <= uint64(len(f.data))-off
}

// cstring is the NUL-terminated string at off of tab.
func cstring(tab []byte, off uint64) (string, bool) {
	if off >= uint64(len(tab)) {
		return "", false
	}
	end := bytes.IndexByte(tab[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(tab[off : off+uint64(end)]), true
}

// symbol is a function symbol of a program section, as cilium/ebpf takes
// it.
type symbol struct {
	name      string
	section   int
	value     uint64 // offset in its section
	size      uint64
	entry     uint64 // offset of its symbol table entry in the file
	symtabIdx int
}

// symtab returns the file's function symbols of program sections, in the
// order of the symbol table, and the section indexes of every symbol by
// its index; ok false when there is not exactly one readable symbol table
// or a function's name appears twice (which cilium/ebpf refuses).
func (f *file) symtab() (funcs []symbol, shndx []elf.SectionIndex, ok bool) {
	var symtab *section
	for i := range f.sections {
		if f.sections[i].typ == elf.SHT_SYMTAB {
			if symtab != nil {
				return nil, nil, false
			}
			symtab = &f.sections[i]
		}
	}
	if symtab == nil || !symtab.dataInRange || symtab.size%symSize != 0 || uint64(symtab.link) >= uint64(len(f.sections)) {
		return nil, nil, false
	}
	strs := f.sections[symtab.link]
	if strs.typ != elf.SHT_STRTAB || !strs.dataInRange {
		return nil, nil, false
	}
	names := f.data[strs.off : strs.off+strs.size]
	seen := map[string]bool{}
	shndx = make([]elf.SectionIndex, symtab.size/symSize)
	for i := range shndx {
		o := symtab.off + uint64(i)*symSize
		sym := f.data[o : o+symSize]
		info, sec := sym[4], elf.SectionIndex(f.bo.Uint16(sym[6:]))
		shndx[i] = sec
		typ, bind := elf.ST_TYPE(info), elf.ST_BIND(info)
		if int(sec) >= len(f.sections) || sec == elf.SHN_UNDEF || !isProgramSection(f.sections[sec]) {
			continue
		}
		// The symbols cilium/ebpf takes for functions of a program section.
		if typ != elf.STT_FUNC && (typ != elf.STT_NOTYPE || bind == elf.STB_LOCAL) {
			continue
		}
		n, ok := cstring(names, uint64(f.bo.Uint32(sym[0:])))
		if !ok {
			return nil, nil, false
		}
		if n == "" {
			continue
		}
		if seen[n] {
			return nil, nil, false
		}
		seen[n] = true
		funcs = append(funcs, symbol{name: n, section: int(sec), value: f.bo.Uint64(sym[8:]), size: f.bo.Uint64(sym[16:]), entry: o, symtabIdx: i})
	}
	f.funcs, f.shndx = funcs, shndx
	return funcs, shndx, true
}

// function returns the function name: exactly one function symbol of that
// name in a program section other than .text.
func (f *file) function(name string) (symbol, bool) {
	funcs, _, ok := f.symtab()
	if !ok {
		return symbol{}, false
	}
	for _, fn := range funcs {
		if fn.name == name && f.sections[fn.section].name != ".text" {
			return fn, true
		}
	}
	return symbol{}, false
}

// alone reports whether fn can be read without the other functions of its
// section: they are laid out one after the other without overlapping, fn
// calls none of them (every call and function address of fn is a
// relocation to a symbol outside its section), and neither do .text's
// relocations refer into fn's section. It returns the symbol table entries
// to hide and the window of fn's section's .BTF.ext records that are fn's:
// [window[0], window[1]) in bytes, where the reader counts fn's
// instructions from in the whole object (the instructions of the
// functions before it).
func (f *file) alone(fn symbol) (hidden []uint64, window []uint64, ok bool) {
	if !f.sections[fn.section].dataInRange {
		return nil, nil, false
	}
	var before uint64
	var others []symbol
	for _, g := range f.funcs {
		if g.section != fn.section {
			continue
		}
		if g.value%8 != 0 || g.size%8 != 0 || g.size == 0 || g.value > f.sections[fn.section].size || g.size > f.sections[fn.section].size-g.value {
			return nil, nil, false
		}
		if g.symtabIdx == fn.symtabIdx {
			continue
		}
		if g.value < fn.value+fn.size && fn.value < g.value+g.size {
			return nil, nil, false // overlapping, or at the same offset
		}
		if g.value < fn.value {
			before += g.size
		}
		others = append(others, g)
	}
	if len(others) == 0 {
		return nil, nil, false
	}
	for i, g := range others {
		for _, h := range others[i+1:] {
			if g.value < h.value+h.size && h.value < g.value+g.size {
				return nil, nil, false
			}
		}
		hidden = append(hidden, g.entry)
	}
	// Relocations: fn's, by offset, must not refer into fn's section;
	// .text's neither.
	relocated := map[uint64]bool{}
	for i, rel := range f.sections {
		if rel.typ == elf.SHT_RELA && (int(rel.info) == fn.section || f.sections[min(int(rel.info), len(f.sections)-1)].name == ".text") {
			return nil, nil, false
		}
		if rel.typ != elf.SHT_REL || uint64(rel.info) >= uint64(len(f.sections)) {
			continue
		}
		target := int(rel.info)
		text := f.sections[target].name == ".text" && isProgramSection(f.sections[target])
		if target != fn.section && !text {
			continue
		}
		if !rel.dataInRange || rel.size%16 != 0 || i == target {
			return nil, nil, false
		}
		for o := rel.off; o < rel.off+rel.size; o += 16 {
			off, info := f.bo.Uint64(f.data[o:]), f.bo.Uint64(f.data[o+8:])
			symIdx := info >> 32
			if symIdx >= uint64(len(f.shndx)) {
				return nil, nil, false
			}
			if target == fn.section && (off < fn.value || off >= fn.value+fn.size) {
				continue // in a function that is hidden
			}
			if int(f.shndx[symIdx]) == fn.section {
				return nil, nil, false
			}
			if target == fn.section {
				relocated[off] = true
			}
		}
	}
	// Calls and function addresses without a relocation are relative to
	// fn's section.
	sec := f.sections[fn.section]
	code := f.data[sec.off+fn.value : sec.off+fn.value+fn.size]
	for o := 0; o+8 <= len(code); o += 8 {
		op, regs := code[o], code[o+1]
		src := regs >> 4
		if f.bo.big {
			src = regs & 0xf
		}
		if (op == 0x85 && src == 1) || (op == 0x18 && src == 4) {
			if !relocated[fn.value+uint64(o)] {
				return nil, nil, false
			}
		}
		if op == 0x18 {
			o += 8 // the second half of lddw
		}
	}
	return hidden, []uint64{before, before + fn.size}, true
}

// keepRelocations returns the patches that keep, of the relocations of
// fn's section, fn's (the others apply to hidden functions, which the
// reader would parse one by one for nothing): they are moved to the start
// of the relocation section, whose size shrinks to theirs. alone checked
// the section's layout.
func (f *file) keepRelocations(fn symbol) []patch {
	var patches []patch
	for _, rel := range f.sections {
		if rel.typ != elf.SHT_REL || int(rel.info) != fn.section {
			continue
		}
		var kept []byte
		for o := rel.off; o < rel.off+rel.size; o += 16 {
			if off := f.bo.Uint64(f.data[o:]); off >= fn.value && off < fn.value+fn.size {
				kept = append(kept, f.data[o:o+16]...)
			}
		}
		size := make([]byte, 8)
		f.bo.PutUint64(size, uint64(len(kept)))
		patches = append(patches, patch{int64(rel.off), kept}, patch{int64(rel.hdr + 32), size})
	}
	return patches
}

// hasExt reports whether the object has a .BTF.ext section.
func (f *file) hasExt() bool {
	for _, sec := range f.sections {
		if sec.name == ".BTF.ext" {
			return true
		}
	}
	return false
}

// filterExt returns the patches that rewrite .BTF.ext with the records of
// the sections in keep only — of section windowed, when window is not nil,
// the records whose instruction offsets are in [window[0], window[1]),
// moved back by window[0] — or ok false when there is no .BTF.ext or it is
// not laid out as expected.
func (f *file) filterExt(keep map[string]bool, windowed string, window []uint64) ([]patch, bool) {
	var ext, btf *section
	for i := range f.sections {
		switch f.sections[i].name {
		case ".BTF.ext":
			ext = &f.sections[i]
		case ".BTF":
			btf = &f.sections[i]
		}
	}
	if ext == nil || btf == nil || ext.typ != elf.SHT_PROGBITS || btf.typ != elf.SHT_PROGBITS || !ext.dataInRange || !btf.dataInRange {
		return nil, false
	}
	strs, ok := f.btfStrings(f.data[btf.off : btf.off+btf.size])
	if !ok {
		return nil, false
	}
	in := f.data[ext.off : ext.off+ext.size]
	// struct btf_ext_header: magic u16, version u8, flags u8, hdr_len u32,
	// then (offset, length) u32 pairs of func_info, line_info and, when
	// hdr_len has room for them, core_relo, offsets from the header's end.
	if len(in) < 24 || f.bo.Uint16(in) != btfMagic || in[2] != 1 || in[3] != 0 {
		return nil, false
	}
	hdrLen := uint64(f.bo.Uint32(in[4:]))
	if hdrLen < 24 || hdrLen > uint64(len(in)) || hdrLen%4 != 0 {
		return nil, false
	}
	parts := 2
	if hdrLen >= 32 {
		parts = 3
	}
	// Grown as records are kept: for one program of a large object a
	// small part of the input, which would be a large allocation to make
	// up front.
	out := make([]byte, hdrLen, hdrLen+4096)
	copy(out, in[:hdrLen])
	body := in[hdrLen:]
	for p := range parts {
		off, n := uint64(f.bo.Uint32(in[8+8*p:])), uint64(f.bo.Uint32(in[12+8*p:]))
		if off > uint64(len(body)) || n > uint64(len(body))-off {
			return nil, false
		}
		start := uint64(len(out)) - hdrLen
		if n > 0 {
			kept, ok := f.filterInfos(body[off:off+n], strs, keep, windowed, window)
			if !ok {
				return nil, false
			}
			out = append(out, kept...)
		}
		f.bo.PutUint32(out[8+8*p:], uint32(start))
		f.bo.PutUint32(out[12+8*p:], uint32(uint64(len(out))-hdrLen-start))
	}
	size := make([]byte, 8)
	f.bo.PutUint64(size, uint64(len(out)))
	return []patch{{int64(ext.off), out}, {int64(ext.hdr + 32), size}}, true
}

// filterInfos keeps, of one part of .BTF.ext (a record size, then for
// each section its name's offset in the BTF strings, its record count and
// its records, each starting with its instruction's offset in bytes), the
// sections whose names are in keep, and of section windowed the records
// in window (see filterExt).
func (f *file) filterInfos(part, strs []byte, keep map[string]bool, windowed string, window []uint64) ([]byte, bool) {
	if len(part) < 4 {
		return nil, false
	}
	recSize := uint64(f.bo.Uint32(part))
	if recSize < 4 || recSize > 256 {
		return nil, false
	}
	out := append([]byte(nil), part[:4]...)
	for rest := part[4:]; len(rest) > 0; {
		if len(rest) < 8 {
			return nil, false
		}
		name, ok := cstring(strs, uint64(f.bo.Uint32(rest)))
		count := uint64(f.bo.Uint32(rest[4:]))
		if !ok || count > uint64(len(rest)-8)/recSize {
			return nil, false
		}
		n := 8 + count*recSize
		switch {
		case keep[name] && name == windowed && window != nil:
			head := len(out)
			out = append(out, rest[:8]...)
			kept := 0
			// Thousands of records for a Cilium object's tail calls:
			// the bounds hoisted out of the loop.
			lo, hi, recs, bo := window[0], window[1], rest[8:n], f.bo
			for len(recs) > 0 {
				rec := recs[:recSize]
				recs = recs[recSize:]
				off := uint64(bo.Uint32(rec[:4]))
				if off < lo || off >= hi {
					continue
				}
				out = append(out, rec...)
				bo.PutUint32(out[len(out)-int(recSize):], uint32(off-lo))
				kept++
			}
			if kept == 0 {
				out = out[:head] // cilium/ebpf refuses a section without records
			} else {
				f.bo.PutUint32(out[head+4:], uint32(kept))
			}
		case keep[name]:
			out = append(out, rest[:n]...)
		}
		rest = rest[n:]
	}
	return out, true
}

// btfStrings is the string section of a .BTF blob.
func (f *file) btfStrings(b []byte) ([]byte, bool) {
	// struct btf_header: magic u16, version u8, flags u8, hdr_len u32,
	// type_off, type_len, str_off, str_len u32, offsets from the header's end.
	if len(b) < 24 || f.bo.Uint16(b) != btfMagic {
		return nil, false
	}
	hdrLen, strOff, strLen := uint64(f.bo.Uint32(b[4:])), uint64(f.bo.Uint32(b[16:])), uint64(f.bo.Uint32(b[20:]))
	if hdrLen > uint64(len(b)) || strOff > uint64(len(b))-hdrLen || strLen > uint64(len(b))-hdrLen-strOff {
		return nil, false
	}
	return b[hdrLen+strOff : hdrLen+strOff+strLen], true
}
