package symtab

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestAddress: a file offset becomes an address as the kernel places a
// uprobe: in the mapping of the file that covers it (testdata/maps.txt:
// a PIE executable whose path has a space, and libc).
func TestAddress(t *testing.T) {
	f, err := os.Open("testdata/maps.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	maps, err := ParseMaps(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 8 || maps[0].Path != "/tmp/my prog" || maps[6].Path != "" || maps[7].Path != "[stack]" || maps[4].Perms != "r-xp" || maps[4].Inode != 5678 {
		t.Fatalf("parsed %+v", maps)
	}
	for _, tc := range []struct {
		path string
		off  uint64
		want uint64
		err  string
	}{
		{"/tmp/my prog", 0x1139, 0x555555555139, ""},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0x98930, 0x7ffff7e18930, ""},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0x28000, 0x7ffff7da8000, ""},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", 0x300000, 0, "is mapped, but not its file offset 0x300000"},
		{"/usr/lib/libz.so.1", 0x1000, 0, "is not mapped in the process"},
	} {
		got, err := Address(maps, tc.path, tc.off)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %#x: %#x, %v; want an error saying %q", tc.path, tc.off, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %#x: %#x, %v; want %#x", tc.path, tc.off, got, err, tc.want)
		}
	}
	lib, err := FindLibrary(maps, "libc.so.6")
	if err != nil || lib != "/usr/lib/x86_64-linux-gnu/libc.so.6" {
		t.Errorf("FindLibrary libc.so.6: %q, %v", lib, err)
	}
	if lib, err := FindLibrary(maps, "libc"); err != nil || lib != "/usr/lib/x86_64-linux-gnu/libc.so.6" {
		t.Errorf("FindLibrary libc: %q, %v", lib, err)
	}
}

// TestResolve finds a function of this test binary (a Go binary, not
// position-independent: the symbol's value is the function's address).
func TestResolve(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := "github.com/waggle-ebpf/waggle/internal/symtab.ParseMaps"
	sym, err := Resolve(exe, name)
	if err != nil {
		t.Fatal(err)
	}
	if want := reflect.ValueOf(ParseMaps).Pointer(); sym.Value != uint64(want) || sym.Offset == 0 || sym.Size == 0 {
		t.Errorf("%s: %+v; want value %#x", name, sym, want)
	}
	if _, err := Resolve(exe, "no_such_function"); !errors.Is(err, ErrNoSymbol) {
		t.Errorf("no_such_function: %v; want ErrNoSymbol", err)
	}
	if _, err := Resolve("testdata/maps.txt", "f"); err == nil || !strings.Contains(err.Error(), "testdata/maps.txt") {
		t.Errorf("not an ELF file: %v", err)
	}
}
