package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/flame"
	"github.com/waggle-ebpf/waggle/internal/symtab"
	"github.com/waggle-ebpf/waggle/link"
)

// profileObject is the default program of waggle profile (bpf/profile.c,
// built by bpf/Makefile).
//
//go:embed bpf/profile.o
var profileObject []byte

// Stack trace maps whose value size or size an object leaves to its
// loader (libbpf-tools' profile.bpf.c: its user space sets them) get
// these: perf_event_max_stack frames and bcc's profile's default number
// of stacks.
const (
	profileMaxStack = 127
	profileStacks   = 16384
)

func cmdProfile(args []string, e *env) error {
	fs := newFlags("profile", "[--pid PID | -- CMD [ARGS...]] [--freq HZ] [--folded FILE] [--svg FILE] [--top N] [--json] [--output FILE] [--dump-maps] [--set NAME=VALUE]... [--metrics ADDR] [--watch] [-p NAME] [PROG.o]",
		"Samples a command, or a running process (--pid), HZ times a second of each\n"+
			"thread's CPU time, and runs a perf_event program on every sample: the\n"+
			"kernel's perf events are the timer (a software CPU clock of every thread,\n"+
			"inherited by the threads and processes they start), the program runs in\n"+
			"waggle with the sample's user registers as its struct bpf_perf_event_data,\n"+
			"and bpf_get_stackid and bpf_get_stack walk the sampled thread's user stack\n"+
			"by frame pointers (C built with -fno-omit-frame-pointer, Go).\n\n"+
			"Without PROG.o, waggle's own program (cmd/waggle/bpf/profile.c) counts the\n"+
			"samples by stack. With PROG.o (a SEC(\"perf_event\") program, such as bcc's\n"+
			"libbpf-tools profile.bpf.c), the stacks are read from the object's hash map\n"+
			"whose key has a user_stack_id field (and pid, kern_stack_id, name) and\n"+
			"whose value is a u64 count, with the stack trace map's addresses.\n\n"+
			"When the target has exited (or at SIGINT or SIGTERM for --pid, which\n"+
			"leaves the process running), the stacks are symbolised (ELF symbols of\n"+
			"the executable and its libraries, Go's line table) and written: a table\n"+
			"of the hottest functions (--top) to standard error or --output, never\n"+
			"to CMD's standard output; folded stacks (flamegraph.pl's input) to\n"+
			"--folded FILE; an SVG flame graph to --svg FILE.\n\n"+
			"Needs perf events: kernel.perf_event_paranoid at 2 or less (then samples\n"+
			"in system calls are not taken), or CAP_PERFMON or root. CMD is started\n"+
			"under ptrace until its events are open (kernel.yama.ptrace_scope).", e)
	pid := fs.Int("pid", 0, "profile the running process `PID` (its threads and what they start) until it exits or waggle is interrupted")
	freq := fs.Int("freq", 99, "samples a second of each thread's CPU time (`HZ`)")
	progName := fs.String("p", "", "use the perf_event program named `NAME` of PROG.o")
	folded := fs.String("folded", "", "write folded stacks (flamegraph.pl's input) to `FILE`")
	svg := fs.String("svg", "", "write an SVG flame graph to `FILE`")
	top := fs.Int("top", 20, "print the `N` functions with the most samples (0: none)")
	sets := addSetFlag(fs)
	asJSON := fs.Bool("json", false, "print the table, map dumps and the summary as JSON lines")
	output := fs.String("output", "", "write the table, map dumps and the summary to `FILE` instead of standard error")
	dumpMaps := fs.Bool("dump-maps", false, "print every map of the program when the profile ends")
	obs := addObserveFlags(fs)
	budget := fs.Uint64("budget", 0, "stop a run after `N` instructions (0: waggle's default, 2^30)")
	timeout := fs.Duration("timeout", 0, "stop a run after `DURATION` (0: none)")
	// waggle's arguments end at "--": the command is what follows.
	own, cmd := args, []string(nil)
	for i, a := range args {
		if a == "--" {
			own, cmd = args[:i], args[i+1:]
			break
		}
	}
	var positional []string
	for rest := own; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		// Flags may follow PROG.o.
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case len(positional) > 1:
		return &usageError{fmt.Sprintf("expected at most one object, PROG.o, before --; got %s (put the command after --)", strings.Join(positional, " "))}
	case *pid < 0:
		return &usageError{fmt.Sprintf("--pid %d: not a process ID", *pid)}
	case *pid != 0 && len(cmd) > 0:
		return &usageError{"--pid and a command: choose one"}
	case *pid == 0 && len(cmd) == 0:
		return &usageError{"expected a command after -- or --pid PID: waggle profile [PROG.o] -- CMD [ARGS...]"}
	case *freq < 1 || *freq > 100000:
		return &usageError{fmt.Sprintf("--freq %d: want 1 to 100000 samples a second", *freq)}
	case *top < 0:
		return &usageError{fmt.Sprintf("--top %d must not be negative", *top)}
	case *timeout < 0:
		return &usageError{fmt.Sprintf("--timeout %v must not be negative", *timeout)}
	case *progName != "" && len(positional) == 0:
		return &usageError{"-p names a program of PROG.o"}
	}
	path := "waggle's profile program"
	var spec *ebpf.CollectionSpec
	var err error
	if len(positional) == 1 {
		path = positional[0]
		spec, err = waggle.LoadCollectionSpec(path)
	} else {
		spec, err = waggle.LoadCollectionSpecFromReader(bytes.NewReader(profileObject))
	}
	if err != nil {
		return err
	}
	if err := sets.applyAll(map[string]*ebpf.CollectionSpec{path: spec}); err != nil {
		return err
	}
	for _, ms := range spec.Maps {
		if ms.Type == ebpf.StackTrace {
			if ms.ValueSize == 0 {
				ms.ValueSize = 8 * profileMaxStack
			}
			if ms.MaxEntries == 0 {
				ms.MaxEntries = profileStacks
			}
		}
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Trace: e.stderr})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer coll.Close()
	prog, err := pickPerfEvent(coll, *progName)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := obs.check(coll, spec); err != nil {
		return err
	}
	out, closeOut, err := openOutput(e.stderr, *output)
	if err != nil {
		return err
	}
	defer closeOut()
	w := &lineWriter{w: out}
	cmdStderr := e.stderr
	if out == e.stderr {
		cmdStderr = w
	}

	syms := newProfileSymbols()
	opts := link.ProfileOptions{PID: *pid, Frequency: *freq, Sampled: syms.sampled,
		Runs: link.Runs{Budget: *budget, Timeout: *timeout}}
	progMetrics := obs.programMetrics(prog.Name(), nil)
	if progMetrics != nil {
		opts.Observer = progMetrics
	}
	ctx := context.Background()
	if *pid != 0 {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	} else {
		opts.Path, opts.Args = cmd[0], cmd
		opts.Stdin, opts.Stdout, opts.Stderr = e.stdin, e.stdout, cmdStderr
		signal.Ignore(os.Interrupt, syscall.SIGTERM)
		defer signal.Reset(os.Interrupt, syscall.SIGTERM)
	}
	l, err := link.AttachProfile(prog, opts)
	if err != nil {
		return err
	}
	var watchOut io.Writer = w
	if f, ok := out.(*os.File); ok {
		watchOut = f
	}
	ob, err := obs.start(coll, spec, progMetrics, &env{stdin: e.stdin, stdout: watchOut, stderr: w}, linkHeader("profile", l))
	if err != nil {
		_ = l.Close()
		return err
	}
	if addr := ob.MetricsAddr(); addr != "" {
		w.line("waggle profile: metrics at http://" + addr + "/metrics")
	}
	runErr := runLink(ctx, l)
	ob.stop()

	stacks, note, err := readProfile(coll, spec, syms)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if *folded != "" {
		if err := writeFile(*folded, "--folded", func(f *os.File) error { return flame.WriteFolded(f, stacks) }); err != nil {
			return err
		}
	}
	if *svg != "" {
		title := "waggle profile: " + l.Info().Target
		if err := writeFile(*svg, "--svg", func(f *os.File) error { return flame.WriteSVG(f, stacks, title) }); err != nil {
			return err
		}
	}
	if *dumpMaps {
		if err := dumpObjects(w, []*execObject{{path: path, spec: spec, coll: coll}}, *asJSON); err != nil {
			return err
		}
	}
	profileSummary(w, l, stacks, *freq, *top, note, *asJSON)
	if runErr != nil {
		return runErr
	}
	if code := l.ExitCode(); code > 0 {
		return &exitStatus{code}
	}
	return nil
}

