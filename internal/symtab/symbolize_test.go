package symtab

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// symTestLoadedAt gives the mappings of the executable segments of the ELF file
// at path as the loader maps them at base.
func symTestLoadedAt(t *testing.T, path string, base uint64) []Mapping {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	var ms []Mapping
	for _, p := range ef.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		start := base + p.Vaddr&^0xfff
		ms = append(ms, Mapping{Start: start, End: base + p.Vaddr + p.Memsz, Offset: p.Off &^ 0xfff, Perms: "r-xp", Path: path})
	}
	return ms
}

// symTestELFAddr gives the address of function name in the ELF file.
func symTestELFAddr(t *testing.T, path, name string) uint64 {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, _ := ef.Symbols()
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("%s has no symbol %s", path, name)
	return 0
}

// TestSymbolizeC builds a C program (PIE and not, stripped of .symtab
// or not) with gcc, maps it at a base as the loader would, and
// symbolises addresses inside its functions.
func TestSymbolizeC(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("skipped: gcc is not installed; it builds the C program to symbolise")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	code := "__attribute__((noinline)) int hot(int x) { return x * 3 + 1; }\n" +
		"__attribute__((noinline, visibility(\"default\"))) int exported(int x) { return hot(x) + 2; }\n" +
		"int main(int argc, char **argv) { return exported(argc); }\n"
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		flags []string
		base  uint64
		// the functions found through .dynsym alone after stripping
		dyn []string
	}{
		{"pie", []string{"-O1", "-pie", "-fPIE", "-rdynamic"}, 0x55d0c8a00000, []string{"exported", "hot", "main"}},
		{"static-address", []string{"-O1", "-no-pie"}, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := filepath.Join(dir, c.name)
			args := append(append([]string{}, c.flags...), "-o", bin, src)
			if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
				t.Fatalf("gcc: %v\n%s", err, out)
			}
			addrs := map[string]uint64{}
			for _, fn := range []string{"hot", "exported", "main"} {
				addrs[fn] = symTestELFAddr(t, bin, fn)
			}
			s := NewSymbolizer(symTestLoadedAt(t, bin, c.base), nil)
			for fn, a := range addrs {
				f := s.Symbolize(c.base + a + 1)
				if f.Func != fn || f.Offset != 1 || f.Module != bin {
					t.Errorf("%s+1 at %#x: got %+v (%s), want %s+1 in %s", fn, c.base+a+1, f, f, fn, bin)
				}
			}
			if f := s.Symbolize(0x10); f.String() != "[unknown]" || f.Module != "" {
				t.Errorf("an unmapped address gave %+v", f)
			}
			if c.dyn == nil {
				return
			}
			stripped := bin + ".stripped"
			if out, err := exec.Command("strip", "-o", stripped, bin).CombinedOutput(); err != nil {
				t.Skipf("skipped the stripped case: strip: %v\n%s", err, out)
			}
			s = NewSymbolizer(symTestLoadedAt(t, stripped, c.base), nil)
			for _, fn := range c.dyn {
				if f := s.Symbolize(c.base + addrs[fn]); f.Func != fn {
					t.Errorf("stripped: %s at %#x: got %s, want it from .dynsym", fn, c.base+addrs[fn], f)
				}
			}
		})
	}
}

//go:noinline
func symTestTarget() int { return 42 }

// TestSymbolizeGo symbolises functions of this very test binary (a Go
// program, through .gopclntab) from its own mappings.
func TestSymbolizeGo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: /proc/self/maps is Linux's")
	}
	ms, err := ReadMaps(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSymbolizer(ms, nil)
	cases := []struct {
		fn   any
		name string
	}{
		{symTestTarget, "github.com/waggle-ebpf/waggle/internal/symtab.symTestTarget"},
		{TestSymbolizeGo, "github.com/waggle-ebpf/waggle/internal/symtab.TestSymbolizeGo"},
		{strings.ToUpper, "strings.ToUpper"},
	}
	for _, c := range cases {
		pc := uint64(reflect.ValueOf(c.fn).Pointer())
		f := s.Symbolize(pc + 2)
		if f.Func != c.name || f.Offset != 2 {
			t.Errorf("%#x+2: got %+v, want %s+2", pc, f, c.name)
		}
	}
	if _, err := ReadMaps(-1); err == nil {
		t.Error("ReadMaps(-1) succeeded")
	}
}

// TestOpenFileErrors checks that a file that is not ELF is an error that
// names it, and that a Symbolizer then gives the module and offset.
func TestOpenFileErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-elf")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("OpenFile(not ELF) = %v, want an error naming the file", err)
	}
	s := NewSymbolizer([]Mapping{{Start: 0x1000, End: 0x2000, Offset: 0x3000, Perms: "r-xp", Path: path}}, nil)
	if got := s.Symbolize(0x1010).String(); got != "not-elf+0x3010" {
		t.Errorf("got %s, want not-elf+0x3010", got)
	}
}
