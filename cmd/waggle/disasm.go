package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/isa"
)

func cmdDisasm(args []string, e *env) error {
	fs := newFlags("disasm", "[--syntax llvm|conformance] FILE",
		"Disassembles raw bytecode, bytecode as hex text, or every program of an ELF\n"+
			"object compiled with clang -target bpf, with the C source lines of its BTF\n"+
			"line information (\"; int x = 1; @ prog.c:12\", as bpftool prog dump shows\n"+
			"them) when it was compiled with -g. The default syntax is llvm-objdump's\n"+
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
		// The count is of 8-byte slots (an lddw takes two), as the
		// numbers in the margin and waggle inspect count them, and as the
		// kernel counts a program's instructions.
		fmt.Fprintf(e.stdout, "%s (section %s, type %s, %d instructions):\n", n, ps.SectionName, ps.Type, insns.SlotCount())
		// cilium/ebpf keeps one instruction per lddw too, so its symbols,
		// references and line information line up with insns: print them
		// as labels, comments and source lines.
		slot := 0
		for j, ins := range insns {
			meta := ps.Instructions[j]
			if sym := meta.Symbol(); sym != "" {
				fmt.Fprintf(e.stdout, "%s:\n", sym)
			}
			if src := meta.Source(); src != nil {
				fmt.Fprintln(e.stdout, sourceLine(src))
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

// sourceLine formats an instruction's line information as bpftool prog
// dump and llvm-objdump -S do: "; the C line @ file.c:12" (the line
// without its indentation; just the file and line when BTF lacks its
// text).
func sourceLine(src fmt.Stringer) string {
	l, ok := src.(*btf.Line)
	if !ok {
		return "; " + strings.TrimSpace(src.String())
	}
	text := strings.TrimSpace(l.Line())
	where := fmt.Sprintf("%s:%d", filepath.Base(l.FileName()), l.LineNumber())
	if text == "" {
		return "; @ " + where
	}
	return "; " + text + " @ " + where
}
