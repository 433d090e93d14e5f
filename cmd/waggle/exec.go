package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/ringbuf"
)

// exitStatus ends waggle with a status of its own (the command's, for
// exec) without a message.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// execObject is one object that exec loaded: the policy's or a trace's.
type execObject struct {
	path string
	spec *ebpf.CollectionSpec
	coll *waggle.Collection
}

func cmdExec(args []string, e *env) error {
	fs := newFlags("exec", "[--policy OBJ.o [-p NAME]] [--trace OBJ.o]... [--supervise] [--explain] [--json] [--output FILE] [--dump-maps] [--set NAME=VALUE]... [--metrics ADDR] [--watch] [--] CMD [ARGS...] | --pid PID --trace OBJ.o...",
		"Runs CMD under a system call policy and tracing programs; waggle exits\n"+
			"with CMD's status (128 + the signal for a killed command: 159 for SIGSYS,\n"+
			"the signal of KILL_PROCESS).\n\n"+
			"The policy is a program of section SEC(\"seccomp\") in OBJ.o, which gets each\n"+
			"system call's struct seccomp_data (<linux/seccomp.h>) and returns a\n"+
			"SECCOMP_RET_* action (ALLOW, ERRNO | e, KILL_PROCESS, TRAP, LOG). It decides\n"+
			"every system call of CMD, of its threads and of every process it starts,\n"+
			"from its first instruction. A policy that reads only its seccomp_data and\n"+
			"decides with comparisons and bit operations (no maps, no helpers, no stack,\n"+
			"no loops) is lowered to a classic BPF seccomp filter that the kernel runs\n"+
			"itself: all decisions are made in the kernel and hold even if waggle dies.\n"+
			"Any other policy (maps, helpers: counters, quotas, paths read with\n"+
			"bpf_probe_read_user_str) runs in waggle, supervised: a classic pre-filter\n"+
			"decides in the kernel every call whose action depends on its number alone\n"+
			"and sends the others to waggle (seccomp user notification). If waggle\n"+
			"dies, those calls fail with ENOSYS: CMD never goes on unpoliced.\n\n"+
			"--trace OBJ.o (repeatable) attaches the object's tracing programs:\n"+
			"SEC(\"tracepoint/syscalls/sys_enter_NAME\"), tracepoint/raw_syscalls/sys_enter\n"+
			"(also tp/...) and raw_tracepoint/sys_enter, with the kernel's record layouts;\n"+
			"only the calls they name leave the kernel. Records that programs write to\n"+
			"ring buffers and perf event arrays are printed as they come, decoded by\n"+
			"the object's BTF (struct event: fields by name, char arrays as strings),\n"+
			"to standard error or --output, never to CMD's standard output. A supervised\n"+
			"run ends with a summary: the calls that reached waggle, each program's\n"+
			"runs, the decisions, and waggle's time per call. Exit tracepoints\n"+
			"(sys_exit_NAME, raw_syscalls/sys_exit, raw_tracepoint/sys_exit) need the\n"+
			"result: for the calls they name, waggle is CMD's ptrace tracer (two stops a\n"+
			"call, as strace --seccomp-bpf).\n\n"+
			"--metrics ADDR and --watch serve and draw the first object's maps (the\n"+
			"policy's, or the first trace's) and the runs of all the programs.\n\n"+
			"--pid PID traces a running process instead (ptrace: every system call\n"+
			"stops twice; it is traced, not policed) until it exits or waggle gets\n"+
			"SIGINT or SIGTERM, and then detaches.\n\n"+
			"--explain prints the classic filter (the lowered policy, or the pre-filter\n"+
			"and the system calls that leave the kernel) to standard error before\n"+
			"running CMD; without CMD it only prints it. No root is needed (waggle sets\n"+
			"no_new_privs, so CMD cannot gain privileges through set-user-ID programs),\n"+
			"but a supervised CMD must be one waggle may ptrace (kernel.yama.ptrace_scope).", e)
	policyPath := fs.String("policy", "", "the ELF object `OBJ.o` of the policy")
	progName := fs.String("p", "", "use the policy program named `NAME` of the object")
	var traces stringList
	fs.Var(&traces, "trace", "attach the tracing programs of `OBJ.o` (repeatable)")
	sets := addSetFlag(fs)
	supervise := fs.Bool("supervise", false, "run the policy in waggle even when the kernel could run it")
	explain := fs.Bool("explain", false, "print the classic seccomp filter the kernel runs")
	outFlags := addOutputFlags(fs, "CMD has exited")
	obs := outFlags.obs
	budget := fs.Uint64("budget", 0, "stop a run after `N` instructions; a policy's failed run denies the call with EPERM (0: waggle's default, 2^30)")
	timeout := fs.Duration("timeout", 0, "stop a run after `DURATION` (Go syntax: 10ms; 0: none), as --budget")
	pid := fs.Int("pid", 0, "trace the running process `PID` (and what it starts) instead of a command, until it exits or waggle is interrupted")
	// Flags come before the command: everything from the first argument
	// that is not a flag (or after --) is the command's.
	// Not parse: what follows CMD is CMD's, not waggle's flags.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	cmd := fs.Args()
	if *policyPath == "" && len(traces) == 0 {
		return &usageError{"--policy or --trace is required"}
	}
	if *progName != "" && *policyPath == "" {
		return &usageError{"-p names a program of --policy's object"}
	}
	switch {
	case *pid != 0 && *policyPath != "":
		return &usageError{"--pid traces a running process; it cannot be policed (--policy)"}
	case *pid != 0 && len(cmd) > 0:
		return &usageError{"--pid and a command: choose one"}
	case *timeout < 0:
		return &usageError{fmt.Sprintf("--timeout %v must not be negative", *timeout)}
	case *pid < 0:
		return &usageError{fmt.Sprintf("--pid %d: not a process ID", *pid)}
	case len(cmd) == 0 && *pid == 0 && !*explain:
		return &usageError{"expected a command to run: waggle exec --policy OBJ.o -- CMD [ARGS...]"}
	}
	var objects []*execObject
	defer func() {
		for _, o := range objects {
			o.coll.Close()
		}
	}()
	// The specs first, so that --set reaches them before their
	// collections are made.
	specs := map[string]*ebpf.CollectionSpec{}
	paths := append([]string(nil), traces...)
	if *policyPath != "" {
		paths = append([]string{*policyPath}, paths...)
	}
	for _, path := range paths {
		if specs[path] != nil {
			continue
		}
		spec, err := waggle.LoadCollectionSpec(path)
		if err != nil {
			return err
		}
		specs[path] = spec
	}
	if err := sets.applyAll(specs); err != nil {
		return err
	}
	load := func(path string) (*execObject, error) {
		spec := specs[path]
		coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Trace: e.stderr})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		o := &execObject{path: path, spec: spec, coll: coll}
		objects = append(objects, o)
		return o, nil
	}
	var policy *waggle.Program
	if *policyPath != "" {
		o, err := load(*policyPath)
		if err != nil {
			return err
		}
		if policy, err = pickPolicy(o.coll, *progName); err != nil {
			return fmt.Errorf("%s: %w", *policyPath, err)
		}
	}
	var attached []link.Trace
	for _, path := range traces {
		o, err := load(path)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(o.spec.Programs))
		for name := range o.spec.Programs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			p := o.coll.Programs[name]
			if p == nil {
				continue
			}
			if t := p.Type(); t != ebpf.TracePoint && t != ebpf.RawTracepoint {
				return fmt.Errorf("%s: program %s (section %s) is not a tracing program: --trace takes system call tracepoints", path, name, o.spec.Programs[name].SectionName)
			}
			attached = append(attached, link.Trace{Program: p, Section: o.spec.Programs[name].SectionName})
		}
		if len(names) == 0 {
			return fmt.Errorf("%s: no programs to trace with", path)
		}
	}
	// --metrics and --watch show the first object: the policy's, or the
	// first trace's; every program's runs count under its first program.
	first := objects[0]
	if err := obs.check(first.coll, first.spec); err != nil {
		return err
	}
	lowered := policy != nil && len(attached) == 0 && !*supervise
	if lowered {
		if _, err := link.Filter(policy); err != nil {
			lowered = false
		}
	}
	if *explain {
		if err := explainExec(e.stderr, policy, attached, lowered); err != nil {
			return err
		}
		if len(cmd) == 0 && *pid == 0 {
			return nil
		}
	}

	o, err := outFlags.open(e, objects)
	if err != nil {
		return err
	}
	defer o.close()
	w, asJSON := o.w, outFlags.asJSON
	var l *link.ExecLink
	ctx := context.Background()
	runs := link.Runs{Budget: *budget, Timeout: *timeout}
	firstName := ""
	if policy != nil {
		firstName = policy.Name()
	} else if len(attached) > 0 {
		firstName = attached[0].Program.Name()
	}
	progMetrics := obs.programMetrics(firstName, nil)
	if progMetrics != nil {
		runs.Observer = progMetrics
	}
	if *pid != 0 {
		l, err = link.AttachProcess(link.ProcessOptions{PID: *pid, Traces: attached, Runs: runs})
		// SIGINT and SIGTERM detach from the process, which goes on.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	} else {
		l, err = link.AttachExec(policy, link.ExecOptions{Path: cmd[0], Args: cmd, Traces: attached, Supervise: *supervise,
			Stdin: e.stdin, Stdout: e.stdout, Stderr: o.cmdStderr, Runs: runs})
		// SIGINT and SIGTERM reach the command as they would without
		// waggle (its process group gets them from the terminal);
		// waggle only waits.
		signal.Ignore(os.Interrupt, syscall.SIGTERM)
		defer signal.Reset(os.Interrupt, syscall.SIGTERM)
	}
	if err != nil {
		return err
	}
	if err := o.observe("exec", first, progMetrics, l, e); err != nil {
		_ = l.Close()
		return err
	}
	runErr := runLink(ctx, l)
	if err := o.finish(objects); err != nil {
		return err
	}
	if l.Supervised() {
		summary(w, l, *asJSON)
	}
	if runErr != nil {
		return runErr
	}
	if code := l.ExitCode(); code > 0 {
		return &exitStatus{code}
	}
	return nil
}

