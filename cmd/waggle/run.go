package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/waggle-ebpf/waggle"
)

func cmdRun(args []string, e *env) error {
	fs := newFlags("run", "[--mem HEX | --mem-file F] [--repeat N] [--budget N] FILE",
		"Runs a program given as raw bytecode, hex bytecode, assembly, or a\n"+
			"bpf_conformance test file (.data, whose memory is used unless --mem is given),\n"+
			"with r1 = the address of a copy of the memory and r2 = its length, and prints\n"+
			"r0 and the average time of one run.", e)
	memHex := fs.String("mem", "", "the program's memory as `HEX` bytes")
	memFile := fs.String("mem-file", "", "read the program's memory from `FILE`")
	repeat := fs.Uint("repeat", 1, "run the program `N` times and report the average time")
	budget := fs.Uint64("budget", 0, "stop a run after `N` instructions (0: waggle's default, 2^30)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"expected one FILE (or - for standard input)"}
	}
	if *memHex != "" && *memFile != "" {
		return &usageError{"--mem and --mem-file cannot be used together"}
	}
	if *repeat == 0 || *repeat > 1<<32-1 {
		return &usageError{fmt.Sprintf("--repeat %d must be between 1 and 4294967295", *repeat)}
	}
	data, err := readInput(pos[0], e)
	if err != nil {
		return err
	}
	p, err := loadProgram(pos[0], data)
	if err != nil {
		return err
	}
	mem := p.mem
	switch {
	case *memHex != "":
		if mem, err = parseHexArg(*memHex); err != nil {
			return &usageError{"--mem: " + err.Error()}
		}
	case *memFile != "":
		if mem, err = os.ReadFile(*memFile); err != nil {
			return err
		}
	}
	prog, err := waggle.NewProgram(&waggle.ProgramSpec{Name: pos[0], Instructions: p.insns})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := prog.Run(&waggle.RunOptions{Data: mem, Repeat: uint32(*repeat), Budget: *budget, Context: ctx})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Return value: %d, duration (average): %dns\n", res.ReturnValue, res.Duration.Nanoseconds())
	return nil
}
