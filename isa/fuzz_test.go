package isa

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeEncode checks that decoding is exact: bytecode that decodes
// encodes back to the same bytes.
func FuzzDecodeEncode(f *testing.F) {
	f.Add(b(0x00000001000000b7, 0x95))
	f.Add(b(0x5566778800000018, 0x1122334400000000, 0x95))
	f.Add(b(0x0000000300002118, 0x0000001000000000))
	f.Add(b(0x00000010fff81adb))
	f.Add([]byte{0x18, 0, 0, 0, 0, 0, 0, 0, 1})
	for _, code := range rawSections(f) {
		f.Add(code)
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		insns, err := Decode(code)
		if err != nil {
			return
		}
		if got := insns.Encode(); !bytes.Equal(got, code) {
			t.Fatalf("Encode(Decode(%x)) = %x", code, got)
		}
		if insns.SlotCount()*InstructionSize != len(code) {
			t.Fatalf("SlotCount %d for %d bytes", insns.SlotCount(), len(code))
		}
		// Formatting must never panic, whatever the instructions.
		_ = insns.Format(SyntaxLLVM)
		_ = insns.Format(SyntaxConformance)
		_ = insns.Validate()
	})
}

// rawSections returns the "-- raw" sections of the repository's
// bpf_conformance vectors (testdata/conformance; package isa cannot import
// internal/conformance, which imports it).
func rawSections(tb testing.TB) [][]byte {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "conformance", "*.data"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no conformance vectors in ../testdata/conformance: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		_, raw, ok := strings.Cut(string(data), "-- raw\n")
		if !ok {
			continue
		}
		var code []byte
		for _, line := range strings.Split(raw, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "--") {
				break
			}
			v, err := strconv.ParseUint(strings.TrimPrefix(line, "0x"), 16, 64)
			if err != nil {
				break
			}
			code = append(code, b(v)...)
		}
		out = append(out, code)
	}
	return out
}