// pickPolicy picks the policy program of an object: the one named, or
// its only program of section SEC("seccomp").
func pickPolicy(coll *waggle.Collection, name string) (*waggle.Program, error) {
	if name != "" {
		p, err := pickProgram(coll, name)
		if err != nil {
			return nil, err
		}
		if p.Type() != waggle.Seccomp {
			return nil, fmt.Errorf("program %s is not a system call policy: its section is not SEC(\"seccomp\")", p.Name())
		}
		return p, nil
	}
	var found []*waggle.Program
	for _, p := range coll.Programs {
		if p.Type() == waggle.Seccomp {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, errors.New("no system call policy: no program of section SEC(\"seccomp\")")
	}
	return nil, fmt.Errorf("%d system call policies: choose one with -p", len(found))
}

// explainExec prints what the kernel will run.
func explainExec(w io.Writer, policy *waggle.Program, traces []link.Trace, lowered bool) error {
	if lowered {
		filter, err := link.Filter(policy)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "policy %s: a classic seccomp filter of %d instructions; every system call is decided in the kernel, none leaves it\n%s",
			policy.Name(), len(filter), filter)
		return nil
	}
	filter, leave, err := link.Prefilter(policy, traces)
	if err != nil {
		return err
	}
	var names []string
	if policy != nil {
		names = append(names, "policy "+policy.Name())
	}
	for _, t := range traces {
		names = append(names, t.Program.Name()+" ("+t.Section+")")
	}
	fmt.Fprintf(w, "%s: supervised; a classic pre-filter of %d instructions decides in the kernel every system call but %d, which leave it for waggle: %s\n%s",
		strings.Join(names, ", "), len(filter), len(leave), strings.Join(leave, " "), filter)
	return nil
}

