package main

import (
	"bytes"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/isa"
)

func cmdInspect(args []string, e *env) error {
	fs := newFlags("inspect", "OBJ.o",
		"Lists the programs (name, section, type, instructions) and maps (name, type,\n"+
			"key and value sizes, max entries, flags) of an ELF object, and whether waggle\n"+
			"can load it (with the reason when it cannot).", e)
	memLimit := memoryLimitFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	defer memLimit.apply()()
	if len(pos) != 1 {
		return &usageError{"expected one OBJ.o (or - for standard input)"}
	}
	data, err := readInput(pos[0], e)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(data, elfMagic) {
		return fmt.Errorf("%s is not an ELF object", pos[0])
	}
	spec, err := waggle.LoadCollectionSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROGRAM\tSECTION\tTYPE\tINSTRUCTIONS\tLICENSE")
	progs := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		progs = append(progs, n)
	}
	sort.Strings(progs)
	for _, n := range progs {
		ps := spec.Programs[n]
		count := "?"
		if insns, err := isa.FromCilium(ps.Instructions); err == nil {
			count = fmt.Sprint(insns.SlotCount())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n, ps.SectionName, ps.Type, count, ps.License)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "MAP\tTYPE\tKEY\tVALUE\tMAX ENTRIES\tFLAGS")
	mapNames := make([]string, 0, len(spec.Maps))
	for n := range spec.Maps {
		mapNames = append(mapNames, n)
	}
	sort.Strings(mapNames)
	for _, n := range mapNames {
		ms := spec.Maps[n]
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%#x\n", n, ms.Type, ms.KeySize, ms.ValueSize, ms.MaxEntries, ms.Flags)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		fmt.Fprintf(e.stdout, "\nwaggle cannot load this object: %v\n", err)
		return nil
	}
	coll.Close()
	fmt.Fprintln(e.stdout, "\nwaggle loads every program and map of this object.")
	return nil
}
