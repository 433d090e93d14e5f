package conformance

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/isa"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		data string
		want Test // Name and Program are checked apart
		prog isa.Instructions
	}{
		{
			name: "asm and result",
			data: "# Copyright\n-- asm\nmov %r0, 1 # one\nexit\n-- result\n0x1\n",
			want: Test{Result: 1, HasResult: true},
			prog: isa.Instructions{{Opcode: 0xb7, Imm: 1}, {Opcode: 0x95}},
		},
		{
			name: "decimal result and memory",
			data: "-- asm\nldxb %r0, [%r1]\nexit\n-- mem\n00 01\n  ff 0a  \n\n-- result\n42\n",
			want: Test{Result: 42, HasResult: true, Mem: []byte{0, 1, 0xff, 0x0a}},
			prog: isa.Instructions{{Opcode: 0x71, Src: 1}, {Opcode: 0x95}},
		},
		{
			name: "raw wins over asm",
			data: "-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000002000000b7\n149\n-- result\n0x2\n",
			want: Test{Result: 2, HasResult: true},
			prog: isa.Instructions{{Opcode: 0xb7, Imm: 2}, {Opcode: 0x95}},
		},
		{
			name: "raw only",
			data: "-- raw\n0x5566778800000018\n0x1122334400000000\n0x0000000000000095\n-- result\n0x1122334455667788\n",
			want: Test{Result: 0x1122334455667788, HasResult: true},
			prog: isa.Instructions{{Opcode: 0x18, Imm: 0x1122334455667788}, {Opcode: 0x95}},
		},
		{
			name: "error",
			data: "-- asm\nja +0\nexit\n-- error\nunreachable # comment\n  instruction\n",
			want: Test{Error: "unreachable\ninstruction"},
			prog: isa.Instructions{{Opcode: 0x05}, {Opcode: 0x95}},
		},
		{
			name: "ignored sections",
			data: "-- c\n#include <x.h>\nint f() { return i--; }\n-- c-- garbage\n-- asm\nexit\n-- no register offset\ncall instruction\n-- result\n0xffffffffffffffff\n",
			want: Test{Result: 0xffffffffffffffff, HasResult: true},
			prog: isa.Instructions{{Opcode: 0x95}},
		},
		{
			name: "negative decimal result",
			data: "-- asm\nexit\n-- result\n-1\n",
			want: Test{Result: 0xffffffffffffffff, HasResult: true},
			prog: isa.Instructions{{Opcode: 0x95}},
		},
		{
			name: "empty asm, empty mem",
			data: "--   asm\n-- mem\n-- result\n0\n",
			want: Test{HasResult: true, Mem: []byte{}},
			prog: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.name, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.name {
				t.Errorf("Name = %q", got.Name)
			}
			if got.Result != tt.want.Result || got.HasResult != tt.want.HasResult || got.Error != tt.want.Error {
				t.Errorf("result %#x %v error %q, want %#x %v %q", got.Result, got.HasResult, got.Error,
					tt.want.Result, tt.want.HasResult, tt.want.Error)
			}
			if !bytes.Equal(got.Mem, tt.want.Mem) || (got.Mem == nil) != (tt.want.Mem == nil) {
				t.Errorf("Mem = %#v, want %#v", got.Mem, tt.want.Mem)
			}
			if !bytes.Equal(got.Program.Encode(), tt.prog.Encode()) {
				t.Errorf("Program =\n%s\nwant\n%s", got.Program.Format(isa.SyntaxLLVM), tt.prog.Format(isa.SyntaxLLVM))
			}
		})
	}
}

