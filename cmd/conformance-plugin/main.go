// Command conformance-plugin runs one eBPF program for the bpf_conformance
// test runner (github.com/Alan-Jowett/bpf_conformance) with waggle.
//
// The runner writes the program to standard input as hexadecimal bytes
// (whitespace between bytes is allowed) and passes the program's memory, if
// the test has any, as the first argument in the same form. The program runs
// with r1 = the address of a copy of that memory and r2 = its length, without
// the verifier: the suite tests the semantics of the instruction set. Helper
// 5 returns its first argument and, when that is zero, ends the program with
// r0 = 0, as the suite's unwind tests expect.
//
// With --engine jit the program is compiled to machine code in checked
// mode (it is not verified: every memory access is checked, and a budget
// bounds the run).
//
// On success the plugin prints r0 in hexadecimal and exits 0; otherwise it
// prints an error to standard error and exits 1 (2 for bad usage).
//
// Usage:
//
//	conformance-plugin [--engine interpreter|jit] [MEMORY-HEX] < PROGRAM-HEX
package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/isa"
)

const usage = `usage: conformance-plugin [--engine interpreter|jit] [MEMORY-HEX] < PROGRAM-HEX

Runs the eBPF program read from standard input (hexadecimal bytes) on a copy
of MEMORY-HEX (r1 = its address, r2 = its length) and prints r0 in hex.

Options:
  --engine NAME   the engine to run the program with: interpreter (default),
                  or jit (compiled to machine code, every access checked)
  --help          print this help
`

func main() {
	code, err := run(os.Args[1:], os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance-plugin:", err)
	}
	os.Exit(code)
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func run(args []string, stdin io.Reader, stdout io.Writer) (int, error) {
	engine := "interpreter"
	var memHex string
	haveMem := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--help" || a == "-h":
			fmt.Fprint(stdout, usage)
			return 0, nil
		case a == "--engine" || a == "-engine":
			if i+1 >= len(args) {
				return 2, &usageError{"--engine needs a value"}
			}
			i++
			engine = args[i]
		case strings.HasPrefix(a, "--engine="):
			engine = strings.TrimPrefix(a, "--engine=")
		case a == "--elf":
			return 2, &usageError{"--elf: ELF input is not supported; pass raw bytecode"}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			return 2, &usageError{fmt.Sprintf("unknown option %q\n%s", a, usage)}
		case !haveMem:
			memHex, haveMem = a, true
		default:
			return 2, &usageError{fmt.Sprintf("unexpected argument %q: only one memory argument is allowed", a)}
		}
	}
	var eng waggle.Engine
	switch engine {
	case "interpreter":
		eng = waggle.EngineInterpreter
	case "jit":
		eng = waggle.EngineJIT
	default:
		return 2, &usageError{fmt.Sprintf("unknown engine %q: interpreter or jit", engine)}
	}

	progText, err := io.ReadAll(stdin)
	if err != nil {
		return 1, fmt.Errorf("read program: %w", err)
	}
	code, err := decodeHex(string(progText))
	if err != nil {
		return 1, fmt.Errorf("program on standard input: %w", err)
	}
	mem, err := decodeHex(memHex)
	if err != nil {
		return 1, fmt.Errorf("memory argument: %w", err)
	}
	insns, err := isa.Decode(code)
	if err != nil {
		return 1, err
	}
	helpers, err := helper.NewTable(helper.Helper{ID: 5, Name: "unwind", Func: unwind})
	if err != nil {
		return 1, err
	}
	// The suite checks what instructions do at run time, also where a
	// verifier would refuse the program (out-of-range shifts, callx,
	// unchecked memory reads): load without it.
	prog, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: "conformance", Instructions: insns},
		waggle.ProgramOptions{Helpers: helpers, SkipVerification: true, Engine: eng})
	if err != nil {
		return 1, err
	}
	var res waggle.RunResult // r0 in 64 bits
	if _, err := prog.Run(&waggle.RunOptions{Data: mem, Result: &res}); err != nil {
		return 1, err
	}
	fmt.Fprintf(stdout, "%x\n", res.ReturnValue)
	return 0, nil
}

// unwind is the suite's helper 5: it returns its argument, and a zero
// argument ends the program with r0 = 0.
func unwind(c *helper.Call) (uint64, error) {
	if c.Args[0] == 0 {
		return 0, helper.ErrExitProgram
	}
	return c.Args[0], nil
}

// decodeHex decodes hexadecimal bytes, ignoring whitespace between them.
func decodeHex(s string) ([]byte, error) {
	compact := strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(compact)
	if err != nil {
		var inv hex.InvalidByteError
		if errors.As(err, &inv) {
			return nil, fmt.Errorf("%q is not a hexadecimal digit", rune(inv))
		}
		return nil, fmt.Errorf("odd number of hexadecimal digits (%d)", len(compact))
	}
	return b, nil
}
