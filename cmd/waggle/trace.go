package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

func cmdTrace(args []string, e *env) error {
	fs := newFlags("trace", "[--pid PID | -- CMD ARGS...] PROG.o, or [options] PROG.o [-- CMD ARGS...]; options: [--uprobe PATH:SYMBOL[+OFFSET]] [--usdt [PROGRAM=]PATH:PROVIDER:NAME]... [--json] [--output FILE] [--dump-maps] [--set NAME=VALUE]... [--metrics ADDR] [--watch]",
		"Runs the uprobe, uretprobe and USDT programs of PROG.o on functions and\n"+
			"USDT probes of CMD (which waggle starts) or of the running process PID:\n"+
			"every thread, and the threads and processes they start. waggle exits with\n"+
			"CMD's status. The synopsis \"waggle trace -- CMD [ARGS...] PROG.o\" is\n"+
			"accepted too (PROG.o last).\n\n"+
			"Programs name their function in their section, as libbpf's:\n"+
			"SEC(\"uprobe/PATH:SYMBOL[+OFFSET]\") runs at the function's entry (or OFFSET\n"+
			"bytes into it), SEC(\"uretprobe/PATH:SYMBOL\") when it returns. PATH is an\n"+
			"executable or a library, by path or by name (libc.so.6: the one the process\n"+
			"maps); SYMBOL comes from .symtab, .dynsym or a Go binary's .gopclntab.\n"+
			"--uprobe PATH:SYMBOL places the programs whose section names no function:\n"+
			"SEC(\"uprobe\"), SEC(\"uretprobe\"), and kprobe/kretprobe programs (as\n"+
			"libbpf-tools' funclatency attaches its kprobe programs to user functions).\n"+
			"SEC(\"usdt/PATH:PROVIDER:NAME\") runs at every site of a USDT probe\n"+
			"(<sys/sdt.h>'s DTRACE_PROBE, from the file's .note.stapsdt notes), with its\n"+
			"semaphore set while attached; programs written with libbpf's usdt.bpf.h\n"+
			"(BPF_USDT, bpf_usdt_arg) read the arguments. --usdt PATH:PROVIDER:NAME places\n"+
			"the SEC(\"usdt\") programs, --usdt PROGRAM=PATH:PROVIDER:NAME one of them.\n"+
			"Programs of other types in PROG.o are left out. The context is the\n"+
			"thread's registers as an x86-64 struct pt_regs (PT_REGS_PARM1..., PT_REGS_RC,\n"+
			"BPF_KPROBE, BPF_KRETPROBE); helpers see the thread as the current task.\n\n"+
			"waggle is the process's ptrace tracer: each probe is an int3 breakpoint,\n"+
			"one ptrace stop a hit. SIGINT or SIGTERM detach: the process goes on exactly\n"+
			"as before (a started CMD then runs to its end, and waggle exits with its\n"+
			"status). Records of ring buffers and perf event arrays are printed as they\n"+
			"come, to standard error or --output; a summary ends the run. Linux on\n"+
			"x86-64 only; the process must be one waggle may ptrace.", e)
	pid := fs.Int("pid", 0, "trace the running process `PID` instead of a command, until it exits or waggle is interrupted")
	var places stringList
	fs.Var(&places, "uprobe", "place the programs whose section names no function at `PATH:SYMBOL[+OFFSET]`")
	var usdtPlaces stringList
	fs.Var(&usdtPlaces, "usdt", "place the SEC(\"usdt\") programs (or, with PROGRAM=, one of them) at the USDT probe `[PROGRAM=]PATH:PROVIDER:NAME`")
	sets := addSetFlag(fs)
	outFlags := addOutputFlags(fs, "the process has exited or waggle detached")
	budget := fs.Uint64("budget", 0, "stop a run after `N` instructions (0: waggle's default, 2^30)")
	timeout := fs.Duration("timeout", 0, "stop a run after `DURATION` (Go syntax: 10ms; 0: none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	rest := fs.Args()
	var obj string
	var cmd []string
	switch {
	case len(rest) == 0:
		return &usageError{"expected PROG.o: waggle trace [--pid PID] PROG.o [-- CMD [ARGS...]]"}
	case len(args) > len(rest) && args[len(args)-len(rest)-1] == "--":
		// waggle trace [flags] -- CMD ARGS... PROG.o
		if len(rest) < 2 {
			return &usageError{"expected CMD and PROG.o after --: waggle trace -- CMD [ARGS...] PROG.o"}
		}
		cmd, obj = rest[:len(rest)-1], rest[len(rest)-1]
	default:
		obj = rest[0]
		// Flags may follow PROG.o, then -- and CMD.
		if err := fs.Parse(rest[1:]); err != nil {
			return &usageError{err.Error()}
		}
		cmd = fs.Args()
	}
	switch {
	case *pid != 0 && len(cmd) > 0:
		return &usageError{"--pid and a command: choose one"}
	case *pid < 0:
		return &usageError{fmt.Sprintf("--pid %d: not a process ID", *pid)}
	case *pid == 0 && len(cmd) == 0:
		return &usageError{"expected a command or --pid: waggle trace PROG.o -- CMD [ARGS...] | waggle trace --pid PID PROG.o"}
	case *timeout < 0:
		return &usageError{fmt.Sprintf("--timeout %v must not be negative", *timeout)}
	case len(places) > 1:
		return &usageError{"--uprobe is given once: it places every program whose section names no function"}
	}
	spec, err := waggle.LoadCollectionSpec(obj)
	if err != nil {
		return err
	}
	if err := sets.applyAll(map[string]*ebpf.CollectionSpec{obj: spec}); err != nil {
		return err
	}
	// The probes, from the sections (and --uprobe); other programs are
	// left out of the collection.
	names := make([]string, 0, len(spec.Programs))
	for name := range spec.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	type placed struct {
		name string
		u    link.Uprobe
	}
	var probes []placed
	type placedUSDT struct {
		name string
		u    link.USDT
	}
	var usdts []placedUSDT
	usdtFor, err := parseUSDTPlaces(usdtPlaces)
	if err != nil {
		return err
	}
	for _, name := range names {
		ps := spec.Programs[name]
		sec := ps.SectionName
		kind, _, _ := strings.Cut(sec, "/")
		var u link.Uprobe
		hasPlace := false
		switch kind {
		case "usdt", "usdt.s":
			us, placed, err := link.ParseUSDTSection(sec)
			if err != nil {
				return fmt.Errorf("%s: program %s: %w", obj, name, err)
			}
			if !placed {
				target, ok := usdtFor[name]
				if !ok {
					target, ok = usdtFor[""]
				}
				if !ok {
					return fmt.Errorf("%s: program %s (section %s) names no USDT probe: give --usdt PATH:PROVIDER:NAME (or --usdt %s=PATH:PROVIDER:NAME), or name it in the section (usdt/PATH:PROVIDER:NAME)", obj, name, sec, name)
				}
				if err := us.SetTarget(target); err != nil {
					return &usageError{"--usdt " + err.Error()}
				}
			} else if _, ok := usdtFor[name]; ok {
				return &usageError{fmt.Sprintf("--usdt %s=...: program %s's section %s names its probe already (--usdt places SEC(\"usdt\") programs)", name, name, sec)}
			}
			delete(usdtFor, name)
			usdts = append(usdts, placedUSDT{name, us})
			continue
		case "uprobe", "uretprobe", "uprobe.s", "uretprobe.s":
			if u, hasPlace, err = link.ParseUprobeSection(sec); err != nil {
				return fmt.Errorf("%s: program %s: %w", obj, name, err)
			}
		case "kprobe", "kretprobe":
			u.Return = kind == "kretprobe"
		default:
			fmt.Fprintf(e.stderr, "waggle trace: %s: program %s (section %s) left out: not a uprobe\n", obj, name, sec)
			delete(spec.Programs, name)
			continue
		}
		if !hasPlace {
			if len(places) == 0 {
				delete(spec.Programs, name)
				if kind == "kprobe" || kind == "kretprobe" {
					fmt.Fprintf(e.stderr, "waggle trace: %s: program %s (section %s) left out: a kprobe runs on a user function only where --uprobe places it\n", obj, name, sec)
					continue
				}
				return fmt.Errorf("%s: program %s (section %s) names no function: give --uprobe PATH:SYMBOL, or name it in the section (uprobe/PATH:SYMBOL)", obj, name, sec)
			}
			if err := u.SetTarget(places[0]); err != nil {
				return &usageError{"--uprobe " + err.Error()}
			}
		}
		probes = append(probes, placed{name, u})
	}
	delete(usdtFor, "")
	for name := range usdtFor {
		return &usageError{fmt.Sprintf("--usdt %s=...: %s has no SEC(\"usdt\") program %s", name, obj, name)}
	}
	if len(probes) == 0 && len(usdts) == 0 {
		return fmt.Errorf("%s: no uprobe, uretprobe or usdt programs to run", obj)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Trace: e.stderr})
	if err != nil {
		return fmt.Errorf("%s: %w", obj, err)
	}
	objects := []*execObject{{path: obj, spec: spec, coll: coll}}
	defer coll.Close()
	var ups []link.Uprobe
	first := ""
	for _, p := range probes {
		p.u.Program = coll.Programs[p.name]
		ups = append(ups, p.u)
		if first == "" {
			first = p.name
		}
	}
	var uss []link.USDT
	for _, p := range usdts {
		p.u.Program = coll.Programs[p.name]
		// usdt.bpf.h's maps, which the link fills.
		p.u.Specs, p.u.IPs = coll.Maps[link.USDTSpecsMap], coll.Maps[link.USDTIPsMap]
		uss = append(uss, p.u)
		if first == "" {
			first = p.name
		}
	}
	obs := outFlags.obs
	obs.histVariables = true
	if err := obs.check(coll, spec); err != nil {
		return err
	}
	o, err := outFlags.open(e, objects)
	if err != nil {
		return err
	}
	defer o.close()
	runs := link.Runs{Budget: *budget, Timeout: *timeout}
	progMetrics := obs.programMetrics(first, nil)
	if progMetrics != nil {
		runs.Observer = progMetrics
	}
	opts := link.UprobeOptions{PID: *pid, Probes: ups, USDT: uss, Runs: runs}
	if len(cmd) > 0 {
		opts.Path, opts.Args = cmd[0], cmd
		opts.Stdin, opts.Stdout, opts.Stderr = e.stdin, e.stdout, o.cmdStderr
	}
	// SIGINT and SIGTERM detach; the process goes on.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := link.AttachUprobe(opts)
	if err != nil {
		return err
	}
	if err := o.observe("trace", objects[0], progMetrics, l, e); err != nil {
		_ = l.Close()
		return err
	}
	runErr := runLink(ctx, l)
	if err := o.finish(objects); err != nil {
		return err
	}
	if obs.hist != "" && !*outFlags.asJSON {
		if err := drawVariableHists(o.w, coll, obs.hist); err != nil {
			return err
		}
	}
	traceSummary(o.w, l, *outFlags.asJSON)
	if runErr != nil {
		return runErr
	}
	if code := l.ExitCode(); code > 0 {
		return &exitStatus{code}
	}
	return nil
}

