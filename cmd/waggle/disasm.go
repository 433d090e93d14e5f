package main

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/isa"
)

func cmdDisasm(args []string, e *env) error {
	fs := newFlags("disasm", "[--syntax llvm|conformance] FILE",
		"Disassembles raw bytecode, bytecode as hex text, or every program of an ELF\n"+
			"object compiled with clang -target bpf. The default syntax is llvm-objdump's\n"+
			"(r0 = *(u32 *)(r1 + 0x4)); conformance prints what waggle asm reads back.", e)
	syntaxName := fs.String("syntax", "llvm", "output `syntax`: llvm or conformance")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"expected one FILE (or - for standard input)"}
	}
	var syntax isa.Syntax
	switch *syntaxName {
	case "llvm":
		syntax = isa.SyntaxLLVM
	case "conformance":
		syntax = isa.SyntaxConformance
	default:
		return &usageError{fmt.Sprintf("unknown syntax %q: use llvm or conformance", *syntaxName)}
	}
	data, err := readInput(pos[0], e)
	if err != nil {
		return err
	}
	if bytes.HasPrefix(data, elfMagic) {
		return disasmELF(pos[0], data, syntax, e)
	}
	if isText(data) {
		if _, ok := hexBytes(string(data)); !ok {
			return fmt.Errorf("%s is text but not hexadecimal bytecode: waggle disasm reads bytecode or ELF objects", pos[0])
		}
	}
	p, err := loadProgram(pos[0], data)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, p.insns.Format(syntax))
	return nil
}

// disasmELF prints every program of an ELF object, sorted by name.
func disasmELF(name string, data []byte, syntax isa.Syntax, e *env) error {
	spec, err := waggle.LoadCollectionSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		ps := spec.Programs[n]
		insns, err := isa.FromCilium(ps.Instructions)
		if err != nil {
			return fmt.Errorf("%s: program %s: %w", name, n, err)
		}
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintf(e.stdout, "%s (section %s, type %s, %d instructions):\n", n, ps.SectionName, ps.Type, len(insns))
		// cilium/ebpf keeps one instruction per lddw too, so its symbols
		// and references line up with insns: print them as labels and
		// comments.
		slot := 0
		for j, ins := range insns {
			meta := ps.Instructions[j]
			if sym := meta.Symbol(); sym != "" {
				fmt.Fprintf(e.stdout, "%s:\n", sym)
			}
			line := fmt.Sprintf("%6d:\t%s", slot, ins.Format(syntax))
			switch {
			case meta.Reference() != "":
				line += "\t# " + meta.Reference()
			case ins.IsHelperCall():
				line += "\t# " + helper.Name(int32(ins.Imm))
			}
			fmt.Fprintln(e.stdout, line)
			slot += ins.Slots()
		}
	}
	return nil
}
