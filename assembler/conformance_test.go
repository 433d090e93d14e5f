package assembler_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/isa"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestConformanceFiles assembles the asm section of every conformance test
// vector, and checks it against the raw section where the file has one.
func TestConformanceFiles(t *testing.T) {
	withRaw := 0
	for _, ct := range conformance.Vectors(t) {
		if ct.Asm == "" {
			continue
		}
		prog, err := assembler.Assemble(ct.Asm)
		if err != nil {
			t.Errorf("%s: %v", ct.Name, err)
			continue
		}
		if ct.Raw != nil {
			withRaw++
			if got := prog.Encode(); !bytes.Equal(got, ct.Raw) {
				t.Errorf("%s: asm assembles to\n%x\nraw section is\n%x", ct.Name, got, ct.Raw)
			}
		}
	}
	if withRaw == 0 {
		t.Error("no vector has a raw section to compare with")
	}
}

// TestConformanceRoundTrip disassembles every conformance program in
// SyntaxConformance and checks that it assembles back to the same bytecode.
func TestConformanceRoundTrip(t *testing.T) {
	for _, ct := range conformance.Vectors(t) {
		text := ct.Program.Format(isa.SyntaxConformance)
		again, err := assembler.Assemble(text)
		if err != nil {
			t.Errorf("%s: reassembling the disassembly: %v\n%s", ct.Name, err, text)
			continue
		}
		if !bytes.Equal(again.Encode(), ct.Program.Encode()) {
			t.Errorf("%s: round trip changed the program\noriginal:\n%s\nafter:\n%s",
				ct.Name, ct.Program.Format(isa.SyntaxLLVM), again.Format(isa.SyntaxLLVM))
		}
	}
}

// TestGolden assembles testdata/every_kind.s, which holds every kind of
// instruction, and compares its disassembly in both syntaxes with the golden
// files beside it.
func TestGolden(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "every_kind.s"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := assembler.Assemble(string(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Validate(); err != nil {
		t.Errorf("every_kind.s does not validate: %v", err)
	}
	for _, g := range []struct {
		file   string
		syntax isa.Syntax
	}{
		{"every_kind.llvm", isa.SyntaxLLVM},
		{"every_kind.conf", isa.SyntaxConformance},
	} {
		got := prog.Format(g.syntax)
		path := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("Format(%v) differs from %s (run with -update to rewrite it):\n%s", g.syntax, path, got)
		}
	}
	again, err := assembler.Assemble(prog.Format(isa.SyntaxConformance))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Encode(), prog.Encode()) {
		t.Error("every_kind.s does not survive a round trip through SyntaxConformance")
	}
}
