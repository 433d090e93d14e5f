package usdt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/proctest"
)

// argCase is a case of testdata/args.json: an argument string and the
// arguments it holds, or the error it makes.
type argCase struct {
	Name string
	Args string
	Want []Arg
	Err  string
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestParseArgs(t *testing.T) {
	var cases []argCase
	readJSON(t, "testdata/args.json", &cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := ParseArgs(c.Args)
			if c.Err != "" {
				if err == nil || !strings.Contains(err.Error(), c.Err) {
					t.Fatalf("ParseArgs(%q) = %v, %v; want an error with %q", c.Args, got, err, c.Err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", c.Args, err)
			}
			if !reflect.DeepEqual(got, c.Want) {
				t.Errorf("ParseArgs(%q) =\n%+v\nwant\n%+v", c.Args, got, c.Want)
			}
		})
	}
}

// noteCase is a case of testdata/notes.json: a .note.stapsdt section
// and its notes, or the error it makes.
type noteCase struct {
	Name string
	Hex  string
	Want []Note
	Err  string
}

func TestParseNotes(t *testing.T) {
	var cases []noteCase
	readJSON(t, "testdata/notes.json", &cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			data, err := hex.DecodeString(c.Hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseNotes(data, elf.ELFCLASS64, binary.LittleEndian)
			if c.Err != "" {
				if err == nil || !strings.Contains(err.Error(), c.Err) {
					t.Fatalf("ParseNotes = %v, %v; want an error with %q", got, err, c.Err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.Want) {
				t.Errorf("ParseNotes =\n%+v\nwant\n%+v", got, c.Want)
			}
		})
	}
}

// TestSpec checks the layout of struct __bpf_usdt_spec byte by byte.
func TestSpec(t *testing.T) {
	args, err := ParseArgs("-4@%edi 8@-16(%rbp) 4@$5 1@%r15b -8@8(%rip)")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Spec(args, 0x1122334455667788)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 208 {
		t.Fatalf("spec of %d bytes, want 208", len(b))
	}
	type entry struct {
		valOff uint64
		typ    uint32
		regOff int16
		signed byte
		shift  byte
	}
	want := []entry{{0, 1, 112, 1, 32}, {^uint64(15), 2, 32, 0, 0}, {5, 0, 0, 0, 32}, {0, 1, 0, 0, 56}, {8, 2, 128, 1, 0}}
	for i, w := range want {
		e := b[i*16:]
		got := entry{binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint32(e[8:]), int16(binary.LittleEndian.Uint16(e[12:])), e[14], e[15]}
		if got != w {
			t.Errorf("argument %d: %+v, want %+v", i+1, got, w)
		}
	}
	if !bytes.Equal(b[5*16:192], make([]byte, 192-5*16)) {
		t.Error("the unused arguments are not zero")
	}
	if c := binary.LittleEndian.Uint64(b[192:]); c != 0x1122334455667788 {
		t.Errorf("usdt_cookie %#x", c)
	}
	if n := binary.LittleEndian.Uint16(b[200:]); n != 5 {
		t.Errorf("arg_cnt %d, want 5", n)
	}
	sib, _ := ParseArgs("8@(%rax,%rbx,8)")
	if _, err := Spec(sib, 0); err == nil || !strings.Contains(err.Error(), `argument 1 "8@(%rax,%rbx,8)": memory at base+index*scale`) {
		t.Errorf("Spec of a SIB argument: %v", err)
	}
	sym, _ := ParseArgs("8@x(%rip)")
	if _, err := Spec(sym, 0); err == nil || !strings.Contains(err.Error(), "symbol x is not resolved") {
		t.Errorf("Spec of an unresolved symbol: %v", err)
	}
}

// memAt is memory at an address, for Value.
type memAt struct {
	base uint64
	data []byte
}

func (m memAt) ReadAt(p []byte, off int64) (int, error) {
	i := uint64(off) - m.base
	if uint64(off) < m.base || i+uint64(len(p)) > uint64(len(m.data)) {
		return 0, os.ErrNotExist
	}
	return copy(p, m.data[i:]), nil
}

func TestValue(t *testing.T) {
	regs := make([]byte, 21*8)
	binary.LittleEndian.PutUint64(regs[112:], 0xffffffff_fffffffe) // rdi
	binary.LittleEndian.PutUint64(regs[32:], 0x1010)               // rbp
	binary.LittleEndian.PutUint64(regs[40:], 2)                    // rbx
	mem := memAt{base: 0x1000, data: make([]byte, 64)}
	binary.LittleEndian.PutUint64(mem.data[0:], 0x80_0000_00ff) // at 0x1000
	binary.LittleEndian.PutUint64(mem.data[8:], 0xdead)         // at 0x1008
	for _, c := range []struct {
		arg  string
		want uint64
	}{
		{"-4@%edi", ^uint64(1)}, {"4@%edi", 0xfffffffe}, {"1@%dil", 0xfe}, {"-1@%dil", ^uint64(1)},
		{"8@-16(%rbp)", 0x80_0000_00ff}, {"-1@-16(%rbp)", ^uint64(0)}, {"2@-16(%rbp)", 0xff},
		{"4@$-9", 0xfffffff7}, {"-4@$-9", ^uint64(8)}, {"8@(%rbp,%rbx,4)", 0}, {"8@-16(%rbp,%rbx,4)", 0xdead},
	} {
		a, err := ParseArgs(c.arg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Value(a[0], regs, mem)
		if err != nil || got != c.want {
			t.Errorf("Value(%s) = %#x, %v; want %#x", c.arg, got, err, c.want)
		}
	}
}

// TestReadFile reads the notes of testdata/usdt/target.c built by gcc:
// every site is a nop at its file offset, every semaphore in .probes,
// the symbol of gated_value(%rip) resolved relative to the site.
func TestReadFile(t *testing.T) {
	for _, opt := range []string{"-O0", "-O2"} {
		t.Run(opt, func(t *testing.T) {
			bin := proctest.BuildSDT(t, "../../testdata/usdt/target.c", opt, "-pthread")
			sites, err := ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			probes := f.Section(".probes")
			syms, _ := f.Symbols()
			var gated uint64
			for _, s := range syms {
				if s.Name == "gated_value" {
					gated = s.Value
				}
			}
			names := map[string]int{}
			for _, s := range sites {
				names[s.Provider+":"+s.Name]++
				if raw[s.Offset] != 0x90 {
					t.Errorf("%s: the byte at file offset %#x is %#x, not a nop", s.Note, s.Offset, raw[s.Offset])
				}
				if s.Semaphore < probes.Addr || s.Semaphore >= probes.Addr+probes.Size || s.SemaphoreOffset != s.Semaphore-probes.Addr+probes.Offset {
					t.Errorf("%s: semaphore %#x at file offset %#x, not in .probes (%#x at %#x)", s.Note, s.Semaphore, s.SemaphoreOffset, probes.Addr, probes.Offset)
				}
				for _, a := range s.Arguments {
					if a.Symbol != "" {
						t.Errorf("%s: argument %q: symbol %s left", s.Note, a.Text, a.Symbol)
					}
					if a.Reg == "rip" && uint64(a.Offset)+s.Addr != gated {
						t.Errorf("%s: argument %q: %#x from the site, want gated_value %#x", s.Note, a.Text, a.Offset, gated)
					}
				}
				if _, err := Spec(s.Arguments, 0); err != nil {
					t.Errorf("%s: %v", s.Note, err)
				}
			}
			if names["waggle:tick"] == 0 || names["waggle:gated"] != 1 {
				t.Errorf("probes %v; want waggle:tick and one waggle:gated", names)
			}
			if _, err := Find(sites, "waggle", "tock"); err == nil || !strings.Contains(err.Error(), "no USDT probe waggle:tock (the file has waggle:") {
				t.Errorf("Find of a missing probe: %v", err)
			}
			if got, err := Find(sites, "waggle", "gated"); err != nil || len(got) != 1 {
				t.Errorf("Find(waggle:gated) = %v, %v", got, err)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	if _, err := ReadFile("testdata/missing"); err == nil || !strings.Contains(err.Error(), "read the USDT notes of testdata/missing") {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := ReadFile("testdata/args.json"); err == nil || !strings.Contains(err.Error(), "read the USDT notes of testdata/args.json") {
		t.Errorf("not an ELF file: %v", err)
	}
	if _, err := ReadFile("testdata"); err == nil || !strings.Contains(err.Error(), "read the USDT notes of testdata: ") || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sites, err := ReadFile(self)
	if err != nil || len(sites) != 0 {
		t.Errorf("a Go test binary: %v, %v; want no sites", sites, err)
	}
	if _, err := Find(sites, "a", "b"); err == nil || !strings.Contains(err.Error(), "the file has no USDT probes") {
		t.Errorf("Find in no sites: %v", err)
	}
}

// TestReadPrelinked: a file moved after its notes were made (prelink)
// has .stapsdt.base elsewhere than the notes say; the sites move by as
// much. Here the notes of a gcc-built target are rewritten as if made
// 0x100 bytes lower: Read gives the same sites as from the original,
// gated_value(%rip) at the same distance from the site.
func TestReadPrelinked(t *testing.T) {
	bin := proctest.BuildSDT(t, "../../testdata/usdt/target.c", "-O2", "-pthread")
	want, err := ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".note.stapsdt")
	f.Close()
	// Each note: 12-byte header, "stapsdt\0", then location, base and
	// semaphore.
	data := raw[sec.Offset : sec.Offset+sec.Size]
	for off := 0; off+12 <= len(data); {
		nameSz, descSz := binary.LittleEndian.Uint32(data[off:]), binary.LittleEndian.Uint32(data[off+4:])
		desc := off + 12 + int(align4(uint64(nameSz)))
		for i := range 3 {
			p := data[desc+8*i:]
			if v := binary.LittleEndian.Uint64(p); v != 0 {
				binary.LittleEndian.PutUint64(p, v-0x100)
			}
		}
		off = desc + int(align4(uint64(descSz)))
	}
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.WriteFile(moved, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(moved)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d sites, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Location != w.Location-0x100 || g.Addr != w.Addr || g.Offset != w.Offset || g.Semaphore != w.Semaphore || g.SemaphoreOffset != w.SemaphoreOffset ||
			!reflect.DeepEqual(g.Arguments, w.Arguments) {
			t.Errorf("site %d: %+v, want the addresses of %+v", i, g, w)
		}
	}
}

// TestReadOneBadProbe: a probe that cannot be read (here the gated
// probe's first argument rewritten to size 3) fails only the probe, when
// it is asked for, not the file: its other probes are still there, as
// libbpf parses only the notes of the probe it attaches (a library with
// one probe of, say, an %xmm argument has others to trace).
func TestReadOneBadProbe(t *testing.T) {
	bin := proctest.BuildSDT(t, "../../testdata/usdt/target.c", "-O2", "-pthread")
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".note.stapsdt")
	f.Close()
	data := raw[sec.Offset : sec.Offset+sec.Size]
	patched := false
	for off := 0; off+12 <= len(data); {
		nameSz, descSz := binary.LittleEndian.Uint32(data[off:]), binary.LittleEndian.Uint32(data[off+4:])
		desc := off + 12 + int(align4(uint64(nameSz)))
		strs := bytes.SplitN(data[desc+24:desc+int(descSz)], []byte{0}, 3)
		if string(strs[1]) == "gated" {
			args := desc + 24 + len(strs[0]) + 1 + len(strs[1]) + 1
			if data[args] == '-' {
				args++
			}
			data[args] = '3'
			patched = true
		}
		off = desc + int(align4(uint64(descSz)))
	}
	if !patched {
		t.Fatal("no waggle:gated note to rewrite")
	}
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	sites, err := ReadFile(bad)
	if err != nil {
		t.Fatalf("ReadFile: %v; want the file read, its bad probe failing only when asked for", err)
	}
	if got, err := Find(sites, "waggle", "tick"); err != nil || len(got) == 0 {
		t.Errorf("Find(waggle:tick) = %v, %v; want its sites", got, err)
	}
	if _, err := Find(sites, "waggle", "gated"); err == nil || !strings.Contains(err.Error(), "probe waggle:gated at ") || !strings.Contains(err.Error(), "want 1, 2, 4 or 8 bytes") {
		t.Errorf("Find(waggle:gated): %v; want its argument's error", err)
	}
}

// TestFindLongList: a missing probe of a file with many probes (a JVM's
// libjvm.so has hundreds) lists the first few and how many more, not
// all of them.
func TestFindLongList(t *testing.T) {
	var sites []Site
	for i := range 100 {
		sites = append(sites, Site{Note: Note{Provider: "p", Name: "probe" + strconv.Itoa(i)}})
	}
	_, err := Find(sites, "p", "missing")
	want := "no USDT probe p:missing (the file has p:probe0, p:probe1, p:probe2, p:probe3, p:probe4, p:probe5, p:probe6, p:probe7, p:probe8, p:probe9 and 90 more)"
	if err == nil || err.Error() != want {
		t.Errorf("Find: %v\nwant %s", err, want)
	}
}
