// Package usdt reads the USDT probes (user statically defined tracing,
// SystemTap's <sys/sdt.h> DTRACE_PROBE, STAP_PROBE) of an executable or
// shared library from its .note.stapsdt notes, and lays out their
// arguments as libbpf's usdt.bpf.h reads them (struct __bpf_usdt_spec),
// for x86-64.
//
// A probe site is a nop at an address the note gives (Location), with a
// semaphore (a 16-bit counter the program may test to skip preparing
// the arguments) and an argument string such as "-4@%edi 8@-16(%rbp)
// 4@$5 -8@glob(%rip)": each argument is SIZE@OPERAND, SIZE its bytes
// (negative: signed), the operand in the assembler's AT&T syntax.
package usdt

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Note is one NT_STAPSDT note of .note.stapsdt, as the file holds it.
type Note struct {
	Provider, Name string
	// Location is the probe's address (the nop), Base the address of
	// .stapsdt.base the note was made with, Semaphore the address of the
	// probe's semaphore (0: none), as the linker wrote them.
	Location, Base, Semaphore uint64
	// Args is the argument string.
	Args string
}

// String names the note: "PROVIDER:NAME at 0xLOCATION".
func (n Note) String() string {
	return fmt.Sprintf("%s:%s at %#x", n.Provider, n.Name, n.Location)
}

// ntStapsdt is the type of the notes, with owner "stapsdt".
const ntStapsdt = 3

