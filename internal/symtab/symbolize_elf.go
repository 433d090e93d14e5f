package symtab

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
	"sort"
)

// File holds the symbols of one ELF file: its functions by address (from
// .symtab, and .dynsym for what .symtab lacks) and, for a Go program, its
// line table (.gopclntab), and the program headers that turn a file
// offset into the address the symbols use.
type File struct {
	// Path is the file's path.
	Path  string
	loads []elf.ProgHeader
	funcs []fileFunc // sorted by addr
	gotab *gosym.Table
}

type fileFunc struct {
	addr, size uint64
	name       string
}

// OpenFile reads the symbols of the ELF file at path. A file without any
// symbols is no error: its addresses symbolise to the module and offset.
func OpenFile(path string) (*File, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("symbols of %s: %w", path, err)
	}
	defer ef.Close()
	return newFile(path, ef)
}

func newFile(path string, ef *elf.File) (*File, error) {
	f := &File{Path: path}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			f.loads = append(f.loads, p.ProgHeader)
		}
	}
	seen := map[uint64]bool{}
	add := func(syms []elf.Symbol) {
		for _, s := range syms {
			if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value == 0 || s.Section == elf.SHN_UNDEF || seen[s.Value] {
				continue
			}
			seen[s.Value] = true
			f.funcs = append(f.funcs, fileFunc{addr: s.Value, size: s.Size, name: s.Name})
		}
	}
	if syms, err := ef.Symbols(); err == nil {
		add(syms)
	}
	if syms, err := ef.DynamicSymbols(); err == nil {
		add(syms)
	}
	sort.Slice(f.funcs, func(i, j int) bool { return f.funcs[i].addr < f.funcs[j].addr })
	if sec := ef.Section(".gopclntab"); sec != nil {
		if text := ef.Section(".text"); text != nil {
			data, err := sec.Data()
			if err != nil {
				return nil, fmt.Errorf("symbols of %s: .gopclntab: %w", path, err)
			}
			t, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
			if err != nil {
				return nil, fmt.Errorf("symbols of %s: .gopclntab: %w", path, err)
			}
			f.gotab = t
		}
	}
	return f, nil
}

// vaddrOf turns an offset in the file into the address its symbols use,
// by the PT_LOAD segment that holds it; a file without program headers
// (an object) uses offsets as they are.
func (f *File) vaddrOf(off uint64) (uint64, bool) {
	if len(f.loads) == 0 {
		return off, true
	}
	for _, p := range f.loads {
		if off >= p.Off && off < p.Off+p.Filesz {
			return off - p.Off + p.Vaddr, true
		}
	}
	return 0, false
}

// Lookup gives the function that holds the address vaddr (in the file's
// own addresses) and vaddr's offset in it: the Go line table's function
// when the file has one, else the symbol with the greatest address not
// above vaddr, within its size when it has one.
func (f *File) Lookup(vaddr uint64) (string, uint64, bool) {
	if f.gotab != nil {
		if fn := f.gotab.PCToFunc(vaddr); fn != nil {
			return fn.Name, vaddr - fn.Entry, true
		}
	}
	i := sort.Search(len(f.funcs), func(i int) bool { return f.funcs[i].addr > vaddr }) - 1
	if i < 0 {
		return "", 0, false
	}
	fn := f.funcs[i]
	if fn.size != 0 && vaddr >= fn.addr+fn.size {
		return "", 0, false
	}
	return fn.name, vaddr - fn.addr, true
}