// parseUSDTPlaces reads the --usdt flags: PROGRAM → PATH:PROVIDER:NAME,
// "" for the one without a program.
func parseUSDTPlaces(places []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range places {
		name, target, ok := strings.Cut(p, "=")
		if !ok {
			name, target = "", p
		}
		if _, dup := out[name]; dup {
			if name == "" {
				return nil, &usageError{"--usdt PATH:PROVIDER:NAME is given once: it places every SEC(\"usdt\") program (--usdt PROGRAM=PATH:PROVIDER:NAME places one)"}
			}
			return nil, &usageError{fmt.Sprintf("--usdt %s= is given twice", name)}
		}
		var u link.USDT
		if err := u.SetTarget(target); err != nil {
			return nil, &usageError{"--usdt " + err.Error()}
		}
		out[name] = target
	}
	return out, nil
}

// traceSummary is the summary's JSON line.
type traceSummaryJSON struct {
	Target     string        `json:"target"`
	ExitCode   int           `json:"exit_code"`
	DurationNS int64         `json:"duration_ns"`
	Hits       uint64        `json:"hits"`
	Returns    uint64        `json:"returns"`
	Stepped    uint64        `json:"stepped"`
	HandlingNS int64         `json:"handling_ns"`
	PerStopNS  int64         `json:"handling_ns_per_stop"`
	Programs   []execProgram `json:"programs"`
}

