package jittest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NeedObjdump returns the path of the objdump program name, or skips the
// test with the message skip when it is not installed.
func NeedObjdump(t testing.TB, name, skip string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skip(skip)
	}
	return path
}

// Disassembled is one instruction of objdump's reading of code.
type Disassembled struct {
	Addr int    // its offset in the code
	Text string // the instruction as objdump prints it (tabs and all)
	Line string // objdump's whole line
}

// Objdump has objdump read code as raw machine code (-D -b binary) with
// the further options args (the machine: -maarch64, -mi386:x86-64) and
// returns the instructions it read, in order.
func Objdump(t testing.TB, objdump string, code []byte, args ...string) []Disassembled {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "code.bin")
	if err := os.WriteFile(bin, code, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, append(append([]string{"-D", "-b", "binary"}, args...), bin)...).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	var insns []Disassembled
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) != 3 || !strings.HasSuffix(fields[0], ":") {
			continue
		}
		var addr int
		fmt.Sscanf(strings.TrimSpace(fields[0]), "%x:", &addr)
		insns = append(insns, Disassembled{Addr: addr, Text: fields[2], Line: line})
	}
	return insns
}