// openOutput opens --output's FILE for the lines of exec and profile
// (events, map dumps, summaries), or gives stderr when there is none;
// the function closes it.
func openOutput(stderr io.Writer, path string) (io.Writer, func(), error) {
	if path == "" {
		return stderr, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--output: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// dumpObjects prints every map of each object (--dump-maps): a JSON line
// per object with --json, else the object's path and its maps as
// printMaps draws them.
func dumpObjects(w *lineWriter, objects []*execObject, asJSON bool) error {
	for _, o := range objects {
		dumped, err := dumpAll(o.coll, o.spec)
		if err != nil {
			return err
		}
		if asJSON {
			b, err := json.Marshal(map[string]any{"object": o.path, "maps": dumped})
			if err != nil {
				return err
			}
			w.line(string(b))
			continue
		}
		var buf strings.Builder
		fmt.Fprintf(&buf, "%s:\n", o.path)
		printMaps(&buf, dumped)
		w.line(strings.TrimSuffix(buf.String(), "\n"))
	}
	return nil
}

// hexRecord is a record that no BTF type decodes, in hex, its trailing
// zeros counted rather than printed (libbpf-tools' records hold paths
// of several KiB, mostly zeros).
func hexRecord(rec []byte) string {
	data := bytes.TrimRight(rec, "\x00")
	if zeros := len(rec) - len(data); zeros > 8 {
		return fmt.Sprintf("%x (and %d zero bytes: no struct of the object's BTF decodes it; --event-type names one)", data, zeros)
	}
	return fmt.Sprintf("%x", rec)
}

// lineWriter writes whole lines from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, s)
}

// Write writes p whole under the lock, for the command's own output.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// eventReaders print the records of ring buffers (as they come) and of
// perf event arrays (every 50 ms and at the end, each map is drained with
// Map.Dump).
type eventReaders struct {
	rings  []*ringbuf.Reader
	drains []func()
	done   chan struct{}
	wg     sync.WaitGroup
}

// startEvents starts a reader for every ring buffer and perf event array
// of the objects: each record is printed as a line, decoded by the map's
// BTF value type or the object's struct event.
func startEvents(objects []*execObject, w *lineWriter, asJSON bool) *eventReaders {
	ev := &eventReaders{done: make(chan struct{})}
	print := func(name string, t btf.Type, rec []byte) {
		if asJSON {
			w.line(`{"map":"` + name + `","event":` + string(metrics.AppendJSON(nil, t, rec)) + "}")
			return
		}
		if v, ok := metrics.Decode(t, rec); ok {
			w.line(name + ": " + v.String())
			return
		}
		w.line(name + ": " + hexRecord(rec))
	}
	for _, o := range objects {
		names := make([]string, 0, len(o.coll.Maps))
		for name := range o.coll.Maps {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			m := o.coll.Maps[name]
			var t btf.Type
			if ms := o.spec.Maps[name]; ms != nil && m.Type() == ebpf.RingBuf {
				t = ms.Value
			}
			if t == nil {
				t = ringEventType(o.spec)
			}
			switch m.Type() {
			case ebpf.RingBuf:
				// A reader woken by each record, as the tools' own: a
				// ring fills up in a burst far shorter than a polling
				// period (opensnoop's 256 KiB hold 31 records).
				rd, err := ringbuf.NewReader(m)
				if err != nil {
					continue
				}
				ev.rings = append(ev.rings, rd)
				ev.wg.Add(1)
				go func() {
					defer ev.wg.Done()
					var rec ringbuf.Record
					for rd.ReadInto(&rec) == nil {
						print(name, t, rec.RawSample)
					}
				}()
			case ebpf.PerfEventArray:
				// Open every slot, as a user of the kernel's perf
				// buffers does.
				for i := range m.MaxEntries() {
					_ = m.Put(i, uint32(0))
				}
				// Map.Dump drains the records written since.
				drain := func() {
					entries, err := m.Dump()
					if err != nil {
						return
					}
					for _, en := range entries {
						print(name, t, en.Value)
					}
				}
				ev.drains = append(ev.drains, drain)
				ev.wg.Add(1)
				go func() {
					defer ev.wg.Done()
					tick := time.NewTicker(50 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-ev.done:
							return
						case <-tick.C:
							drain()
						}
					}
				}()
			}
		}
	}
	return ev
}