// ParseNotes reads the notes of a .note.stapsdt section (data) of a file
// of class class and byte order order; notes of other owners or types
// are skipped. An error names the note (by its index and offset) and
// what is wrong with it.
func ParseNotes(data []byte, class elf.Class, order binary.ByteOrder) ([]Note, error) {
	addrSize := 8
	if class == elf.ELFCLASS32 {
		addrSize = 4
	}
	var out []Note
	for i, off := 0, 0; off < len(data); i++ {
		if len(data)-off < 12 {
			return nil, fmt.Errorf("note %d at offset %d: %d bytes left, fewer than a note header's 12", i, off, len(data)-off)
		}
		nameSz, descSz, typ := uint64(order.Uint32(data[off:])), uint64(order.Uint32(data[off+4:])), order.Uint32(data[off+8:])
		nameOff := uint64(off) + 12
		descOff := nameOff + align4(nameSz)
		end := descOff + align4(descSz)
		if nameSz > uint64(len(data)) || descSz > uint64(len(data)) || descOff+descSz > uint64(len(data)) {
			return nil, fmt.Errorf("note %d at offset %d: its name (%d bytes) and description (%d bytes) run past the end of the section (%d bytes)", i, off, nameSz, descSz, len(data))
		}
		name := string(data[nameOff : nameOff+nameSz])
		desc := data[descOff : descOff+descSz]
		if end > uint64(len(data)) {
			end = uint64(len(data))
		}
		off = int(end)
		if strings.TrimRight(name, "\x00") != "stapsdt" || typ != ntStapsdt {
			continue
		}
		n, err := parseDesc(desc, addrSize, order)
		if err != nil {
			return nil, fmt.Errorf("note %d at offset %d (stapsdt): %w", i, int(nameOff)-12, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// parseDesc reads a note's description: three addresses (location,
// base, semaphore), then the provider, the name and the arguments, each
// a NUL-terminated string.
func parseDesc(desc []byte, addrSize int, order binary.ByteOrder) (Note, error) {
	if len(desc) < 3*addrSize {
		return Note{}, fmt.Errorf("description of %d bytes, shorter than its three %d-byte addresses", len(desc), addrSize)
	}
	addr := func(i int) uint64 {
		if addrSize == 4 {
			return uint64(order.Uint32(desc[i*4:]))
		}
		return order.Uint64(desc[i*8:])
	}
	n := Note{Location: addr(0), Base: addr(1), Semaphore: addr(2)}
	rest := desc[3*addrSize:]
	var strs [3]string
	for i, what := range []string{"provider", "name", "arguments"} {
		s, after, ok := strings.Cut(string(rest), "\x00")
		if !ok {
			return Note{}, fmt.Errorf("the %s string has no terminating NUL", what)
		}
		strs[i], rest = s, []byte(after)
	}
	n.Provider, n.Name, n.Args = strs[0], strs[1], strs[2]
	if n.Provider == "" || n.Name == "" {
		return Note{}, fmt.Errorf("a probe without a provider or a name (%q:%q)", n.Provider, n.Name)
	}
	return n, nil
}

// Site is a probe site of a file, its addresses placed as the file is
// loaded and its arguments parsed.
type Site struct {
	Note
	// Addr is the site's virtual address in the file (Location adjusted
	// by .stapsdt.base, for files prelinked after the notes were made),
	// Offset its file offset: where a uprobe goes.
	Addr, Offset uint64
	// SemaphoreOffset is the file offset of the semaphore (0: none); the
	// kernel's uprobes take it as ref_ctr_offset.
	SemaphoreOffset uint64
	// Arguments are the parsed arguments.
	Arguments []Arg
	// Err is why the site cannot be probed (its address outside the
	// file's code, an argument that does not parse or names a missing
	// symbol), nil if it can: Find reports it for the probe asked for,
	// so that one odd probe does not hide a file's others.
	Err error
}

// ReadFile reads the probe sites of the ELF executable or shared library
// at path.
func ReadFile(path string) ([]Site, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the USDT notes of %s: %w", path, err)
	}
	defer f.Close()
	sites, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sites, nil
}

// Read reads the probe sites of an open ELF file: its .note.stapsdt
// notes, each site's address adjusted by .stapsdt.base and turned into a
// file offset through the PT_LOAD segment that holds it, its arguments
// parsed (an operand relative to a symbol, glob(%rip), resolved through
// the file's symbol tables). A file without notes has no sites.
func Read(f *elf.File) ([]Site, error) {
	sec := f.Section(".note.stapsdt")
	if sec == nil {
		return nil, nil
	}
	if sec.Type != elf.SHT_NOTE {
		return nil, fmt.Errorf("section .note.stapsdt is of type %s, not SHT_NOTE", sec.Type)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("section .note.stapsdt: %w", err)
	}
	notes, err := ParseNotes(data, f.Class, f.ByteOrder)
	if err != nil {
		return nil, fmt.Errorf("section .note.stapsdt: %w", err)
	}
	var base uint64
	hasBase := false
	if b := f.Section(".stapsdt.base"); b != nil {
		base, hasBase = b.Addr, true
	}
	var syms map[string]uint64
	lookup := func(name string) (uint64, bool) {
		if syms == nil {
			syms = map[string]uint64{}
			for _, read := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
				list, _ := read()
				for _, s := range list {
					if s.Section != elf.SHN_UNDEF && s.Name != "" {
						if _, ok := syms[s.Name]; !ok {
							syms[s.Name] = s.Value
						}
					}
				}
			}
		}
		v, ok := syms[name]
		return v, ok
	}
	sites := make([]Site, 0, len(notes))
	for _, n := range notes {
		s := Site{Note: n, Addr: n.Location}
		if hasBase && n.Base != 0 {
			// Prelinking moved the file: move the addresses as much as
			// .stapsdt.base moved.
			s.Addr += base - n.Base
			if s.Semaphore != 0 {
				s.Semaphore += base - n.Base
			}
		}
		if err := s.place(f, lookup); err != nil {
			s.Err = fmt.Errorf("probe %s: %w", n, err)
		}
		sites = append(sites, s)
	}
	return sites, nil
}

// place finds the file offsets of the site and its semaphore and parses
// and resolves its arguments.
func (s *Site) place(f *elf.File, lookup func(string) (uint64, bool)) error {
	off, err := fileOffset(f, s.Addr, true)
	if err != nil {
		return fmt.Errorf("its address: %w", err)
	}
	s.Offset = off
	if s.Semaphore != 0 {
		if s.SemaphoreOffset, err = fileOffset(f, s.Semaphore, false); err != nil {
			return fmt.Errorf("its semaphore: %w", err)
		}
	}
	args, err := ParseArgs(s.Args)
	if err != nil {
		return err
	}
	for i := range args {
		a := &args[i]
		if a.Symbol == "" {
			continue
		}
		v, ok := lookup(a.Symbol)
		if !ok {
			return fmt.Errorf("argument %d %q: no symbol %s in the file", i+1, a.Text, a.Symbol)
		}
		switch a.Kind {
		case RegDeref:
			if a.Reg != "rip" {
				return fmt.Errorf("argument %d %q: a symbol is an address only relative to %%rip", i+1, a.Text)
			}
			// rip is the site's address when the probe fires: the
			// symbol is as far from it in memory as in the file (from
			// the site's address as placed, since prelinking moved the
			// symbols but not the notes).
			a.Offset += int64(v - s.Addr)
		case Const:
			if f.Type != elf.ET_EXEC {
				return fmt.Errorf("argument %d %q: the address of a symbol as a constant is known only in a file that is not relocated (ET_EXEC), this one is %s", i+1, a.Text, f.Type)
			}
			a.Offset += int64(v)
		}
		a.Symbol = ""
	}
	s.Arguments = args
	return nil
}

// fileOffset is the file offset of virtual address vaddr, through the
// PT_LOAD segment that holds it (an executable one for code).
func fileOffset(f *elf.File, vaddr uint64, code bool) (uint64, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || vaddr < p.Vaddr || vaddr-p.Vaddr >= p.Memsz {
			continue
		}
		if code && p.Flags&elf.PF_X == 0 {
			return 0, fmt.Errorf("%#x is in a segment that is not executable", vaddr)
		}
		if vaddr-p.Vaddr >= p.Filesz {
			return 0, fmt.Errorf("%#x is past the file's part of its segment (in .bss)", vaddr)
		}
		return vaddr - p.Vaddr + p.Off, nil
	}
	return 0, fmt.Errorf("%#x is in no loaded segment of the file", vaddr)
}

// maxListed is how many probes the error of Find lists at most.
const maxListed = 10

// Find returns the sites of provider:name among sites; an error says
// that there is none, and lists the probes there are (the first ten,
// and how many more), or gives the error of a site of the probe that
// cannot be probed (Site.Err).
func Find(sites []Site, provider, name string) ([]Site, error) {
	var out []Site
	for _, s := range sites {
		if s.Provider == provider && s.Name == name {
			if s.Err != nil {
				return nil, s.Err
			}
			out = append(out, s)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	seen := map[string]bool{}
	var have []string
	for _, s := range sites {
		if k := s.Provider + ":" + s.Name; !seen[k] {
			seen[k] = true
			have = append(have, k)
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("no USDT probe %s:%s: the file has no USDT probes (no .note.stapsdt notes)", provider, name)
	}
	list := strings.Join(have[:min(len(have), maxListed)], ", ")
	if len(have) > maxListed {
		list += fmt.Sprintf(" and %d more", len(have)-maxListed)
	}
	return nil, fmt.Errorf("no USDT probe %s:%s (the file has %s)", provider, name, list)
}

// ArgKind is how an argument is found, as libbpf's enum
// __bpf_usdt_arg_type numbers it.
type ArgKind uint8

const (
	// Const is a constant: $5 (Offset).
	Const ArgKind = iota
	// Reg is a register's value: %edi.
	Reg
	// RegDeref is memory at a register plus an offset: -16(%rbp).
	RegDeref
	// SIB is memory at base + index*scale + offset: 8(%rax,%rcx,4).
	// It is parsed, but Spec refuses it: the usdt.bpf.h of libbpf before
	// 1.7 cannot read it.
	SIB
)

var kindNames = [...]string{"constant", "register", "memory at a register", "memory at base+index*scale"}

func (k ArgKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// Arg is one argument of a probe.
type Arg struct {
	// Text is the argument as the note spells it ("-4@%edi").
	Text string
	// Size is its size in bytes (1, 2, 4 or 8), Signed whether it is
	// sign-extended (a negative size in the note).
	Size   int
	Signed bool
	Kind   ArgKind
	// Offset is the constant of Const, the displacement of RegDeref and
	// SIB.
	Offset int64
	// Reg is the register (its 64-bit name, "rdi") of Reg and RegDeref,
	// the base of SIB; Index and Scale SIB's index register and scale.
	Reg, Index string
	Scale      int
	// Symbol is the symbol the offset is relative to ("glob" of
	// glob(%rip), "x" of $x): Read resolves it.
	Symbol string
}

// ParseArgs parses an argument string: arguments separated by spaces,
// each SIZE@OPERAND. An error names the argument (its number, from 1, and
// text) and what is wrong with it.
func ParseArgs(s string) ([]Arg, error) {
	var out []Arg
	for i, text := range strings.Fields(s) {
		a, err := parseArg(text)
		if err != nil {
			return nil, fmt.Errorf("argument %d %q: %w", i+1, text, err)
		}
		out = append(out, a)
	}
	if len(out) > MaxArgs {
		return nil, fmt.Errorf("%d arguments, more than the %d that usdt.bpf.h reads", len(out), MaxArgs)
	}
	return out, nil
}

// MaxArgs is the most arguments a spec holds (BPF_USDT_MAX_ARG_CNT).
const MaxArgs = 12

func parseArg(text string) (Arg, error) {
	a := Arg{Text: text}
	size, op, ok := strings.Cut(text, "@")
	if !ok {
		return a, errors.New("no SIZE@ before the operand")
	}
	n, err := strconv.Atoi(size)
	if err != nil {
		return a, fmt.Errorf("size %q is not a number", size)
	}
	if n < 0 {
		a.Signed, n = true, -n
	}
	if n != 1 && n != 2 && n != 4 && n != 8 {
		return a, fmt.Errorf("size %s: want 1, 2, 4 or 8 bytes (negative: signed)", size)
	}
	a.Size = n
	switch {
	case strings.HasPrefix(op, "$"):
		a.Kind = Const
		v := op[1:]
		if num, err := parseInt(v); err == nil {
			a.Offset = num
			return a, nil
		}
		sym, off, err := symbolOffset(v)
		if err != nil {
			return a, fmt.Errorf("constant %q: %w", op, err)
		}
		a.Symbol, a.Offset = sym, off
		return a, nil
	case strings.HasPrefix(op, "%"):
		a.Kind = Reg
		r, err := register(op[1:])
		if err != nil {
			return a, err
		}
		a.Reg = r
		return a, nil
	}
	// DISP(%BASE) or DISP(%BASE,%INDEX,SCALE), DISP a number, empty, or
	// SYMBOL[+-NUMBER].
	open := strings.IndexByte(op, '(')
	if open < 0 || !strings.HasSuffix(op, ")") {
		return a, fmt.Errorf("operand %q: want $CONSTANT, %%REGISTER, OFFSET(%%REGISTER) or OFFSET(%%BASE,%%INDEX,SCALE)", op)
	}
	disp, inner := op[:open], op[open+1:len(op)-1]
	if disp != "" {
		if num, err := parseInt(disp); err == nil {
			a.Offset = num
		} else {
			sym, off, err := symbolOffset(disp)
			if err != nil {
				return a, fmt.Errorf("offset %q: %w", disp, err)
			}
			a.Symbol, a.Offset = sym, off
		}
	}
	parts := strings.Split(inner, ",")
	if !strings.HasPrefix(parts[0], "%") {
		return a, fmt.Errorf("operand %q: the base %q is not a %%register", op, parts[0])
	}
	base, err := register(parts[0][1:])
	if err != nil {
		return a, err
	}
	a.Reg = base
	switch len(parts) {
	case 1:
		a.Kind = RegDeref
	case 2, 3:
		if a.Symbol != "" {
			return a, fmt.Errorf("operand %q: a symbol with an index register", op)
		}
		a.Kind, a.Scale = SIB, 1
		if !strings.HasPrefix(parts[1], "%") {
			return a, fmt.Errorf("operand %q: the index %q is not a %%register", op, parts[1])
		}
		if a.Index, err = register(parts[1][1:]); err != nil {
			return a, err
		}
		if a.Index == "rsp" || a.Index == "rip" {
			return a, fmt.Errorf("operand %q: %%%s cannot be an index", op, parts[1][1:])
		}
		if len(parts) == 3 {
			sc, err := strconv.Atoi(parts[2])
			if err != nil || (sc != 1 && sc != 2 && sc != 4 && sc != 8) {
				return a, fmt.Errorf("operand %q: scale %q: want 1, 2, 4 or 8", op, parts[2])
			}
			a.Scale = sc
		}
	default:
		return a, fmt.Errorf("operand %q: more than base, index and scale in the parentheses", op)
	}
	if a.Symbol != "" && a.Reg != "rip" {
		return a, fmt.Errorf("operand %q: an offset from symbol %s is an address only relative to %%rip", op, a.Symbol)
	}
	return a, nil
}

// parseInt reads a decimal or 0x hexadecimal number, maybe negative.
func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg, s = s[0] == '-', s[1:]
	}
	u, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// symbolOffset reads SYMBOL, SYMBOL+N or SYMBOL-N.
func symbolOffset(s string) (string, int64, error) {
	sym, off := s, int64(0)
	if i := strings.LastIndexAny(s, "+-"); i > 0 {
		n, err := parseInt(s[i:])
		if err != nil {
			return "", 0, fmt.Errorf("%q after the symbol is not a number", s[i:])
		}
		sym, off = s[:i], n
	}
	if sym == "" || !validSymbol(sym) {
		return "", 0, errors.New("neither a number nor a symbol")
	}
	return sym, off, nil
}

func validSymbol(s string) bool {
	for i, c := range s {
		switch {
		case c == '_' || c == '.' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// registers maps each x86-64 register name (64, 32, 16 and 8-bit) to its
// 64-bit register; the high bytes (ah, bh, ch, dh) are refused.
var registers = func() map[string]string {
	m := map[string]string{"rip": "rip", "eip": "rip"}
	for _, r := range []struct{ q, d, w, b string }{
		{"rax", "eax", "ax", "al"}, {"rbx", "ebx", "bx", "bl"}, {"rcx", "ecx", "cx", "cl"}, {"rdx", "edx", "dx", "dl"},
		{"rsi", "esi", "si", "sil"}, {"rdi", "edi", "di", "dil"}, {"rbp", "ebp", "bp", "bpl"}, {"rsp", "esp", "sp", "spl"},
	} {
		m[r.q], m[r.d], m[r.w], m[r.b] = r.q, r.q, r.q, r.q
	}
	for i := 8; i <= 15; i++ {
		q := "r" + strconv.Itoa(i)
		m[q], m[q+"d"], m[q+"w"], m[q+"b"] = q, q, q, q
	}
	return m
}()

func register(name string) (string, error) {
	if r, ok := registers[name]; ok {
		return r, nil
	}
	switch name {
	case "ah", "bh", "ch", "dh":
		return "", fmt.Errorf("register %%%s: a high byte register, which usdt.bpf.h cannot read (it shifts from bit 0)", name)
	}
	return "", fmt.Errorf("register %%%s: not an x86-64 general purpose register", name)
}

// ptRegs are the offsets of the registers in the x86-64 struct pt_regs,
// as bpf_usdt_arg reads them from the program's context.
var ptRegs = map[string]int16{
	"r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56,
	"r9": 64, "r8": 72, "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112,
	"rip": 128, "rsp": 152,
}

// SpecSize is the size of struct __bpf_usdt_spec: 12 arguments of 16
// bytes, the USDT cookie, the count of arguments, padded to 8 bytes.
const SpecSize = MaxArgs*16 + 8 + 8

// Spec lays out args and cookie as usdt.bpf.h's struct __bpf_usdt_spec
// (libbpf 1.0 to 1.6), on a little-endian machine: for each argument, a
// struct __bpf_usdt_arg_spec of 16 bytes — val_off (u64: the constant or
// the offset), arg_type (u32: the Kind), reg_off (s16: the register's
// offset in struct pt_regs), arg_signed, and arg_bitshift (64 - 8 × size:
// how far bpf_usdt_arg shifts left and back to cut the value to its size,
// with its sign for a signed one); then usdt_cookie and arg_cnt. A SIB
// argument is an error: that usdt.bpf.h cannot read it.
func Spec(args []Arg, cookie uint64) ([]byte, error) {
	if len(args) > MaxArgs {
		return nil, fmt.Errorf("%d arguments, more than the %d a spec holds", len(args), MaxArgs)
	}
	b := make([]byte, SpecSize)
	for i, a := range args {
		if a.Symbol != "" {
			return nil, fmt.Errorf("argument %d %q: symbol %s is not resolved (usdt.Read resolves it)", i+1, a.Text, a.Symbol)
		}
		e := b[i*16:]
		binary.LittleEndian.PutUint64(e, uint64(a.Offset))
		typ := uint32(a.Kind)
		if a.Kind != Const {
			off, ok := ptRegs[a.Reg]
			if !ok {
				return nil, fmt.Errorf("argument %d %q: register %q has no place in struct pt_regs", i+1, a.Text, a.Reg)
			}
			binary.LittleEndian.PutUint16(e[12:], uint16(off))
		}
		if a.Kind == SIB {
			return nil, fmt.Errorf("argument %d %q: memory at base+index*scale, which usdt.bpf.h reads only from libbpf 1.7 on, in a layout waggle does not write", i+1, a.Text)
		}
		binary.LittleEndian.PutUint32(e[8:], typ)
		if a.Signed {
			e[14] = 1
		}
		if a.Size < 1 || a.Size > 8 {
			return nil, fmt.Errorf("argument %d %q: size %d", i+1, a.Text, a.Size)
		}
		e[15] = byte(64 - 8*a.Size)
	}
	binary.LittleEndian.PutUint64(b[MaxArgs*16:], cookie)
	binary.LittleEndian.PutUint16(b[MaxArgs*16+8:], uint16(len(args)))
	return b, nil
}

// Value is what bpf_usdt_arg gives for argument a, read from regs (a
// struct pt_regs) and mem (the process's memory): the reference the
// tests compare a program's results with.
func Value(a Arg, regs []byte, mem io.ReaderAt) (uint64, error) {
	reg := func(name string) (uint64, error) {
		off, ok := ptRegs[name]
		if !ok || int(off)+8 > len(regs) {
			return 0, fmt.Errorf("register %s: not in the %d bytes of registers", name, len(regs))
		}
		return binary.LittleEndian.Uint64(regs[off:]), nil
	}
	var v uint64
	switch a.Kind {
	case Const:
		v = uint64(a.Offset)
	case Reg:
		r, err := reg(a.Reg)
		if err != nil {
			return 0, err
		}
		v = r
	case RegDeref, SIB:
		addr, err := reg(a.Reg)
		if err != nil {
			return 0, err
		}
		if a.Kind == SIB {
			idx, err := reg(a.Index)
			if err != nil {
				return 0, err
			}
			addr += idx * uint64(a.Scale)
		}
		addr += uint64(a.Offset)
		var b [8]byte
		if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
			return 0, fmt.Errorf("argument %q: read %#x: %w", a.Text, addr, err)
		}
		v = binary.LittleEndian.Uint64(b[:])
	}
	shift := uint(64 - 8*a.Size)
	v <<= shift
	if a.Signed {
		return uint64(int64(v) >> shift), nil
	}
	return v >> shift, nil
}