// writeFile creates path and writes it with write; errors name the flag.
func writeFile(path, flagName string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s: %w", flagName, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return nil
}

// pickPerfEvent picks the program to sample with: the one named, or the
// object's only perf_event program.
func pickPerfEvent(coll *waggle.Collection, name string) (*waggle.Program, error) {
	if name != "" {
		p, err := pickProgram(coll, name)
		if err != nil {
			return nil, err
		}
		if p.Type() != ebpf.PerfEvent {
			return nil, fmt.Errorf("program %s is not a perf_event program: its section is not SEC(\"perf_event\")", name)
		}
		return p, nil
	}
	var found []string
	for n, p := range coll.Programs {
		if p.Type() == ebpf.PerfEvent {
			found = append(found, n)
		}
	}
	sort.Strings(found)
	switch len(found) {
	case 1:
		return coll.Programs[found[0]], nil
	case 0:
		return nil, errors.New("no perf_event program: no program of section SEC(\"perf_event\")")
	}
	return nil, fmt.Errorf("%d perf_event programs (%s): choose one with -p", len(found), strings.Join(found, ", "))
}

// profileSymbols are the symbolisers of the sampled processes: each
// reads its process's mappings at the first sample and again when a
// sample's instruction is in none of them (a library loaded since), at
// most every 100 ms, while the process lives.
type profileSymbols struct {
	files *symtab.Files
	procs map[uint32]*profileProc
}