// stop stops the readers and prints the records still waiting.
func (ev *eventReaders) stop() {
	close(ev.done)
	for _, rd := range ev.rings {
		_ = rd.Flush() // its reader returns once the ring is empty
	}
	ev.wg.Wait()
	for _, rd := range ev.rings {
		_ = rd.Close()
	}
	for _, drain := range ev.drains {
		drain()
	}
}

// execSummary is the summary's JSON line.
type execSummary struct {
	Command        string            `json:"command"`
	ExitCode       int               `json:"exit_code"`
	DurationNS     int64             `json:"duration_ns"`
	Notified       uint64            `json:"notified"`
	Syscalls       map[string]uint64 `json:"syscalls"`
	Programs       []execProgram     `json:"programs"`
	Allowed        uint64            `json:"allowed"`
	Denied         uint64            `json:"denied"`
	Killed         uint64            `json:"killed"`
	Trapped        uint64            `json:"trapped"`
	Emulated       uint64            `json:"emulated"`
	PtraceStops    uint64            `json:"ptrace_stops"`
	Gone           uint64            `json:"gone"`
	HandlingNS     int64             `json:"handling_ns"`
	PerCallNS      int64             `json:"handling_ns_per_call"`
	ClassicFilter  int               `json:"prefilter_instructions"`
	ProgramsErrors uint64            `json:"run_errors"`
}

