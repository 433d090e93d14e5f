package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/packet"
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
			"program's memory: r1 = the address of a copy, r2 = its length.\n\n"+
			"With --pcap the program (XDP, tc or socket filter) runs on every packet of a\n"+
			"pcap or pcapng capture of Ethernet frames: waggle prints the verdicts, the\n"+
			"packets per second and the time per packet, and --pcap-out writes the packets\n"+
			"the program passes (XDP pass and tx, tc actions that let the packet continue,\n"+
			"what a socket filter keeps) as the program left them. The return value is\n"+
			"then the last packet's, and the duration the wall-clock time per packet.", e)
	progName := fs.String("p", "", "run the program named `NAME` of an ELF object")
	dataHex := fs.String("data", "", "the input data as `HEX` bytes")
	dataIn := fs.String("data-in", "", "read the input data from `FILE`")
	dataOut := fs.String("data-out", "", "write the data as the program left it to `FILE`")
	ctxIn := fs.String("ctx-in", "", "read the program's context (ctx_in) from `FILE`")
	repeat := fs.Uint("repeat", 1, "run the program `N` times and report the average time")
	budget := fs.Uint64("budget", 0, "stop a run after `N` instructions (0: waggle's default, 2^30)")
	timeout := fs.Duration("timeout", 0, "stop a run (all its --repeat runs; each packet's with --pcap) after `DURATION` (Go syntax: 100ms, 2s; 0: none)")
	cpus := fs.Int("cpus", 0, "CPU slots for per-CPU maps (0: GOMAXPROCS)")
	engine := engineFlag(fs)
	memLimit := memoryLimitFlag(fs)
	dumpMaps := fs.Bool("dump-maps", false, "print the contents of every map after the run")
	asJSON := fs.Bool("json", false, "print one JSON object: program, retval, duration_ns (and maps)")
	pcapIn := fs.String("pcap", "", "run the program on every packet of the pcap or pcapng capture `FILE` (- for standard input)")
	pcapOut := fs.String("pcap-out", "", "with --pcap, write the packets the program passes to the pcap `FILE`")
	workers := fs.Int("workers", 1, "with --pcap, run the program on `N` goroutines (the output keeps the input's order)")
	sets := addSetFlag(fs)
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
	if *timeout < 0 {
		return &usageError{fmt.Sprintf("--timeout %v must not be negative", *timeout)}
	}
	if err := checkPcapFlags(fs, *pcapIn, *workers, pos[0]); err != nil {
		return err
	}
	defer memLimit.apply()()
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
	var spec *ebpf.CollectionSpec
	if bytes.HasPrefix(input, elfMagic) {
		spec, err = waggle.LoadCollectionSpecFromReader(bytes.NewReader(input))
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		if err := sets.apply(spec); err != nil {
			return &usageError{err.Error()}
		}
		coll, err = waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: *cpus, Trace: e.stderr, Engine: *engine})
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
		if len(*sets) > 0 {
			return &usageError{"--set writes the global variables of an ELF object; " + pos[0] + " is not one"}
		}
		p, err := loadProgram(pos[0], input)
		if err != nil {
			return err
		}
		if data == nil && *dataHex == "" && *dataIn == "" {
			data = p.mem
		}
		// Bytecode, assembly and test files run as they are, checked at
		// run time (waggle verify --type checks them before).
		prog, err = waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: pos[0], Instructions: p.insns},
			waggle.ProgramOptions{Trace: e.stderr, CPUs: *cpus, SkipVerification: true, Engine: *engine})
		if err != nil {
			return err
		}
	}

	if *pcapIn != "" {
		return runPcap(prog, coll, spec, pcapRun{in: *pcapIn, out: *pcapOut, workers: *workers, budget: *budget, timeout: *timeout, dumpMaps: *dumpMaps, asJSON: *asJSON}, e)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := &waggle.RunOptions{Data: data, Repeat: uint32(*repeat), Budget: *budget, Timeout: *timeout, Cancel: ctx}
	if ctxBytes != nil {
		opts.Context = ctxBytes
	}
	if *dataOut != "" {
		opts.DataOut = make([]byte, len(data)+4096)
	}
	var res waggle.RunResult // r0 in 64 bits, and the duration
	opts.Result = &res
	if _, err := prog.Run(opts); err != nil {
		return err
	}
	if *dataOut != "" {
		if err := os.WriteFile(*dataOut, opts.DataOut, 0o644); err != nil {
			return err
		}
	}

	var dumped map[string][]dumpEntry
	if *dumpMaps && coll != nil {
		if dumped, err = dumpAll(coll, spec); err != nil {
			return err
		}
	}
	if *asJSON {
		out := runJSON{Program: prog.Name(), Retval: res.ReturnValue, DurationNS: res.Duration.Nanoseconds()}
		if *dumpMaps {
			if dumped == nil {
				dumped = map[string][]dumpEntry{}
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
	Program    string                 `json:"program"`
	Retval     uint64                 `json:"retval"`
	DurationNS int64                  `json:"duration_ns"`
	Maps       map[string][]dumpEntry `json:"maps,omitempty"`
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

// dumpEntry is one element of a map as --dump-maps shows it.
type dumpEntry struct {
	// Key is the key in hexadecimal.
	Key string `json:"key"`
	// Value is the value in hexadecimal, or for a per-CPU map a list of
	// them, one per CPU slot; none for prog arrays and maps of maps.
	Value any `json:"value,omitempty"`
	// KeyBTF and ValueBTF are the key and value decoded by the map's BTF
	// types (see metrics.Decode), when it has them; ValueBTF is a list
	// for a per-CPU map.
	KeyBTF   *metrics.Value `json:"key_btf,omitempty"`
	ValueBTF any            `json:"value_btf,omitempty"`
	// Program is the name of the program in a prog array's slot, and Map
	// the name of the inner map of a map of maps.
	Program string `json:"program,omitempty"`
	Map     string `json:"map,omitempty"`
}

// dumpAll returns every map's entries for --dump-maps, in key order: the
// key and value in hexadecimal and, with BTF (spec's types), decoded.
func dumpAll(coll *waggle.Collection, spec *ebpf.CollectionSpec) (map[string][]dumpEntry, error) {
	out := map[string][]dumpEntry{}
	for name, m := range coll.Maps {
		entries, err := m.Dump()
		if err != nil {
			return nil, fmt.Errorf("dump map %s: %w", name, err)
		}
		objs, err := m.Objects()
		if err != nil {
			return nil, fmt.Errorf("dump map %s: %w", name, err)
		}
		var kt, vt btf.Type
		if spec != nil && spec.Maps[name] != nil {
			kt, vt = spec.Maps[name].Key, spec.Maps[name].Value
		}
		if m.Type() == ebpf.RingBuf {
			// A ring buffer's "key" is the record's index; its records
			// decode as --watch decodes them (struct event).
			kt = nil
			if vt == nil {
				vt = ringEventType(spec)
			}
		}
		list := make([]dumpEntry, 0, len(entries))
		for _, en := range entries {
			item := dumpEntry{Key: hex.EncodeToString(en.Key)}
			if v, ok := metrics.Decode(kt, en.Key); ok {
				item.KeyBTF = &v
			}
			if en.PerCPU != nil {
				vals := make([]string, len(en.PerCPU))
				var decoded []metrics.Value
				for i, v := range en.PerCPU {
					vals[i] = hex.EncodeToString(v)
					if d, ok := metrics.Decode(vt, v); ok {
						decoded = append(decoded, d)
					}
				}
				item.Value = vals
				if len(decoded) == len(vals) {
					item.ValueBTF = decoded
				}
			} else {
				item.Value = hex.EncodeToString(en.Value)
				if v, ok := metrics.Decode(vt, en.Value); ok {
					item.ValueBTF = v
				}
			}
			list = append(list, item)
		}
		for _, o := range objs {
			item := dumpEntry{Key: hex.EncodeToString(o.Key)}
			if v, ok := metrics.Decode(kt, o.Key); ok {
				item.KeyBTF = &v
			}
			if m.Type() == ebpf.ProgramArray {
				item.Program = o.Name
			} else {
				item.Map = o.Name
			}
			list = append(list, item)
		}
		out[name] = list
	}
	return out, nil
}

// ringEventType is the BTF type of ring buffer records without
// --event-type: the object's struct event, or nil.
func ringEventType(spec *ebpf.CollectionSpec) btf.Type {
	if spec == nil || spec.Types == nil {
		return nil
	}
	var ev *btf.Struct
	if spec.Types.TypeByName("event", &ev) != nil {
		return nil
	}
	return ev
}

// printMaps prints the dumped maps, sorted by name: each entry's key and
// value decoded by BTF when the map has it, in hexadecimal otherwise.
func printMaps(w io.Writer, dumped map[string][]dumpEntry) {
	names := make([]string, 0, len(dumped))
	for n := range dumped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		list := dumped[n]
		fmt.Fprintf(w, "map %s: %s\n", n, plural(len(list), "entry", "entries"))
		for _, item := range list {
			key, value := item.Key, fmt.Sprint(item.Value)
			if item.KeyBTF != nil {
				key = item.KeyBTF.String()
			}
			switch {
			case item.Program != "":
				fmt.Fprintf(w, "  key %s program %s\n", key, item.Program)
				continue
			case item.Map != "":
				fmt.Fprintf(w, "  key %s map %s\n", key, item.Map)
				continue
			}
			switch v := item.ValueBTF.(type) {
			case metrics.Value:
				value = v.String()
			case []metrics.Value:
				value = metrics.Value{Kind: metrics.Array, Elems: v}.String()
			}
			fmt.Fprintf(w, "  key %s value %s\n", key, value)
		}
	}
}

// checkPcapFlags refuses the flags that do not go with --pcap, or that
// need it.
func checkPcapFlags(fs *flag.FlagSet, pcapIn string, workers int, file string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if pcapIn == "" {
		for _, name := range []string{"pcap-out", "workers"} {
			if set[name] {
				return &usageError{"--" + name + " needs --pcap"}
			}
		}
		return nil
	}
	for _, name := range []string{"data", "data-in", "data-out", "ctx-in", "repeat"} {
		if set[name] {
			return &usageError{"--" + name + " cannot be used with --pcap: the packets are the data"}
		}
	}
	if pcapIn == "-" && file == "-" {
		return &usageError{"FILE and --pcap cannot both be standard input"}
	}
	if workers < 1 {
		return &usageError{fmt.Sprintf("--workers %d must be at least 1", workers)}
	}
	return nil
}

// pcapRun is what waggle run --pcap does.
type pcapRun struct {
	in, out  string
	workers  int
	budget   uint64
	timeout  time.Duration
	dumpMaps bool
	asJSON   bool
}

// pcapJSON is what --pcap --json prints, in this order: the fields of
// runJSON (retval: the last packet's; duration_ns: the wall-clock time
// per packet, rounded), then the capture's.
type pcapJSON struct {
	Program          string                 `json:"program"`
	Retval           uint64                 `json:"retval"`
	DurationNS       int64                  `json:"duration_ns"`
	Packets          uint64                 `json:"packets"`
	Bytes            uint64                 `json:"bytes"`
	Verdicts         map[string]uint64      `json:"verdicts"`
	NsPerPacket      float64                `json:"ns_per_packet"`
	PacketsPerSecond float64                `json:"packets_per_second"`
	Workers          int                    `json:"workers"`
	Written          *uint64                `json:"written,omitempty"`
	Maps             map[string][]dumpEntry `json:"maps,omitempty"`
}

// runPcap runs prog on every packet of a capture and prints the counts.
// When the capture ends in error (truncated, say), the counts of the
// packets before it are printed, and the error returned.
func runPcap(prog *waggle.Program, coll *waggle.Collection, spec *ebpf.CollectionSpec, r pcapRun, e *env) error {
	var src io.Reader = e.stdin
	if r.in != "-" {
		f, err := os.Open(r.in)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	var dst io.Writer
	var outFile *os.File
	if r.out != "" {
		f, err := os.Create(r.out)
		if err != nil {
			return err
		}
		defer f.Close()
		dst, outFile = f, f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := packet.Options{Workers: r.workers, Budget: r.budget, Timeout: r.timeout, Context: ctx}
	var bar *progressBar
	if isTerminal(e.stderr) {
		bar = &progressBar{w: e.stderr, now: time.Now}
		opts.Progress = bar.update
	}
	st, err := packet.ProcessPcap(prog, src, dst, opts)
	bar.clear()
	if err != nil {
		err = fmt.Errorf("%s: %w", r.in, err)
	}
	if outFile != nil {
		if cerr := outFile.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if st == nil {
		return err
	}

	var dumped map[string][]dumpEntry
	if r.dumpMaps && coll != nil {
		var derr error
		if dumped, derr = dumpAll(coll, spec); derr != nil && err == nil {
			err = derr
		}
	}
	perPacket := time.Duration(st.NsPerPacket + 0.5)
	if r.asJSON {
		out := pcapJSON{Program: prog.Name(), Retval: uint64(st.LastReturn), DurationNS: perPacket.Nanoseconds(),
			Packets: st.Packets, Bytes: st.Bytes, Verdicts: st.Verdicts, NsPerPacket: st.NsPerPacket,
			PacketsPerSecond: st.PacketsPerSecond, Workers: st.Workers}
		if r.out != "" {
			out.Written = &st.Written
		}
		if r.dumpMaps {
			if dumped == nil {
				dumped = map[string][]dumpEntry{}
			}
			out.Maps = dumped
		}
		if jerr := json.NewEncoder(e.stdout).Encode(out); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	fmt.Fprintf(e.stdout, "Return value: %d (the last packet's), duration (average): %dns per packet\n", st.LastReturn, perPacket.Nanoseconds())
	workers := "1 worker"
	if st.Workers != 1 {
		workers = fmt.Sprintf("%d workers", st.Workers)
	}
	fmt.Fprintf(e.stdout, "Packets: %d (%d bytes) in %v with %s: %.0f packets/s, %.1f ns/packet\n",
		st.Packets, st.Bytes, st.Duration.Round(time.Microsecond), workers, st.PacketsPerSecond, st.NsPerPacket)
	names := make([]string, 0, len(st.Verdicts))
	for n := range st.Verdicts {
		names = append(names, n)
	}
	sort.Strings(names)
	counts := make([]string, len(names))
	for i, n := range names {
		counts[i] = fmt.Sprintf("%s %d", n, st.Verdicts[n])
	}
	if len(counts) == 0 {
		counts = append(counts, "none")
	}
	fmt.Fprintf(e.stdout, "Verdicts: %s\n", strings.Join(counts, ", "))
	if r.out != "" {
		fmt.Fprintf(e.stdout, "Written: %d packets to %s\n", st.Written, r.out)
	}
	if r.dumpMaps && coll != nil {
		printMaps(e.stdout, dumped)
	}
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return fdIsTerminal(f.Fd())
}

// progressLarge is the input size from which the progress bar shows.
const progressLarge = 10 << 20

// progressBar draws a progress bar on a terminal for large captures (more
// than progressLarge bytes, or unknown sizes once that much is read), at
// most 10 times a second.
type progressBar struct {
	w     io.Writer
	now   func() time.Time
	start time.Time
	last  time.Time
	done  int64 // at the last drawing
	shown bool
}

// update is packet.Options.Progress.
func (p *progressBar) update(done, total int64) {
	if !p.shown && total <= progressLarge && done <= progressLarge {
		return
	}
	now := p.now()
	if p.start.IsZero() {
		p.start = now
	}
	if p.shown && (done == p.done || now.Sub(p.last) < 100*time.Millisecond && (total == 0 || done < total)) {
		return
	}
	p.shown, p.last, p.done = true, now, done
	elapsed := now.Sub(p.start).Truncate(100 * time.Millisecond)
	const mb = 1 << 20
	if total <= 0 {
		fmt.Fprintf(p.w, "\r\033[K%.1f MB read, %v", float64(done)/mb, elapsed)
		return
	}
	const width = 30
	frac := min(float64(done)/float64(total), 1)
	filled := int(frac * width)
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %3.0f%% %.1f/%.1f MB, %v",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*frac, float64(done)/mb, float64(total)/mb, elapsed)
}

// clear erases the bar, if it was drawn.
func (p *progressBar) clear() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