type profileProc struct {
	sym  *symtab.Symbolizer
	read time.Time
}

func newProfileSymbols() *profileSymbols {
	return &profileSymbols{files: &symtab.Files{}, procs: map[uint32]*profileProc{}}
}

// sampled is link.ProfileOptions.Sampled: it runs on the sampler's
// goroutine, before the program, while the process lives.
func (s *profileSymbols) sampled(tgid, tid uint32, ip uint64) {
	p := s.procs[tgid]
	if p == nil {
		p = &profileProc{sym: symtab.NewSymbolizer(nil, s.files)}
		p.sym.Root = "/proc/" + strconv.FormatUint(uint64(tgid), 10) + "/root"
		s.procs[tgid] = p
	} else if p.sym.Covers(ip) || time.Since(p.read) < 100*time.Millisecond {
		return
	}
	p.read = time.Now()
	// A process whose main thread has exited shows no mappings under its
	// own ID: the sampled thread's are the process's.
	ms, err := symtab.ReadMaps(int(tgid))
	if err != nil || len(ms) == 0 {
		ms, err = symtab.ReadMaps(int(tid))
	}
	if err == nil {
		p.sym.SetMappings(ms)
	}
}

// frame symbolises an address of process tgid's user stack.
func (s *profileSymbols) frame(tgid uint32, addr uint64, leaf bool) string {
	p := s.procs[tgid]
	if p == nil {
		return fmt.Sprintf("%#x", addr)
	}
	a := addr
	if !leaf && a > 0 {
		a-- // a return address: the call is before it
	}
	f := p.sym.Symbolize(a)
	if f.Func == "" && f.Module == "" {
		return fmt.Sprintf("%#x", addr)
	}
	return f.String()
}

// profileLayout is where an object keeps its samples: the counts map and
// its key's fields (byte offsets; -1: absent), and the stack trace map.
type profileLayout struct {
	counts, stacks          string
	pid, user, kernel, name int
	nameLen                 int
}

