package waggle_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
)

// objectPath is the path of a file of testdata/objects.
func objectPath(name string) string {
	return filepath.Join("testdata", "objects", name)
}

// readObject reads a file of testdata/objects.
func readObject(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(objectPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadFile is the error of LoadCollectionSpec on a file of
// testdata/objects.
func loadFile(name string) func(*testing.T) error {
	return func(*testing.T) error {
		_, err := waggle.LoadCollectionSpec(objectPath(name))
		return err
	}
}

// loadBytes is the error of LoadCollectionSpecFromReader on the bytes that
// mk returns.
func loadBytes(mk func(*testing.T) []byte) func(*testing.T) error {
	return func(t *testing.T) error {
		_, err := waggle.LoadCollectionSpecFromReader(bytes.NewReader(mk(t)))
		return err
	}
}

// truncated is valid.o cut to n bytes; n < 0 cuts -n bytes off its end.
func truncated(n int) func(*testing.T) []byte {
	return func(t *testing.T) []byte {
		b := readObject(t, "valid.o")
		if n < 0 {
			return b[:len(b)+n]
		}
		return b[:n]
	}
}

// truncatedHalf is the first half of valid.o.
func truncatedHalf(t *testing.T) []byte {
	b := readObject(t, "valid.o")
	return b[:len(b)/2]
}

// patched is valid.o with patch applied to a copy of its bytes; patch gets
// the parsed original to find the offsets of its headers.
func patched(patch func(b []byte, f *elf.File)) func(*testing.T) []byte {
	return func(t *testing.T) []byte {
		b := readObject(t, "valid.o")
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Clone(b)
		patch(b, f)
		return b
	}
}

// Offsets in an Elf64_Ehdr and an Elf64_Shdr.
const (
	ehdrShoff    = 0x28
	ehdrShnum    = 0x3c
	ehdrShstrndx = 0x3e
	shdrSize     = 64
	shdrOffset   = 0x18
	shdrSizeOff  = 0x20
)

// sectionHeader returns the bytes of the header of section name in b.
func sectionHeader(b []byte, f *elf.File, name string) []byte {
	shoff := binary.LittleEndian.Uint64(b[ehdrShoff:])
	for i, s := range f.Sections {
		if s.Name == name {
			return b[shoff+uint64(i)*shdrSize:][:shdrSize]
		}
	}
	panic("valid.o has no section " + name)
}

// sectionIndex is the index of section name in valid.o.
func sectionIndex(t *testing.T, name string) int {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(readObject(t, "valid.o")))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range f.Sections {
		if s.Name == name {
			return i
		}
	}
	t.Fatalf("valid.o has no section %s", name)
	return 0
}

// newCollection is the error of NewCollection on an object of
// testdata/objects that LoadCollectionSpec must read, after edit (if not
// nil) changed its spec.
func newCollection(name string, edit func(*ebpf.CollectionSpec)) func(*testing.T) error {
	return func(t *testing.T) error {
		spec, err := waggle.LoadCollectionSpec(objectPath(name))
		if err != nil {
			t.Fatalf("LoadCollectionSpec: %v", err)
		}
		if edit != nil {
			edit(spec)
		}
		coll, err := waggle.NewCollection(spec)
		if err == nil {
			coll.Close()
		}
		return err
	}
}

// runProgram is the error of a run of program prog of an object of
// testdata/objects, which NewCollection must load without the verifier
// (that is, with only the checked interpreter to protect the host); the
// error must be a *MemoryFault.
func runProgram(name, prog string) func(*testing.T) error {
	return func(t *testing.T) error {
		spec, err := waggle.LoadCollectionSpec(objectPath(name))
		if err != nil {
			t.Fatalf("LoadCollectionSpec: %v", err)
		}
		coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{SkipVerification: true})
		if err != nil {
			t.Fatalf("NewCollection: %v", err)
		}
		defer coll.Close()
		_, err = coll.Programs[prog].Run(&waggle.RunOptions{Data: make([]byte, 64)})
		var fault *waggle.MemoryFault
		if err != nil && !errors.As(err, &fault) {
			t.Errorf("the error is not a *MemoryFault: %#v", err)
		}
		return err
	}
}