// TestParseKeepsLines checks that Asm keeps the file's line numbers, so that
// assembly errors name the line of the file.
func TestParseKeepsLines(t *testing.T) {
	data := "# header\n# more\n-- asm\nmov %r0, 1\nbogus\n-- result\n0x1\n"
	_, err := Parse("f", []byte(data))
	if err == nil || err.Error() != `f: line 5: unknown mnemonic "bogus"` {
		t.Fatalf("error = %v, want the file's line 5", err)
	}
	got, err := Parse("f", []byte("-- raw\n0x95\n-- asm\nmov %r0, 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Asm != "\n\n\nmov %r0, 1\n" {
		t.Errorf("Asm = %q", got.Asm)
	}
	if !bytes.Equal(got.Raw, binary.LittleEndian.AppendUint64(nil, 0x95)) {
		t.Errorf("Raw = %x", got.Raw)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		data string
		want string
	}{
		{"-- result\n1\n", "t: no program: the file has neither an asm nor a raw section"},
		{"exit\n-- asm\nexit\n", `t: line 1: text before the first section: "exit"`},
		{"-- asm\nexit\n-- asm\nexit\n", `t: line 3: second "-- asm" section`},
		{"-- asm\nexit\n-- results\n1\n", `t: line 3: unknown section "-- results"`},
		{"-- asm\nexit\n-- result\n1\n2\n", "t: the result section holds 2 values, want 1"},
		{"-- asm\nexit\n-- result\n", "t: the result section holds 0 values, want 1"},
		{"-- asm\nexit\n-- result\n0xg\n", `t: line 4: result: strconv.ParseUint: parsing "g": invalid syntax`},
		{"-- asm\nexit\n-- mem\n00 123\n", `t: line 4: memory byte "123" is not a hexadecimal byte`},
		{"-- asm\nexit\n-- mem\nzz\n", `t: line 4: memory byte "zz" is not a hexadecimal byte`},
		{"-- raw\n0x18\n", "t: raw section: decode bytecode: slot 0 (byte offset 0): lddw is missing its second slot"},
		{"-- raw\nnope\n", `t: line 2: raw slot: strconv.ParseUint: parsing "nope": invalid syntax`},
		{"-- asm\nja nowhere\n", `t: line 2: label "nowhere" is not defined`},
	}
	for _, tt := range tests {
		_, err := Parse("t", []byte(tt.data))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %q", tt.data, err, tt.want)
		}
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.data":     "-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n",
		"a.data":     "-- asm\nexit\n-- result\n0x0\n",
		"bad.data":   "-- asm\nfoo\n",
		"worse.data": "-- result\n1\n",
		"notes.txt":  "not a test",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests, err := LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), `bad: line 2: unknown mnemonic "foo"`) || !strings.Contains(err.Error(), "worse: no program") {
		t.Errorf("LoadDir error = %v, want both bad files named", err)
	}
	if len(tests) != 2 || tests[0].Name != "a" || tests[1].Name != "b" {
		t.Errorf("LoadDir loaded %d tests, want a and b in order", len(tests))
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDir of a missing folder succeeded")
	}
}

func TestDirFrom(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"repo/go.mod":                "// comment\nmodule github.com/waggle-ebpf/waggle\n\ngo 1.26\n",
		"repo/internal/pkg/x.go":     "package pkg\n",
		"repo/examples/other/go.mod": "module example.com/other\n",
		"repo/examples/other/deep/x": "",
		"quoted/go.mod":              "module \"github.com/waggle-ebpf/waggle\"\n",
		"quoted/a/x":                 "",
		"elsewhere/go.mod":           "module github.com/waggle-ebpf/waggle2\n",
		"elsewhere/a/x":              "",
	}
	for name, text := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		start, want string // want "" for an error
	}{
		{"repo", "repo/testdata/conformance"},
		{"repo/internal/pkg", "repo/testdata/conformance"},
		{"repo/examples/other/deep", "repo/testdata/conformance"}, // past another module's go.mod
		{"quoted/a", "quoted/testdata/conformance"},
		{"elsewhere/a", ""},
	} {
		got, err := dirFrom(filepath.Join(root, filepath.FromSlash(tc.start)))
		if tc.want == "" {
			if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "elsewhere", "go.mod")) {
				t.Errorf("dirFrom(%s) = %q, %v; want an error naming the places looked at", tc.start, got, err)
			}
			continue
		}
		if want := filepath.Join(root, filepath.FromSlash(tc.want)); err != nil || got != want {
			t.Errorf("dirFrom(%s) = %q, %v; want %q", tc.start, got, err, want)
		}
	}
}

// TestVectorsInRepository checks that the repository carries every
// vector, with the suite's licence and the README that names the source.
func TestVectorsInRepository(t *testing.T) {
	tests := Vectors(t)
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"LICENSE", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the vectors lack their %s: %v", name, err)
		}
	}
	t.Logf("%d vectors in %s", len(tests), dir)
}

// TestAllVectorsParse parses every vector of the repository and checks
// that each program validates.
func TestAllVectorsParse(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.data"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != len(paths) || len(tests) != Count {
		t.Fatalf("parsed %d vectors of %d files, want %d", len(tests), len(paths), Count)
	}
	t.Logf("%d vectors in %s", len(tests), dir)
	for _, ct := range tests {
		if !ct.HasResult && ct.Error == "" {
			t.Errorf("%s: expects neither a result nor an error", ct.Name)
		}
		if ct.Error == "" {
			if err := ct.Program.Validate(); err != nil {
				t.Errorf("%s: %v", ct.Name, err)
			}
		}
	}
}