// findLayout finds the counts map (a hash map whose key is a struct with
// a user_stack_id field and whose value is 8 bytes) and the stack trace
// map of spec.
func findLayout(spec *ebpf.CollectionSpec) (profileLayout, error) {
	lay := profileLayout{pid: -1, user: -1, kernel: -1, name: -1}
	names := make([]string, 0, len(spec.Maps))
	for n := range spec.Maps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ms := spec.Maps[n]
		if ms.Type == ebpf.StackTrace && lay.stacks == "" {
			lay.stacks = n
		}
		if ms.Type != ebpf.Hash && ms.Type != ebpf.LRUHash || ms.ValueSize != 8 || lay.counts != "" {
			continue
		}
		st, ok := btf.UnderlyingType(ms.Key).(*btf.Struct)
		if !ok {
			continue
		}
		cand := profileLayout{pid: -1, user: -1, kernel: -1, name: -1}
		for _, m := range st.Members {
			off := int(m.Offset.Bytes())
			size, _ := btf.Sizeof(m.Type)
			switch m.Name {
			case "pid":
				if size == 4 {
					cand.pid = off
				}
			case "user_stack_id":
				if size == 4 {
					cand.user = off
				}
			case "kern_stack_id", "kernel_stack_id":
				if size == 4 {
					cand.kernel = off
				}
			case "name", "comm":
				cand.name, cand.nameLen = off, size
			}
		}
		if cand.user >= 0 {
			cand.counts, cand.stacks = n, lay.stacks
			lay = cand
		}
	}
	for _, n := range names {
		if spec.Maps[n].Type == ebpf.StackTrace && lay.stacks == "" {
			lay.stacks = n
		}
	}
	if lay.counts == "" || lay.stacks == "" {
		return lay, errors.New("no stacks to show: the object has no hash map whose key has a user_stack_id field and whose value is a u64 count, with a stack trace map (--dump-maps prints its maps)")
	}
	return lay, nil
}

// readProfile reads the object's counts and stacks into symbolised
// stacks: the thread's name first, then the user stack from its
// outermost frame, then the kernel stack's frames (address_[k]). A
// layout it cannot read is a note, not an error.
func readProfile(coll *waggle.Collection, spec *ebpf.CollectionSpec, syms *profileSymbols) ([]flame.Stack, string, error) {
	lay, err := findLayout(spec)
	if err != nil {
		return nil, err.Error(), nil
	}
	counts, stackMap := coll.Maps[lay.counts], coll.Maps[lay.stacks]
	if counts == nil || stackMap == nil {
		return nil, "", fmt.Errorf("maps %s and %s were not created", lay.counts, lay.stacks)
	}
	addrs := func(id int32) []uint64 {
		if id < 0 {
			return nil
		}
		b, err := stackMap.LookupBytes(uint32(id))
		if err != nil {
			return nil
		}
		var out []uint64
		for i := 0; i+8 <= len(b); i += 8 {
			a := binary.NativeEndian.Uint64(b[i:])
			if a == 0 {
				break
			}
			out = append(out, a)
		}
		return out
	}
	var stacks []flame.Stack
	missing := uint64(0)
	it := counts.Iterate()
	var key []byte
	var count uint64
	for it.Next(&key, &count) {
		i32 := func(off int) int32 {
			if off < 0 || off+4 > len(key) {
				return -1
			}
			return int32(binary.NativeEndian.Uint32(key[off:]))
		}
		tgid := uint32(0)
		if lay.pid >= 0 {
			tgid = uint32(i32(lay.pid))
		}
		root := "all"
		if lay.name >= 0 && lay.name+lay.nameLen <= len(key) {
			if n := string(bytes.TrimRight(key[lay.name:lay.name+lay.nameLen], "\x00")); n != "" {
				root = n
			}
		} else if lay.pid >= 0 {
			root = fmt.Sprintf("[pid %d]", tgid)
		}
		frames := []string{root}
		user := addrs(i32(lay.user))
		for j := len(user) - 1; j >= 0; j-- {
			frames = append(frames, syms.frame(tgid, user[j], j == 0))
		}
		kernel := addrs(i32(lay.kernel))
		for j := len(kernel) - 1; j >= 0; j-- {
			frames = append(frames, fmt.Sprintf("%#x_[k]", kernel[j]))
		}
		if len(user) == 0 && len(kernel) == 0 {
			missing += count
			frames = append(frames, "[no stack]")
		}
		stacks = append(stacks, flame.Stack{Frames: frames, Count: count})
	}
	if err := it.Err(); err != nil {
		return nil, "", fmt.Errorf("map %s: %w", lay.counts, err)
	}
	note := ""
	if missing > 0 {
		note = fmt.Sprintf("%d samples without a stack: bpf_get_stackid failed (as in the kernel: the stack trace map %s's bucket held another stack, EEXIST, or the map was full; or no frame)", missing, lay.stacks)
	}
	return stacks, note, nil
}

