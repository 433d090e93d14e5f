package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/waggle-ebpf/waggle"
)

func cmdRun(args []string, e *env) error {
	fs := newFlags("run", "[options] FILE",
		"Runs a program and prints its return value and the average time of one run,\n"+
			"as bpftool prog run does.\n\n"+
			"FILE is an ELF object compiled with clang -target bpf (choose the program with\n"+
			"-p when it has several), raw bytecode, hex bytecode, assembly, or a\n"+
			"bpf_conformance test file (.data, whose memory is used unless --data or\n"+
			"--data-in is given). The data is the packet of XDP, tc and socket filter\n"+
			"programs, the context of syscall programs, and for bytecode and assembly the\n"+
			"program's memory: r1 = the address of a copy, r2 = its length.", e)
	progName := fs.String("p", "", "run the program named `NAME` of an ELF object")
	dataHex := fs.String("data", "", "the input data as `HEX` bytes")
	dataIn := fs.String("data-in", "", "read the input data from `FILE`")
	dataOut := fs.String("data-out", "", "write the data as the program left it to `FILE`")
	ctxIn := fs.String("ctx-in", "", "read the program's context (ctx_in) from `FILE`")
	repeat := fs.Uint("repeat", 1, "run the program `N` times and report the average time")
	budget := fs.Uint64("budget", 0, "stop a run after `N` instructions (0: waggle's default, 2^30)")
	cpus := fs.Int("cpus", 0, "CPU slots for per-CPU maps (0: GOMAXPROCS)")
	dumpMaps := fs.Bool("dump-maps", false, "print the contents of every map after the run")
	asJSON := fs.Bool("json", false, "print one JSON object: program, retval, duration_ns (and maps)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"expected one FILE (or - for standard input)"}
	}
	if *dataHex != "" && *dataIn != "" {
		return &usageError{"--data and --data-in cannot be used together"}
	}
	if *repeat == 0 || *repeat > 1<<32-1 {
		return &usageError{fmt.Sprintf("--repeat %d must be between 1 and 4294967295", *repeat)}
	}
	input, err := readInput(pos[0], e)
	if err != nil {
		return err
	}

	var data []byte
	switch {
	case *dataHex != "":
		if data, err = parseHexArg(*dataHex); err != nil {
			return &usageError{"--data: " + err.Error()}
		}
	case *dataIn != "":
		if data, err = os.ReadFile(*dataIn); err != nil {
			return err
		}
	}
	var ctxBytes []byte
	if *ctxIn != "" {
		if ctxBytes, err = os.ReadFile(*ctxIn); err != nil {
			return err
		}
	}

	var prog *waggle.Program
	var coll *waggle.Collection
	if bytes.HasPrefix(input, elfMagic) {
		spec, err := waggle.LoadCollectionSpecFromReader(bytes.NewReader(input))
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		coll, err = waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: *cpus, Trace: e.stderr})
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		defer coll.Close()
		if prog, err = pickProgram(coll, *progName); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
	} else {
		if *progName != "" {
			return &usageError{"-p names a program of an ELF object; " + pos[0] + " is not one"}
		}
		p, err := loadProgram(pos[0], input)
		if err != nil {
			return err
		}
		if data == nil && *dataHex == "" && *dataIn == "" {
			data = p.mem
		}
		prog, err = waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: pos[0], Instructions: p.insns},
			waggle.ProgramOptions{Trace: e.stderr, CPUs: *cpus})
		if err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := &waggle.RunOptions{Data: data, Repeat: uint32(*repeat), Budget: *budget, Cancel: ctx}
	if ctxBytes != nil {
		opts.Context = ctxBytes
	}
	if *dataOut != "" {
		opts.DataOut = make([]byte, len(data)+4096)
	}
	res, err := prog.Run(opts)
	if err != nil {
		return err
	}
	if *dataOut != "" {
		if err := os.WriteFile(*dataOut, opts.DataOut, 0o644); err != nil {
			return err
		}
	}

	var dumped map[string]any
	if *dumpMaps && coll != nil {
		if dumped, err = dumpAll(coll); err != nil {
			return err
		}
	}
	if *asJSON {
		out := runJSON{Program: prog.Name(), Retval: res.ReturnValue, DurationNS: res.Duration.Nanoseconds()}
		if *dumpMaps {
			if dumped == nil {
				dumped = map[string]any{}
			}
			out.Maps = dumped
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "Return value: %d, duration (average): %dns\n", res.ReturnValue, res.Duration.Nanoseconds())
	if *dumpMaps && coll != nil {
		printMaps(e.stdout, dumped)
	}
	return nil
}

// runJSON is what --json prints, in this order.
type runJSON struct {
	Program    string         `json:"program"`
	Retval     uint64         `json:"retval"`
	DurationNS int64          `json:"duration_ns"`
	Maps       map[string]any `json:"maps,omitempty"`
}

// pickProgram chooses the program to run: the one named, or the only one.
func pickProgram(coll *waggle.Collection, name string) (*waggle.Program, error) {
	names := make([]string, 0, len(coll.Programs))
	for n := range coll.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	if name != "" {
		if p, ok := coll.Programs[name]; ok {
			return p, nil
		}
		return nil, fmt.Errorf("no program %q; the object has %s", name, strings.Join(names, ", "))
	}
	if len(names) != 1 {
		return nil, fmt.Errorf("the object has %d programs (%s): choose one with -p", len(names), strings.Join(names, ", "))
	}
	return coll.Programs[names[0]], nil
}

// dumpAll returns every map's entries for --dump-maps: per map, a list of
// {"key": HEX, "value": HEX} (per-CPU maps: "value" is a list of HEX, one
// per CPU slot), in key order.
func dumpAll(coll *waggle.Collection) (map[string]any, error) {
	out := map[string]any{}
	for name, m := range coll.Maps {
		entries, err := m.Dump()
		if err != nil {
			return nil, fmt.Errorf("dump map %s: %w", name, err)
		}
		list := make([]map[string]any, 0, len(entries))
		for _, en := range entries {
			item := map[string]any{"key": hex.EncodeToString(en.Key)}
			if en.PerCPU != nil {
				vals := make([]string, len(en.PerCPU))
				for i, v := range en.PerCPU {
					vals[i] = hex.EncodeToString(v)
				}
				item["value"] = vals
			} else {
				item["value"] = hex.EncodeToString(en.Value)
			}
			list = append(list, item)
		}
		out[name] = list
	}
	return out, nil
}

func printMaps(w io.Writer, dumped map[string]any) {
	names := make([]string, 0, len(dumped))
	for n := range dumped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		list := dumped[n].([]map[string]any)
		fmt.Fprintf(w, "map %s: %d entries\n", n, len(list))
		for _, item := range list {
			fmt.Fprintf(w, "  key %s value %v\n", item["key"], item["value"])
		}
	}
}
