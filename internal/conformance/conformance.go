// Package conformance reads the bpf_conformance test vectors: ".data" files
// that give a program (as assembly, or as raw bytecode), the memory it runs
// on, and the value it must return in r0 or the error it must end with.
// The repository carries the suite's vectors in testdata/conformance (Dir,
// Vectors), copied from github.com/Alan-Jowett/bpf_conformance with its
// licence.
//
// A file is a sequence of sections, each starting with a header line
// "-- name"; "#" starts a comment anywhere. The sections read are:
//
//   - "-- asm": the program in the bpf_conformance assembler syntax (see
//     package assembler);
//   - "-- raw": the program as bytecode, one little-endian 64-bit slot a line,
//     in hexadecimal ("0x...") or decimal; it takes precedence over "-- asm";
//   - "-- mem": the memory given to the program, hexadecimal bytes separated by
//     white space;
//   - "-- result": the expected r0, hexadecimal ("0x...") or decimal;
//   - "-- error": the expected error text.
//
// The sections "-- c" (the C source of the program) and
// "-- no register offset" are ignored.
package conformance

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/isa"
)

// Test is one conformance test vector.
type Test struct {
	// Name is the name the test was parsed under: for LoadDir, the file
	// name without its ".data" extension.
	Name string
	// Program is the program: the "-- raw" section decoded if there is
	// one, else the "-- asm" section assembled.
	Program isa.Instructions
	// Mem is the memory the program runs on, nil if the file has none.
	Mem []byte
	// Result is the expected value of r0 when HasResult is set.
	Result    uint64
	HasResult bool
	// Error is the expected error text, "" if the file expects none.
	Error string
	// Asm is the text of the "-- asm" section, "" if there is none. It
	// keeps the file's line numbering: lines outside the section are empty.
	Asm string
	// Raw is the bytecode of the "-- raw" section, nil if there is none.
	Raw []byte
}

// Section names.
const (
	sectionAsm    = "asm"
	sectionRaw    = "raw"
	sectionMem    = "mem"
	sectionResult = "result"
	sectionError  = "error"
)

// ignoredSections are read past without a look.
var ignoredSections = map[string]bool{"c": true, "no register offset": true}