type execProgram struct {
	Name   string `json:"name"`
	Attach string `json:"attach"`
	Runs   uint64 `json:"runs"`
	Errors uint64 `json:"errors"`
}

// summary prints what a supervised run saw.
func summary(w *lineWriter, l *link.ExecLink, asJSON bool) {
	st := l.Stats()
	info := l.Info()
	per := int64(0)
	if st.Notifications > 0 {
		per = int64(st.Handling) / int64(st.Notifications)
	}
	if asJSON {
		s := execSummary{Command: info.Target, ExitCode: l.ExitCode(), DurationNS: int64(info.Duration), Notified: st.Notifications,
			Syscalls: st.Syscalls, Allowed: st.Allowed, Denied: st.Denied, Killed: st.Killed, Trapped: st.Trapped,
			Emulated: st.Emulated, PtraceStops: st.PtraceStops, Gone: st.Gone, HandlingNS: int64(st.Handling), PerCallNS: per,
			ClassicFilter: len(l.Filter()), ProgramsErrors: st.RunErrors}
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
	fmt.Fprintf(&b, "waggle exec: %s: %s after %v\n", info.Target, end, info.Duration.Round(time.Millisecond))
	var calls []string
	for _, c := range st.SyscallsByCount() {
		calls = append(calls, fmt.Sprintf("%s %d", c.Name, c.Value))
	}
	fmt.Fprintf(&b, "  %d system calls reached waggle's programs", st.Notifications)
	if len(calls) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(calls, ", "))
	}
	if len(l.Filter()) > 0 {
		fmt.Fprintf(&b, "; the %d-instruction pre-filter decided the others in the kernel", len(l.Filter()))
	}
	b.WriteString("\n")
	for _, p := range st.Programs {
		fmt.Fprintf(&b, "  %s %s: %d runs, %d failed\n", p.Attach, p.Name, p.Runs, p.Errors)
	}
	fmt.Fprintf(&b, "  decisions: %d allowed, %d denied, %d killed, %d trapped; %d made by waggle, %d callers gone\n",
		st.Allowed, st.Denied, st.Killed, st.Trapped, st.Emulated, st.Gone)
	if st.PtraceStops > 0 {
		fmt.Fprintf(&b, "  %d ptrace stops for the exit programs\n", st.PtraceStops)
	}
	fmt.Fprintf(&b, "  added cost: %v of waggle per call that reached it (%v in all), besides the kernel's round trip",
		time.Duration(per), st.Handling.Round(time.Microsecond))
	w.line(b.String())
}