// profileRow is a line of the table in JSON.
type profileRow struct {
	Function string `json:"function"`
	Self     uint64 `json:"self"`
	Total    uint64 `json:"total"`
}

// profileJSON is the summary's JSON line.
type profileJSON struct {
	Target        string       `json:"target"`
	ExitCode      int          `json:"exit_code"`
	DurationNS    int64        `json:"duration_ns"`
	FrequencyHz   int          `json:"frequency_hz"`
	Samples       uint64       `json:"samples"`
	Lost          uint64       `json:"lost"`
	KernelSamples uint64       `json:"kernel_samples"`
	RunErrors     uint64       `json:"run_errors"`
	Threads       int          `json:"threads"`
	Processes     int          `json:"processes"`
	UserOnly      bool         `json:"user_only"`
	Counted       uint64       `json:"counted"`
	Top           []profileRow `json:"top"`
	Note          string       `json:"note,omitempty"`
}

// profileSummary prints the table of the hottest functions and what the
// profile saw.
func profileSummary(w *lineWriter, l *link.ProfileLink, stacks []flame.Stack, freq, top int, note string, asJSON bool) {
	st := l.Stats()
	info := l.Info()
	rows, counted := flame.Top(stacks, top)
	if asJSON {
		s := profileJSON{Target: info.Target, ExitCode: l.ExitCode(), DurationNS: int64(info.Duration), FrequencyHz: freq,
			Samples: st.Samples, Lost: st.Lost, KernelSamples: st.KernelSamples, RunErrors: st.RunErrors,
			Threads: st.Threads, Processes: st.Processes, UserOnly: st.UserOnly, Counted: counted, Top: []profileRow{}, Note: note}
		if top > 0 {
			for _, r := range rows {
				s.Top = append(s.Top, profileRow{r.Name, r.Self, r.Total})
			}
		}
		b, _ := json.Marshal(map[string]any{"profile": s})
		w.line(string(b))
		return
	}
	var b strings.Builder
	end := fmt.Sprintf("exit status %d", l.ExitCode())
	if l.ExitCode() < 0 {
		end = "detached"
	}
	fmt.Fprintf(&b, "waggle profile: %s: %s after %v; %d samples at %d Hz of %d threads in %d processes",
		info.Target, end, info.Duration.Round(time.Millisecond), st.Samples, freq, st.Threads, st.Processes)
	if st.Lost > 0 {
		fmt.Fprintf(&b, ", %d lost", st.Lost)
	}
	if st.RunErrors > 0 {
		fmt.Fprintf(&b, ", %d failed runs", st.RunErrors)
	}
	if st.UserOnly {
		b.WriteString(" (user mode only: kernel.perf_event_paranoid)")
	}
	b.WriteString("\n")
	if note != "" {
		b.WriteString("  " + note + "\n")
	}
	if top > 0 {
		_ = flame.WriteTop(&b, stacks, top)
	}
	w.line(strings.TrimSuffix(b.String(), "\n"))
}
