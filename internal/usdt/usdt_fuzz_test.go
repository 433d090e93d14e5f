package usdt

import (
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// FuzzParseArgs: any string parses or fails with an error, never a
// panic; what parses lays out as a spec or fails with an error.
func FuzzParseArgs(f *testing.F) {
	var cases []argCase
	readJSON(f, "testdata/args.json", &cases)
	for _, c := range cases {
		f.Add(c.Args)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := ParseArgs(s)
		if err != nil {
			return
		}
		for _, a := range args {
			if a.Size != 1 && a.Size != 2 && a.Size != 4 && a.Size != 8 {
				t.Fatalf("%q: size %d", a.Text, a.Size)
			}
		}
		if b, err := Spec(args, 1); err == nil && len(b) != SpecSize {
			t.Fatalf("spec of %d bytes", len(b))
		}
	})
}

// FuzzParseNotes: any section parses or fails with an error.
func FuzzParseNotes(f *testing.F) {
	var cases []noteCase
	readJSON(f, "testdata/notes.json", &cases)
	for _, c := range cases {
		b, _ := hex.DecodeString(c.Hex)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, class32 bool) {
		class := elf.ELFCLASS64
		if class32 {
			class = elf.ELFCLASS32
		}
		notes, err := ParseNotes(data, class, binary.LittleEndian)
		if err != nil {
			return
		}
		for _, n := range notes {
			if n.Provider == "" || n.Name == "" {
				t.Fatalf("a note without provider or name: %+v", n)
			}
		}
	})
}