// traceSummary prints what a trace saw.
func traceSummary(w *lineWriter, l *link.UprobeLink, asJSON bool) {
	st := l.Stats()
	info := l.Info()
	per := int64(0)
	if n := st.Hits + st.Returns; n > 0 {
		per = int64(st.Handling) / int64(n)
	}
	if asJSON {
		s := traceSummaryJSON{Target: info.Target, ExitCode: l.ExitCode(), DurationNS: int64(info.Duration), Hits: st.Hits,
			Returns: st.Returns, Stepped: st.Stepped, HandlingNS: int64(st.Handling), PerStopNS: per}
		for _, p := range st.Programs {
			s.Programs = append(s.Programs, execProgram{p.Name, p.Attach, p.Runs, p.Errors})
		}
		b, _ := json.Marshal(map[string]any{"summary": s})
		w.line(string(b))
		return
	}
	var b strings.Builder
	end := fmt.Sprintf("exit status %d", l.ExitCode())
	if l.ExitCode() < 0 {
		end = "detached"
	}
	fmt.Fprintf(&b, "waggle trace: %s: %s after %v\n", info.Target, end, info.Duration.Round(time.Millisecond))
	for _, p := range st.Programs {
		fmt.Fprintf(&b, "  %s %s: %d runs, %d failed\n", p.Attach, p.Name, p.Runs, p.Errors)
	}
	fmt.Fprintf(&b, "  %d breakpoint hits, %d returns, %d displaced instructions single-stepped\n", st.Hits, st.Returns, st.Stepped)
	fmt.Fprintf(&b, "  added cost: %v of waggle per stop (%v in all), besides the kernel's round trip", time.Duration(per), st.Handling.Round(time.Microsecond))
	w.line(b.String())
}

