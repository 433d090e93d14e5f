package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/elfsubset"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/verifier"
)

// verifyResult is one program's verdict, as --json prints it.
type verifyResult struct {
	Program               string     `json:"program"`
	Type                  string     `json:"type"`
	Verdict               string     `json:"verdict"`
	InstructionsProcessed int        `json:"instructions_processed"`
	PeakStates            int        `json:"peak_states"`
	TotalStates           int        `json:"total_states"`
	DurationNs            int64      `json:"duration_ns"`
	Error                 *errorJSON `json:"error,omitempty"`

	err error
}

type errorJSON struct {
	Index         int      `json:"index"`
	Slot          int      `json:"slot"`
	Instruction   string   `json:"instruction,omitempty"`
	Source        string   `json:"source,omitempty"`
	Reason        string   `json:"reason"`
	Register      string   `json:"register,omitempty"`
	Path          []string `json:"path,omitempty"`
	KernelMessage string   `json:"kernel_message,omitempty"`
}

func cmdVerify(args []string, e *env) error {
	fs := newFlags("verify", "[options] FILE",
		"Verifies the programs of an ELF object (or bytecode or assembly, with --type)\n"+
			"as the Linux kernel's verifier does for root, and prints each program's verdict,\n"+
			"the instructions the verifier processed, its peak and total states and its time.\n"+
			"A rejection names the instruction, its source line, why it is refused, the\n"+
			"offending register and the branches that lead there.\n"+
			"Exit status 0 when every program is accepted, 1 when one is rejected.", e)
	prog := fs.String("p", "", "verify only program `NAME` of the object")
	strict := fs.Bool("strict", false, "apply the kernel's rules for unprivileged programs")
	verbose := fs.Bool("v", false, "print the state after every instruction (the kernel's log level 2)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	typ := fs.String("type", "raw", "program `TYPE` of bytecode and assembly: "+strings.Join(kernel.ProgramTypeNames(), ", "))
	attach := fs.String("attach", "", "expected attach `TYPE` of bytecode and assembly, for the types that have them (cgroup_sock_addr: connect4, sendmsg6, ...)")
	maxInsns := fs.Int("max-insns", 0, "instructions to process before giving up (0: the kernel's 1,000,000)")
	memLimit := memoryLimitFlag(fs)
	sets := addSetFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	defer memLimit.apply()()
	defer verifyGC()()
	if len(pos) != 1 {
		return &usageError{"expected one FILE (or - for standard input)"}
	}
	pt, t, ok := kernel.ProgramTypeNamed(*typ)
	if !ok {
		return &usageError{fmt.Sprintf("--type %q is not one of %s", *typ, strings.Join(kernel.ProgramTypeNames(), ", "))}
	}
	var attachType ebpf.AttachType
	if *attach != "" {
		if attachType, ok = pt.AttachNamed(*attach); !ok {
			var names []string
			for _, a := range pt.Attach {
				names = append(names, a.Name)
			}
			if len(names) == 0 {
				return &usageError{fmt.Sprintf("--attach: %s programs have no attach types", pt.Name)}
			}
			return &usageError{fmt.Sprintf("--attach %q is not one of %s", *attach, strings.Join(names, ", "))}
		}
	}
	data, release, err := mapInput(pos[0], e)
	if err != nil {
		return err
	}
	defer release()
	var progs []*verifier.Program
	var spec *ebpf.CollectionSpec
	isELF := false
	if err := guardMapped(data, func() (err error) {
		if isELF = bytes.HasPrefix(data, elfMagic); isELF {
			spec, err = loadSpecFor(data, *prog)
		}
		return err
	}); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if isELF {
		if err := sets.apply(spec); err != nil {
			return &usageError{err.Error()}
		}
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			if *prog == "" || n == *prog {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			if *prog != "" {
				return fmt.Errorf("%s has no program %q", pos[0], *prog)
			}
			return fmt.Errorf("%s has no programs", pos[0])
		}
		sort.Strings(names)
		for _, n := range names {
			p, err := verifier.ProgramFromSpec(spec.Programs[n], spec.Maps)
			if err != nil {
				return fmt.Errorf("%s: program %s: %w", pos[0], n, err)
			}
			progs = append(progs, p)
		}
	} else {
		if *prog != "" {
			return &usageError{"-p names a program of an ELF object"}
		}
		if len(*sets) > 0 {
			return &usageError{"--set writes the global variables of an ELF object"}
		}
		p, err := loadProgram(pos[0], data)
		if err != nil {
			return err
		}
		progs = append(progs, &verifier.Program{Name: pos[0], Type: t, AttachType: attachType, Instructions: p.insns})
	}

	opts := verifier.Options{Strict: *strict, MaxInstructions: *maxInsns}
	if *verbose {
		opts.Log, opts.LogLevel = e.stdout, 2
	}
	var results []*verifyResult
	rejected := 0
	for _, p := range progs {
		if *verbose {
			fmt.Fprintf(e.stdout, "=== %s\n", p.Name)
		}
		st, err := verifier.Verify(p, opts)
		r := &verifyResult{Program: p.Name, Type: typeName(p.Type), Verdict: "accepted", err: err}
		if st != nil {
			r.InstructionsProcessed, r.PeakStates, r.TotalStates = st.InstructionsProcessed, st.PeakStates, st.TotalStates
			r.DurationNs = st.Duration.Nanoseconds()
		}
		if err != nil {
			rejected++
			r.Verdict = "rejected"
			r.Error = toErrorJSON(err)
		}
		results = append(results, r)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else if err := printVerify(e, results); err != nil {
		return err
	}
	if rejected > 0 {
		return &silentError{fmt.Sprintf("%d of %d programs rejected", rejected, len(results))}
	}
	return nil
}

// verifyGCPercent is the garbage collector's target while verify runs,
// unless GOGC is set: the heap may grow to three times what is live
// between collections, not two.
const verifyGCPercent = 200

// verifyGC sets the collector's target for verify and returns what
// restores the previous one (runMain also runs in-process, in tests).
// verify is a short-lived process whose heap is the object's specs and
// the verifier's states; at Go's default the first collections come at a
// heap of 4 MB and 8 MB, which a program of ten thousand instructions
// reaches. Measured on Cilium's programs (docs/BENCHMARKS.md, issue 14.5):
// 10 to 15% less CPU for programs of 10,000 to 40,000 processed
// instructions, no difference either way for larger ones or for those
// that need no collection, and at most 10 MB more memory at the peak
// (`verify -p cil_to_netdev bpf_host.o`: 46 → 57 MB resident).
func verifyGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(verifyGCPercent)
	return func() { debug.SetGCPercent(prev) }
}

// silentError is a failure already reported on standard output: exit
// status 1, with a short summary on standard error.
type silentError struct{ msg string }

func (e *silentError) Error() string { return e.msg }

// typeName names a program type in waggle verify's output: cilium/ebpf's
// name of a kernel type, the registry's of one of waggle's own ("raw").
func typeName(t ebpf.ProgramType) string {
	if pt, ok := kernel.ProgramTypeOf(t); ok && t >= kernel.RawMemory {
		return pt.Name
	}
	return t.String()
}

func toErrorJSON(err error) *errorJSON {
	var ve *verifier.Error
	if !errors.As(err, &ve) {
		return &errorJSON{Index: -1, Slot: -1, Reason: err.Error()}
	}
	out := &errorJSON{Index: ve.Index, Slot: ve.Slot, Source: ve.Source, Reason: ve.Reason,
		Register: ve.Register, Path: ve.Path, KernelMessage: ve.KernelMessage}
	if ve.Index >= 0 {
		out.Instruction = ve.Instruction.String()
	}
	return out
}

func printVerify(e *env, results []*verifyResult) error {
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PROGRAM\tTYPE\tVERDICT\tINSNS PROCESSED\tPEAK STATES\tTOTAL STATES\tTIME")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%v\n", r.Program, r.Type, r.Verdict,
			r.InstructionsProcessed, r.PeakStates, r.TotalStates, time.Duration(r.DurationNs).Round(time.Microsecond))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.err == nil {
			continue
		}
		fmt.Fprintf(e.stdout, "\n%s: %s\n", r.Program, r.err.Error())
		var ve *verifier.Error
		if errors.As(r.err, &ve) && ve.KernelMessage != "" {
			fmt.Fprintf(e.stdout, "  the kernel would say: %s\n", strings.ReplaceAll(ve.KernelMessage, "\n", "; "))
		}
	}
	return nil
}

// loadSpecFor reads an object for verifying its program prog, or all its
// programs when prog is "". With a program named, it reads the object as
// if that program were its only one (elfsubset): the others' instructions,
// relocations and line information are not decoded, which is most of the
// time it takes to read a large object (Cilium's). When the subset cannot
// be made or read, it reads the whole object, so that every error is the
// one the whole object gives.
func loadSpecFor(data []byte, prog string) (*ebpf.CollectionSpec, error) {
	if prog != "" {
		if sub, ok := elfsubset.Program(data, prog); ok {
			if spec, err := waggle.LoadCollectionSpecFromReader(sub); err == nil && spec.Programs[prog] != nil {
				return spec, nil
			}
		}
	}
	return waggle.LoadCollectionSpecFromReader(bytes.NewReader(data))
}
