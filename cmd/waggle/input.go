package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/isa"
)

// program is what an input file holds.
type program struct {
	insns isa.Instructions
	mem   []byte // memory from a conformance test file, if any
	form  string // "bytecode", "hex", "assembly" or "test file"
}

var elfMagic = []byte{0x7f, 'E', 'L', 'F'}

// loadProgram reads raw bytecode, bytecode as hex text, a bpf_conformance
// test file (.data), or assembly, in that order of detection.
func loadProgram(name string, data []byte) (*program, error) {
	if bytes.HasPrefix(data, elfMagic) {
		return nil, fmt.Errorf("%s is an ELF object: waggle run takes bytecode or assembly (waggle disasm reads ELF objects)", name)
	}
	text := string(data)
	if isText(data) {
		if code, ok := hexBytes(text); ok {
			insns, err := isa.Decode(code)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return &program{insns: insns, form: "hex"}, nil
		}
		if strings.Contains(text, "-- asm") || strings.Contains(text, "-- raw") {
			t, err := conformance.Parse(name, data)
			if err != nil {
				return nil, err
			}
			return &program{insns: t.Program, mem: t.Mem, form: "test file"}, nil
		}
		insns, err := assembler.Assemble(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return &program{insns: insns, form: "assembly"}, nil
	}
	insns, err := isa.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &program{insns: insns, form: "bytecode"}, nil
}

// isText reports whether data looks like text rather than bytecode.
func isText(data []byte) bool {
	if len(data) == 0 {
		return true
	}
	for _, c := range data {
		if c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

// hexBytes decodes text made only of hexadecimal digits and whitespace,
// two digits a byte in memory order (the conformance plugin's input format).
func hexBytes(text string) ([]byte, bool) {
	compact := strings.Join(strings.Fields(text), "")
	if compact == "" {
		return nil, false
	}
	b, err := hex.DecodeString(compact)
	if err != nil {
		return nil, false
	}
	return b, true
}

// parseHexArg decodes a --mem value.
func parseHexArg(s string) ([]byte, error) {
	b, ok := hexBytes(s)
	if !ok && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("%q is not hexadecimal bytes", s)
	}
	return b, nil
}