// drawVariableHists draws the global integer arrays that --hist names
// (libbpf-tools' funclatency keeps its histogram in one: __u32
// hist[MAX_SLOTS]) as log2 histograms, as bcc's tools draw them, with the
// variable's name for the values' unit.
func drawVariableHists(w *lineWriter, coll *waggle.Collection, names string) error {
	for name := range strings.SplitSeq(names, ",") {
		v := coll.Variables[name]
		if v == nil {
			continue // a map: --watch draws it
		}
		arr, ok := btf.UnderlyingType(v.Type().Type).(*btf.Array)
		var elem *btf.Int
		if ok {
			elem, ok = btf.UnderlyingType(arr.Type).(*btf.Int)
		}
		if !ok || (elem.Size != 4 && elem.Size != 8) || arr.Nelems == 0 || arr.Nelems > 64 {
			return fmt.Errorf("--hist %s: a global variable drawn as a histogram is an array of at most 64 32- or 64-bit integers; %s is %s", name, name, v.Type().Type)
		}
		b := make([]byte, v.Size())
		if err := v.Get(&b); err != nil {
			return err
		}
		counts := make([]uint64, arr.Nelems)
		for i := range counts {
			if elem.Size == 4 {
				counts[i] = uint64(binary.NativeEndian.Uint32(b[4*i:]))
			} else {
				counts[i] = binary.NativeEndian.Uint64(b[8*i:])
			}
		}
		var buf strings.Builder
		renderLog2Hist(&buf, name, counts)
		w.line(strings.TrimSuffix(buf.String(), "\n"))
	}
	return nil
}