// TestLoadErrors: every bad object, and every bad use of a good one, gives
// an error that says what is wrong and where (file, section, map, program,
// instruction), and never a panic. In the expected substrings, {size} is
// valid.o's size and {.strtab} the index of its section name table.
func TestLoadErrors(t *testing.T) {
	size := len(readObject(t, "valid.o"))
	expand := strings.NewReplacer(
		"{size}", strconv.Itoa(size),
		"{size+4096}", strconv.Itoa(size+4096),
		"{.strtab}", strconv.Itoa(sectionIndex(t, ".strtab")),
	).Replace
	for _, tc := range []struct {
		name  string
		err   func(*testing.T) error
		wants []string
	}{
		// Not ELF at all.
		{"text file", loadFile("not_elf.txt"),
			[]string{"not_elf.txt", "not an ELF object", `starts with "This"`}},
		{"empty file", loadFile("empty.o"),
			[]string{"empty.o", "not an ELF object", "the file is empty"}},
		{"random bytes", loadFile("random.o"),
			[]string{"random.o", "not an ELF object", `not "\x7fELF"`}},
		{"missing file", loadFile("no_such_file.o"),
			[]string{"no_such_file.o", "no such file"}},

		// ELF, but not eBPF.
		{"x86-64 object", loadFile("host.o"),
			[]string{"host.o", "unexpected machine type", "EM_X86_64"}},

		// valid.o cut short, in the ELF header and in the section headers
		// (clang writes them last).
		{"truncated to 4 bytes", loadBytes(truncated(4)),
			[]string{"truncated ELF object", "ends at byte 4, inside the 64-byte ELF header"}},
		{"truncated to 63 bytes", loadBytes(truncated(63)),
			[]string{"truncated ELF object", "ends at byte 63, inside the 64-byte ELF header"}},
		{"truncated to 64 bytes", loadBytes(truncated(64)),
			[]string{"truncated or corrupt ELF object", "section headers, at bytes [", "past the end of the file"}},
		{"truncated to 1000 bytes", loadBytes(truncated(1000)),
			[]string{"truncated or corrupt ELF object", "section headers, at bytes [", "past the end of the file"}},
		{"truncated to half", loadBytes(truncatedHalf),
			[]string{"truncated or corrupt ELF object", "section headers", "past the end of the file"}},
		{"truncated by 1 byte", loadBytes(truncated(-1)),
			[]string{"truncated or corrupt ELF object", "section headers", "past the end of the file"}},

		// Headers that point past the end.
		{"section header table past the end", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint64(b[ehdrShoff:], uint64(len(b))+4096)
		})), []string{"truncated or corrupt ELF object", "section headers, at bytes [{size+4096}, ", "past the end of the file"}},
		{"too many section headers", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint16(b[ehdrShnum:], 0xffff)
		})), []string{"truncated or corrupt ELF object", "its 65535 section headers", "past the end of the file"}},
		{"program section past the end", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint64(sectionHeader(b, f, "xdp")[shdrOffset:], uint64(len(b))+100)
		})), []string{"truncated or corrupt ELF object", "(xdp), at bytes [", "is past the end of the file"}},
		{"program section longer than the file", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint64(sectionHeader(b, f, "xdp")[shdrSizeOff:], uint64(len(b)))
		})), []string{"truncated or corrupt ELF object", "(xdp), at bytes [64, ", "is past the end of the file"}},
		{"section size overflows", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint64(sectionHeader(b, f, ".BTF")[shdrSizeOff:], 1<<63)
		})), []string{"truncated or corrupt ELF object", "(.BTF), at bytes [", "is past the end of the file"}},
		{"section name table past the end", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint64(sectionHeader(b, f, ".strtab")[shdrOffset:], uint64(len(b)))
		})), []string{"truncated or corrupt ELF object", "section {.strtab} (the section name table), at bytes [{size}, ", "is past the end of the file"}},
		{"debug section past the end", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint64(sectionHeader(b, f, ".debug_info")[shdrOffset:], 1<<40)
		})), []string{"truncated or corrupt ELF object", "(.debug_info), at bytes [1099511627776, ", "is past the end of the file"}},
		{"section name table index out of range", loadBytes(patched(func(b []byte, f *elf.File) {
			binary.LittleEndian.PutUint16(b[ehdrShstrndx:], 200)
		})), []string{"invalid ELF shstrndx '200'"}},

		// eBPF objects with something waggle does not have.
		{"CPUMAP", newCollection("cpumap.o", nil),
			[]string{`map "cpu_redirect"`, "map type CPUMap is not supported"}},
		{"SOCKMAP", newCollection("sockmap.o", nil),
			[]string{`map "socks"`, "map type SockMap is not supported"}},
		{"helper the program type may not call", newCollection("helper_wrong_type.o", nil),
			[]string{"program sock_adjust (section socket)", "instruction 1", "bpf_xdp_adjust_head (helper 44)", "SocketFilter programs may not call"}},
		{"helper waggle lacks", newCollection("helper_missing.o", nil),
			[]string{"program tc_vlan_push (section tc)", "instruction 2", "bpf_skb_vlan_push (helper 18)", "waggle does not implement"}},
		{"kfunc", newCollection("kfunc.o", nil),
			[]string{"program tc_kfunc (section tc)", "instruction 3", "kernel function (kfunc bpf_kfunc_call_test1)", "waggle does not support"}},
		{"LSM program", newCollection("lsm.o", nil),
			[]string{"program lsm_file_open (section lsm/file_open)", "waggle cannot run programs of type LSM"}},
		{"struct_ops", loadFile("struct_ops.o"),
			[]string{"struct_ops.o", `section ".struct_ops"`, "not supported"}},

		{"map larger than half the memory", func(t *testing.T) error {
			if mem := memTotal(t); mem >= 1<<36 {
				t.Skipf("the machine has %d bytes of memory: a 32 GiB map fits", mem)
			}
			return newCollection("huge_map.o", nil)(t)
		}, []string{`map "huge"`, `map "huge" (Array)`, "32768 entries of 1048576 bytes need 34359739392 bytes of memory, more than the",
			"memory limit of the maps of this process ("}},

		// References that nothing resolves.
		{"extern map", newCollection("unresolved_map.o", nil),
			[]string{"program xdp_unresolved_map (section xdp)", "instruction 4", `refers to "elsewhere"`, "does not define"}},
		{"extern function", newCollection("unresolved_func.o", nil),
			[]string{"program xdp_unresolved_func (section xdp)", "insn 1", `symbol "elsewhere"`, "unsatisfied program reference"}},
		{"map removed from the spec", newCollection("valid.o", func(spec *ebpf.CollectionSpec) { delete(spec.Maps, "counts") }),
			[]string{"program xdp_count (section xdp)", "instruction ", `refers to map "counts"`, "does not define"}},
		{"global data removed from the spec", newCollection("valid.o", func(spec *ebpf.CollectionSpec) { delete(spec.Maps, ".rodata") }),
			[]string{"program xdp_count (section xdp)", "instruction ", `refers to map ".rodata"`, "does not define"}},

		// Loads, and fails when it runs or when Go uses it.
		{".rodata write refused by the verifier", newCollection("rodata_write.o", nil),
			[]string{"program xdp_rodata_write (section xdp)", "the verifier refuses it", "instruction 4", "rodata_write.c:18", "map .rodata is read-only for programs"}},
		{".rodata write without the verifier", runProgram("rodata_write.o", "xdp_rodata_write"),
			[]string{`run program "xdp_rodata_write"`, "instruction 5 (*(u32 *)(r2 + 0x0) = r1)", "write of 4 bytes", "is read-only"}},
		{"Map.Lookup with a wrong key size", func(t *testing.T) error {
			spec, err := waggle.LoadCollectionSpec(objectPath("valid.o"))
			if err != nil {
				t.Fatal(err)
			}
			coll, err := waggle.NewCollection(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()
			var v uint64
			return coll.Maps["counts"].Lookup(uint64(0), &v)
		}, []string{"lookup: map counts", "key uint64 is 8 bytes, the map's key size is 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err(t)
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("error: %v", err)
			for _, want := range tc.wants {
				if want = expand(want); !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// memTotal is the machine's memory, from /proc/meminfo.
func memTotal(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skip(err)
	}
	for line := range strings.Lines(string(b)) {
		var kb uint64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	t.Skip("no MemTotal in /proc/meminfo")
	return 0
}

// TestValidObject: valid.o, from which TestLoadErrors makes its truncated
// and patched objects, loads and runs.
func TestValidObject(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec(objectPath("valid.o"))
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	ret, err := coll.Programs["xdp_count"].Run(&waggle.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if ret != 2 { // XDP_PASS
		t.Errorf("return value %d, want 2 (XDP_PASS)", ret)
	}
	var n uint64
	if err := coll.Maps["counts"].Lookup(uint32(0), &n); err != nil || n != 1 {
		t.Errorf("counts[0] = %d, %v; want 1", n, err)
	}
}
