package symtab

import (
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Symbol is a function found by name in an executable or a shared
// library: where a uprobe on it goes.
type Symbol struct {
	// Name is the symbol's name, as asked for.
	Name string
	// Value is its virtual address in the file (st_value, or a Go
	// function's entry in .gopclntab).
	Value uint64
	// Size is its size in bytes (0 when the table does not say).
	Size uint64
	// Offset is its file offset, the place the kernel's uprobes name
	// (and libbpf computes): Value less the virtual address of the
	// PT_LOAD segment that holds it, plus that segment's file offset.
	Offset uint64
	// Table is where it was found: ".symtab", ".dynsym" or ".gopclntab".
	Table string
}

// ErrNoSymbol is the error of a name that no table of the file has.
var ErrNoSymbol = errors.New("no such symbol")

// Resolve finds the function name in the ELF file at path: in .symtab,
// then .dynsym, then (Go binaries, stripped ones too) in .gopclntab. A
// defined function symbol wins over other kinds; an indirect function
// (STT_GNU_IFUNC) is refused, since its address is that of the resolver
// and not of the function that calls run.
func Resolve(path, name string) (Symbol, error) {
	if name == "" {
		return Symbol{}, fmt.Errorf("%s: no symbol name", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return Symbol{}, fmt.Errorf("resolve %s in %s: %w", name, path, err)
	}
	defer f.Close()
	sym, err := resolveELF(f, name)
	if err != nil {
		return Symbol{}, fmt.Errorf("resolve %s in %s: %w", name, path, err)
	}
	return sym, nil
}

// resolveELF looks name up in an open ELF file.
func resolveELF(f *elf.File, name string) (Symbol, error) {
	tables := []struct {
		name string
		read func() ([]elf.Symbol, error)
	}{{".symtab", f.Symbols}, {".dynsym", f.DynamicSymbols}}
	for _, t := range tables {
		syms, err := t.read()
		if err != nil {
			if errors.Is(err, elf.ErrNoSymbols) {
				continue
			}
			return Symbol{}, fmt.Errorf("%s: %w", t.name, err)
		}
		var found *elf.Symbol
		for i := range syms {
			s := &syms[i]
			if s.Name != name || s.Section == elf.SHN_UNDEF || s.Value == 0 {
				continue
			}
			typ := elf.ST_TYPE(s.Info)
			if typ == elf.STT_GNU_IFUNC {
				return Symbol{}, fmt.Errorf("%s is an indirect function (STT_GNU_IFUNC, in %s): its address is its resolver's; probe the implementation the resolver picks instead", name, t.name)
			}
			if found == nil || (typ == elf.STT_FUNC && elf.ST_TYPE(found.Info) != elf.STT_FUNC) {
				found = s
			}
		}
		if found != nil {
			off, err := fileOffset(f, found.Value)
			if err != nil {
				return Symbol{}, fmt.Errorf("%s (%s, %#x): %w", name, t.name, found.Value, err)
			}
			return Symbol{Name: name, Value: found.Value, Size: found.Size, Offset: off, Table: t.name}, nil
		}
	}
	if sec := f.Section(".gopclntab"); sec != nil {
		sym, ok, err := resolveGo(f, sec, name)
		if err != nil {
			return Symbol{}, err
		}
		if ok {
			return sym, nil
		}
	}
	return Symbol{}, fmt.Errorf("%w %s (looked in .symtab, .dynsym and .gopclntab)", ErrNoSymbol, name)
}

// resolveGo looks a Go function up in the line table of a Go binary,
// which stripping leaves.
func resolveGo(f *elf.File, sec *elf.Section, name string) (Symbol, bool, error) {
	data, err := sec.Data()
	if err != nil {
		return Symbol{}, false, fmt.Errorf(".gopclntab: %w", err)
	}
	var text uint64
	if t := f.Section(".text"); t != nil {
		text = t.Addr
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		return Symbol{}, false, fmt.Errorf(".gopclntab: %w", err)
	}
	fn := tab.LookupFunc(name)
	if fn == nil {
		return Symbol{}, false, nil
	}
	off, err := fileOffset(f, fn.Entry)
	if err != nil {
		return Symbol{}, false, fmt.Errorf("%s (.gopclntab, %#x): %w", name, fn.Entry, err)
	}
	return Symbol{Name: name, Value: fn.Entry, Size: fn.End - fn.Entry, Offset: off, Table: ".gopclntab"}, true, nil
}

// fileOffset turns a virtual address of the file into its file offset
// through the executable PT_LOAD segment that holds it.
func fileOffset(f *elf.File, vaddr uint64) (uint64, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || vaddr < p.Vaddr || vaddr-p.Vaddr >= p.Filesz {
			continue
		}
		if p.Flags&elf.PF_X == 0 {
			return 0, fmt.Errorf("address %#x is in a segment that is not executable", vaddr)
		}
		return vaddr - p.Vaddr + p.Off, nil
	}
	return 0, fmt.Errorf("address %#x is in no loaded segment of the file", vaddr)
}

// Address is where file offset off of the file at path is in a process
// whose mappings are maps, as the kernel places a uprobe: the mapping of
// that file (the same inode, or the same path) whose file range holds
// off, at its start plus off less its offset. An error says that the file
// is not mapped there, or not over off.
func Address(maps []Mapping, path string, off uint64) (uint64, error) {
	abs, ino := fileIdentity(path)
	mapped := false
	// Executable mappings first: the code is there.
	for _, exec := range []bool{true, false} {
		for _, m := range maps {
			same := m.isFile(abs, ino)
			if !same || strings.Contains(m.Perms, "x") != exec {
				continue
			}
			mapped = true
			if off >= m.Offset && off-m.Offset < m.End-m.Start {
				return m.Start + off - m.Offset, nil
			}
		}
	}
	if mapped {
		return 0, fmt.Errorf("%s is mapped, but not its file offset %#x", path, off)
	}
	if replaced(maps, abs) {
		return 0, fmt.Errorf("%s was deleted or replaced on disk after the process mapped it (its mapping is %q): the file there now is not what the process runs; restart the process to probe it", path, abs+" (deleted)")
	}
	return 0, fmt.Errorf("%s is not mapped in the process", path)
}

// replaced reports whether the process maps a file that was at path
// and has been deleted or replaced since (the kernel shows its mapping
// as "PATH (deleted)").
func replaced(maps []Mapping, path string) bool {
	for _, m := range maps {
		if m.Path == path+" (deleted)" {
			return true
		}
	}
	return false
}

// fileIdentity returns what mappings of the file at path show: its
// absolute path with links resolved (path itself where they cannot be)
// and its inode (0 if unknown).
func fileIdentity(path string) (abs string, ino uint64) {
	abs = path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		abs = p
	}
	if p, err := filepath.Abs(abs); err == nil {
		abs = p
	}
	return abs, inodeOf(abs)
}

