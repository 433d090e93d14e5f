package symtab

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Frame is a symbolised address.
type Frame struct {
	// Addr is the address that was symbolised.
	Addr uint64
	// Func is the function's name; empty when no symbol covers Addr.
	Func string
	// Module is the path of the mapped file that holds Addr; empty when
	// no file mapping does ([anon], [vdso] and the like give their name).
	Module string
	// Offset is Addr's offset from the function's start; when Func is
	// empty, its offset in the module's file (from the mapping's start
	// for a mapping of no file).
	Offset uint64
}

// String gives the frame as a flame graph names it: the function, else
// the module's base name and the offset (libc.so.6+0x2a1c0), else
// "[unknown]".
func (f Frame) String() string {
	switch {
	case f.Func != "":
		return f.Func
	case f.Module != "":
		return fmt.Sprintf("%s+%#x", filepath.Base(f.Module), f.Offset)
	}
	return "[unknown]"
}

// Files caches the symbols of files by path, for every Symbolizer that
// shares it. It is safe for concurrent use.
type Files struct {
	mu    sync.Mutex
	files map[string]*fileEntry
	// Open opens a file's symbols; nil: OpenFile.
	Open func(path string) (*File, error)
}

type fileEntry struct {
	once sync.Once
	file *File
	err  error
}

// Get gives the symbols of the file at path, read at the first call.
func (c *Files) Get(path string) (*File, error) {
	c.mu.Lock()
	if c.files == nil {
		c.files = map[string]*fileEntry{}
	}
	e := c.files[path]
	if e == nil {
		e = &fileEntry{}
		c.files[path] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		open := c.Open
		if open == nil {
			open = OpenFile
		}
		e.file, e.err = open(path)
	})
	return e.file, e.err
}

// Symbolizer symbolises the addresses of one process.
type Symbolizer struct {
	mu       sync.Mutex
	mappings []Mapping // sorted by Start
	files    *Files
	// Root, when set, is tried before a mapping's path (/proc/PID/root,
	// so that a process in another mount namespace is read in its own).
	Root string
}

// NewSymbolizer gives a symboliser of a process whose mappings are
// mappings; files caches the symbols (nil: a cache of its own).
func NewSymbolizer(mappings []Mapping, files *Files) *Symbolizer {
	if files == nil {
		files = &Files{}
	}
	s := &Symbolizer{files: files}
	s.SetMappings(mappings)
	return s
}

// SetMappings replaces the process's mappings (after a new read of its
// maps: libraries loaded since).
func (s *Symbolizer) SetMappings(mappings []Mapping) {
	ms := append([]Mapping(nil), mappings...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Start < ms[j].Start })
	s.mu.Lock()
	s.mappings = ms
	s.mu.Unlock()
}

// Covers tells whether a mapping holds addr.
func (s *Symbolizer) Covers(addr uint64) bool {
	_, ok := s.find(addr)
	return ok
}

func (s *Symbolizer) find(addr uint64) (Mapping, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.mappings), func(i int) bool { return s.mappings[i].End > addr })
	if i < len(s.mappings) && s.mappings[i].Start <= addr {
		return s.mappings[i], true
	}
	return Mapping{}, false
}

// Symbolize symbolises addr. A return address (any frame of a stack but
// the first) should be passed less one, so that a call at a function's
// end is not taken for the next function.
func (s *Symbolizer) Symbolize(addr uint64) Frame {
	f := Frame{Addr: addr}
	m, ok := s.find(addr)
	if !ok {
		return f
	}
	f.Module = m.Path
	f.Offset = addr - m.Start
	if m.Path == "" || !strings.HasPrefix(m.Path, "/") {
		return f
	}
	// Without a symbol, a file's address is its offset in the file.
	fileOff := addr - m.Start + m.Offset
	f.Offset = fileOff
	file, err := s.file(m.Path)
	if err != nil {
		return f
	}
	vaddr, ok := file.vaddrOf(fileOff)
	if !ok {
		return f
	}
	if name, off, ok := file.Lookup(vaddr); ok {
		f.Func, f.Offset = name, off
	}
	return f
}

func (s *Symbolizer) file(path string) (*File, error) {
	if s.Root != "" {
		if f, err := s.files.Get(filepath.Join(s.Root, path)); err == nil {
			return f, nil
		}
	}
	return s.files.Get(path)
}