// Parse parses the test vector data; name becomes Test.Name and prefixes
// errors. Errors in the assembly name the line of the file.
func Parse(name string, data []byte) (*Test, error) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	sections := make(map[string][]int) // section name -> line indexes of its body
	current := ""
	for i, line := range lines {
		text := line
		if j := strings.IndexByte(text, '#'); j >= 0 {
			text = text[:j]
		}
		text = strings.TrimSpace(text)
		if header, ok := strings.CutPrefix(text, "--"); ok {
			header = strings.Join(strings.Fields(header), " ")
			switch {
			case ignoredSections[header]:
				current = header
				continue
			case header == sectionAsm, header == sectionRaw, header == sectionMem,
				header == sectionResult, header == sectionError:
				if _, dup := sections[header]; dup {
					return nil, fmt.Errorf("%s: line %d: second %q section", name, i+1, "-- "+header)
				}
				sections[header] = []int{}
				current = header
				continue
			case !ignoredSections[current]:
				return nil, fmt.Errorf("%s: line %d: unknown section %q", name, i+1, text)
			}
		}
		switch {
		case current == "" && text != "":
			return nil, fmt.Errorf("%s: line %d: text before the first section: %q", name, i+1, text)
		case current != "" && !ignoredSections[current]:
			sections[current] = append(sections[current], i)
		}
	}
	// body returns the section's lines, comments and surrounding space
	// removed, with their 1-based line numbers.
	body := func(section string) (texts []string, numbers []int) {
		for _, i := range sections[section] {
			text := lines[i]
			if j := strings.IndexByte(text, '#'); j >= 0 {
				text = text[:j]
			}
			if text = strings.TrimSpace(text); text != "" {
				texts = append(texts, text)
				numbers = append(numbers, i+1)
			}
		}
		return texts, numbers
	}

	t := &Test{Name: name}
	idx, hasAsm := sections[sectionAsm]
	if hasAsm {
		asm := make([]string, len(lines))
		for _, i := range idx {
			asm[i] = lines[i]
		}
		t.Asm = strings.Join(asm, "\n")
	}
	if _, ok := sections[sectionRaw]; ok {
		texts, numbers := body(sectionRaw)
		t.Raw = []byte{}
		for k, text := range texts {
			v, err := parseUint64(text)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: raw slot: %v", name, numbers[k], err)
			}
			t.Raw = binary.LittleEndian.AppendUint64(t.Raw, v)
		}
	}
	if _, ok := sections[sectionMem]; ok {
		texts, numbers := body(sectionMem)
		t.Mem = []byte{}
		for k, text := range texts {
			for _, field := range strings.Fields(text) {
				digits := strings.TrimPrefix(strings.TrimPrefix(field, "0x"), "0X")
				b, err := strconv.ParseUint(digits, 16, 8)
				if err != nil || digits == "" {
					return nil, fmt.Errorf("%s: line %d: memory byte %q is not a hexadecimal byte", name, numbers[k], field)
				}
				t.Mem = append(t.Mem, byte(b))
			}
		}
	}
	if _, ok := sections[sectionResult]; ok {
		texts, numbers := body(sectionResult)
		if len(texts) != 1 {
			return nil, fmt.Errorf("%s: the result section holds %d values, want 1", name, len(texts))
		}
		v, err := parseUint64(texts[0])
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: result: %v", name, numbers[0], err)
		}
		t.Result, t.HasResult = v, true
	}
	if _, ok := sections[sectionError]; ok {
		texts, _ := body(sectionError)
		t.Error = strings.Join(texts, "\n")
	}

	switch {
	case t.Raw != nil:
		prog, err := isa.Decode(t.Raw)
		if err != nil {
			return nil, fmt.Errorf("%s: raw section: %w", name, err)
		}
		t.Program = prog
	case hasAsm:
		prog, err := assembler.Assemble(t.Asm)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		t.Program = prog
	default:
		return nil, fmt.Errorf("%s: no program: the file has neither an asm nor a raw section", name)
	}
	return t, nil
}

// parseUint64 parses "0x" hexadecimal or decimal; a negative decimal gives its
// two's complement.
func parseUint64(s string) (uint64, error) {
	if digits, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strconv.ParseUint(digits, 16, 64)
	}
	if strings.HasPrefix(s, "-") {
		v, err := strconv.ParseInt(s, 10, 64)
		return uint64(v), err
	}
	return strconv.ParseUint(s, 10, 64)
}

// LoadDir parses every ".data" file of dir, in file name order. It reports
// every file that fails, not only the first.
func LoadDir(dir string) ([]*Test, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.data"))
	if err != nil {
		return nil, err
	}
	if paths == nil {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
	}
	sort.Strings(paths)
	var tests []*Test
	var errs []error
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t, err := Parse(strings.TrimSuffix(filepath.Base(path), ".data"), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tests = append(tests, t)
	}
	return tests, errors.Join(errs...)
}

// DirName is the folder of the bpf_conformance vectors that the repository
// carries, relative to its root (testdata/conformance/README.md says where
// they come from, LICENSE there their licences).
const DirName = "testdata/conformance"

// Count is the number of vectors in DirName.
const Count = 313

// modulePath is the module whose root holds DirName.
const modulePath = "github.com/waggle-ebpf/waggle"

// Dir returns the folder of the vectors: DirName under the root of the
// waggle module that holds the working directory (a test's package
// folder).
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return dirFrom(wd)
}

// dirFrom looks for the waggle module's go.mod in start and each folder
// above it and returns DirName under the first that has one. The error
// lists the places looked at.
func dirFrom(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	var looked []string
	for {
		gomod := filepath.Join(dir, "go.mod")
		if data, err := os.ReadFile(gomod); err == nil && isModule(data, modulePath) {
			return filepath.Join(dir, filepath.FromSlash(DirName)), nil
		}
		looked = append(looked, gomod)
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("conformance vectors not found: no go.mod of %s in %s", modulePath, strings.Join(looked, ", "))
		}
		dir = parent
	}
}

// isModule reports whether the go.mod text declares module path.
func isModule(gomod []byte, path string) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == path
		}
	}
	return false
}
