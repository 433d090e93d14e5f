// Package elfsubset presents an eBPF ELF object as if it held only one of
// its programs, so that reading it (cilium/ebpf's LoadCollectionSpec) does
// not decode, relocate and annotate every other program: `waggle verify
// -p NAME` of one program of a Cilium object, whose other programs are a
// hundred times its size, reads only what that program needs.
//
// The subset is the same file with two changes, made in an overlay
// (Subset is an io.ReaderAt; the object's bytes are not copied):
//
//   - every other program section loses SHF_EXECINSTR in its section
//     header, so the reader takes it for data it has no use for; .text
//     (the functions programs call) and the program's own section stay;
//   - .BTF.ext keeps the function, line and CO-RE records of the sections
//     that stay, in the same layout, and drops the others.
//
// Everything else — symbols, relocations, maps, data sections, BTF — is
// read as before. When the program's section or .text refers to something
// in a dropped section (a call into another program's section, a map
// initialised with a program), cilium/ebpf's reader refuses the subset
// ("reference to ... in section"): the caller then reads the whole object
// (see Program's contract), which is what it would have done anyway.
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
	// and .text when it has one), Dropped the number hidden.
	Kept, Dropped int
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

// file is the little of an ELF64 object Program needs, with every offset
// checked against the data.
type file struct {
	data     []byte
	bo       binary.ByteOrder
	shoff    uint64
	sections []section
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
// appears twice in program sections (which cilium/ebpf refuses), or no
// other program section would be hidden. It never fails otherwise: a
// .BTF.ext it does not understand is left whole.
//
// The caller must read the whole object instead when ok is false or when
// reading the subset fails, so that every error is the one the whole
// object gives. Reading the subset succeeds with the same ProgramSpec for
// name as the whole object, the same maps and variables; what it does not
// report are defects of the other programs' sections.
func Program(obj []byte, name string) (s *Subset, ok bool) {
	f, ok := parse(obj)
	if !ok {
		return nil, false
	}
	keep, ok := f.programSection(name)
	if !ok {
		return nil, false
	}
	s = &Subset{data: obj}
	keptNames := map[string]bool{}
	for i, sec := range f.sections {
		if !isProgramSection(sec) {
			continue
		}
		if i == keep || sec.name == ".text" {
			keptNames[sec.name] = true
			s.Kept++
			continue
		}
		s.Dropped++
		flags := make([]byte, 8)
		f.bo.PutUint64(flags, uint64(sec.flags&^elf.SHF_EXECINSTR))
		s.patches = append(s.patches, patch{int64(sec.hdr + shFlagsOff), flags})
	}
	if s.Dropped == 0 {
		return nil, false
	}
	if p, ok := f.filterExt(keptNames); ok {
		s.patches = append(s.patches, p...)
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
		f.bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		f.bo = binary.BigEndian
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

// programSection returns the index of the section holding the function
// name: exactly one function symbol of that name in a program section
// other than .text, and no function name twice among program sections.
func (f *file) programSection(name string) (int, bool) {
	var symtab *section
	for i := range f.sections {
		if f.sections[i].typ == elf.SHT_SYMTAB {
			if symtab != nil {
				return 0, false
			}
			symtab = &f.sections[i]
		}
	}
	if symtab == nil || !symtab.dataInRange || symtab.size%symSize != 0 || uint64(symtab.link) >= uint64(len(f.sections)) {
		return 0, false
	}
	strs := f.sections[symtab.link]
	if strs.typ != elf.SHT_STRTAB || !strs.dataInRange {
		return 0, false
	}
	names := f.data[strs.off : strs.off+strs.size]
	found := -1
	seen := map[string]bool{}
	syms := f.data[symtab.off : symtab.off+symtab.size]
	for o := 0; o+symSize <= len(syms); o += symSize {
		sym := syms[o : o+symSize]
		info, shndx := sym[4], elf.SectionIndex(f.bo.Uint16(sym[6:]))
		typ, bind := elf.ST_TYPE(info), elf.ST_BIND(info)
		if int(shndx) >= len(f.sections) || shndx == elf.SHN_UNDEF || !isProgramSection(f.sections[shndx]) {
			continue
		}
		// The symbols cilium/ebpf takes for functions of a program section.
		if typ != elf.STT_FUNC && (typ != elf.STT_NOTYPE || bind == elf.STB_LOCAL) {
			continue
		}
		n, ok := cstring(names, uint64(f.bo.Uint32(sym[0:])))
		if !ok {
			return 0, false
		}
		if n == "" {
			continue
		}
		if seen[n] {
			return 0, false
		}
		seen[n] = true
		if n == name {
			found = int(shndx)
		}
	}
	if found < 0 || f.sections[found].name == ".text" {
		return 0, false
	}
	return found, true
}

// filterExt returns the patches that rewrite .BTF.ext with the records of
// the sections in keep only, or ok false when there is no .BTF.ext or it
// is not laid out as expected.
func (f *file) filterExt(keep map[string]bool) ([]patch, bool) {
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
	out := make([]byte, hdrLen, len(in))
	copy(out, in[:hdrLen])
	body := in[hdrLen:]
	for p := range parts {
		off, n := uint64(f.bo.Uint32(in[8+8*p:])), uint64(f.bo.Uint32(in[12+8*p:]))
		if off > uint64(len(body)) || n > uint64(len(body))-off {
			return nil, false
		}
		start := uint64(len(out)) - hdrLen
		if n > 0 {
			kept, ok := f.filterInfos(body[off:off+n], strs, keep)
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
// its records), the sections whose names are in keep.
func (f *file) filterInfos(part, strs []byte, keep map[string]bool) ([]byte, bool) {
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
		if keep[name] {
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