// isFile reports whether m maps the file whose fileIdentity is abs and
// ino: the same path, or the same inode under the same base name.
func (m Mapping) isFile(abs string, ino uint64) bool {
	return m.Path == abs || (ino != 0 && m.Inode == ino && filepath.Base(m.Path) == filepath.Base(abs))
}

// WritableAddress is where file offset off of the file at path is in a
// process whose mappings are maps, in a writable private mapping of that
// file: where the kernel finds a uprobe's reference counter (a USDT
// semaphore, in the file's data).
func WritableAddress(maps []Mapping, path string, off uint64) (uint64, error) {
	abs, ino := fileIdentity(path)
	for _, m := range maps {
		same := m.isFile(abs, ino)
		if same && len(m.Perms) == 4 && m.Perms[1] == 'w' && m.Perms[3] == 'p' && off >= m.Offset && off-m.Offset < m.End-m.Start {
			return m.Start + off - m.Offset, nil
		}
	}
	return 0, fmt.Errorf("%s: file offset %#x is in no writable mapping of the file in the process", path, off)
}

// FindLibrary finds the file of a library named without a directory
// ("libc.so.6", "libc"): first among the files the process has mapped
// (maps may be nil), whose base name is the name or starts with name+"."
// or name+"-", then in the usual directories of the dynamic loader.
func FindLibrary(maps []Mapping, name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, m := range maps {
		base := filepath.Base(m.Path)
		if m.Path != "" && m.Path[0] == '/' && (base == name || strings.HasPrefix(base, name+".") || strings.HasPrefix(base, name+"-")) {
			return m.Path, nil
		}
	}
	var dirs []string
	if env := os.Getenv("LD_LIBRARY_PATH"); env != "" {
		dirs = append(dirs, filepath.SplitList(env)...)
	}
	dirs = append(dirs, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("library %s: not mapped in the process and not found in LD_LIBRARY_PATH or %s", name, strings.Join(dirs[len(dirs)-7:], ", "))
}
