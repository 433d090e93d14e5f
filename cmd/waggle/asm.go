package main

import (
	"fmt"
	"os"

	"github.com/waggle-ebpf/waggle/assembler"
)

func cmdAsm(args []string, e *env) error {
	fs := newFlags("asm", "[-o OUT] FILE",
		"Assembles eBPF assembly in the bpf_conformance syntax (mov %r0, 1 / ldxw %r0, [%r1+4] /\n"+
			"labels / # comments) into bytecode. With -o the raw little-endian bytecode is\n"+
			"written to OUT; without it, the bytecode is printed as hex, one instruction\n"+
			"slot a line, the form that waggle run and the conformance plugin read.", e)
	out := fs.String("o", "", "write raw bytecode to `OUT` instead of printing hex")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"expected one FILE (or - for standard input)"}
	}
	src, err := readInput(pos[0], e)
	if err != nil {
		return err
	}
	insns, err := assembler.Assemble(string(src))
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if err := insns.Validate(); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	code := insns.Encode()
	if *out != "" {
		return os.WriteFile(*out, code, 0o644)
	}
	for i := 0; i < len(code); i += 8 {
		fmt.Fprintf(e.stdout, "% x\n", code[i:i+8])
	}
	return nil
}
