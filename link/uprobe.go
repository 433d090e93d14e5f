package link

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-ebpf/waggle"
)

// Uprobe is a uprobe or uretprobe program and the user function it runs
// on: at the function's entry (the instruction at Symbol+Offset) or, for
// Return, when it returns.
type Uprobe struct {
	Program *waggle.Program
	// Path is the executable or shared library: a path, or a library's
	// name without a directory ("libc.so.6"), found among the files the
	// process maps or in the dynamic loader's directories.
	Path string
	// Symbol is the function (from .symtab, .dynsym or a Go binary's
	// .gopclntab); Offset is added to its address (entry probes only).
	Symbol string
	Offset uint64
	// Return makes it a uretprobe: it runs when the function returns,
	// with the return value in the context's rax (PT_REGS_RC).
	Return bool
	// Cookie is what bpf_get_attach_cookie returns in the program's runs
	// here (libbpf's bpf_uprobe_opts.bpf_cookie).
	Cookie uint64
}

// ParseUprobeSection reads a uprobe program's ELF section as libbpf
// does: "uprobe/PATH:SYMBOL[+OFFSET]" or "uretprobe/PATH:SYMBOL" (also
// "uprobe.s/", "uretprobe.s/"). A bare "uprobe" or "uretprobe" names no
// function (placed is false): its place comes from elsewhere (waggle
// trace --uprobe).
func ParseUprobeSection(section string) (u Uprobe, placed bool, err error) {
	kind, target, _ := strings.Cut(section, "/")
	switch kind {
	case "uprobe", "uprobe.s":
	case "uretprobe", "uretprobe.s":
		u.Return = true
	default:
		return u, false, fmt.Errorf("section %q is not a uprobe's: want uprobe/PATH:SYMBOL[+OFFSET] or uretprobe/PATH:SYMBOL", section)
	}
	if target == "" {
		return u, false, nil
	}
	if err := u.SetTarget(target); err != nil {
		return u, false, fmt.Errorf("section %q: %w", section, err)
	}
	return u, true, nil
}

// SetTarget sets Path, Symbol and Offset from "PATH:SYMBOL[+OFFSET]"
// (OFFSET decimal or 0x hexadecimal); a return probe takes no offset.
func (u *Uprobe) SetTarget(target string) error {
	i := strings.LastIndex(target, ":")
	if i <= 0 || i == len(target)-1 {
		return fmt.Errorf("%q: want PATH:SYMBOL[+OFFSET]", target)
	}
	u.Path, u.Symbol, u.Offset = target[:i], target[i+1:], 0
	if sym, off, ok := strings.Cut(u.Symbol, "+"); ok {
		n, err := strconv.ParseUint(off, 0, 64)
		if err != nil || sym == "" {
			return fmt.Errorf("%q: the offset %q after the symbol is not a number", target, off)
		}
		if u.Return {
			return fmt.Errorf("%q: a uretprobe takes no offset: it runs when the function returns", target)
		}
		u.Symbol, u.Offset = sym, n
	}
	return nil
}

// UprobeOptions say which process the probes go into: a running one
// (PID), or a command that AttachUprobe starts (Path, Args, ...).
type UprobeOptions struct {
	// PID is a running process to trace: all its threads, and the
	// threads and processes they start while traced.
	PID int
	// Path is the command to start instead: a path, or a name looked up
	// in PATH; Args are its arguments, Args[0] its name, as in exec.Cmd.
	Path string
	Args []string
	// Env is its environment (nil: the current process's), Dir its
	// working directory ("": the current one).
	Env []string
	Dir string
	// Stdin, Stdout and Stderr are its standard files, as in exec.Cmd
	// (nil: the null device).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Probes are the programs and the functions they run on.
	Probes []Uprobe
	// USDT are the programs and the USDT probes they run on (every site
	// of each probe).
	USDT []USDT
	// Runs are the options of the programs' runs (their observer's
	// verdict is "entry" or "return").
	Runs
}

// UprobeStats are the counts of a uprobe link.
type UprobeStats struct {
	// Hits counts the breakpoints hit at probed functions' entries,
	// Returns the returns that return probes saw.
	Hits, Returns uint64
	// Stepped counts the displaced instructions that were single-stepped
	// with the other threads of the process stopped (those waggle does
	// not emulate).
	Stepped uint64
	// Handling is waggle's time at the stops: the programs' runs and the
	// ptrace requests, not the kernel's round trip to waggle.
	Handling time.Duration
	// Programs are the runs of each probe's program.
	Programs []UprobeProgram
}

// UprobeProgram are the runs of one probe's program.
type UprobeProgram struct {
	// Name is the program's name.
	Name string
	// Attach is where it runs: "uprobe/PATH:SYMBOL[+OFFSET]",
	// "uretprobe/PATH:SYMBOL" or "usdt/PATH:PROVIDER:NAME" (the runs of
	// every site of the probe).
	Attach string
	// Runs and Errors count its runs that returned and that failed.
	Runs, Errors uint64
}

// UprobeLink is a process whose functions run uprobe programs. See
// AttachUprobe.
type UprobeLink struct {
	r      runner
	t      *uprobeTracer
	pid    int
	target string
}

var _ Link = (*UprobeLink)(nil)

// Close detaches from the process, which goes on exactly as it was: the
// functions' original instructions back, the return addresses that
// return probes had replaced restored, no breakpoint's trap left pending.
// A command that AttachUprobe started is not killed: Close waits until
// it exits by itself.
func (l *UprobeLink) Close() error { return l.r.Close() }

// Wait waits until the process (and everything it started while traced)
// has exited, or the link was closed.
func (l *UprobeLink) Wait() error { return l.r.Wait() }

// Pid is the process's ID.
func (l *UprobeLink) Pid() int { return l.pid }

// ExitCode is the process's exit code, or 128 + the signal that killed
// it; -1 while it runs, and after a detach from a running process
// (--pid) that did not end.
func (l *UprobeLink) ExitCode() int { return l.t.exitCode() }

// Stats are the link's counts so far.
func (l *UprobeLink) Stats() UprobeStats { return l.t.stats() }

// Info describes the link: hook "uprobe", the command or process as
// target, the programs, their runs, and the counts of hits and returns.
func (l *UprobeLink) Info() Info {
	st := l.t.stats()
	i := Info{Hook: "uprobe", Target: l.target, Attached: l.r.attached, Duration: l.r.duration()}
	for _, p := range st.Programs {
		i.Runs += p.Runs
		i.RunErrors += p.Errors
	}
	i.Programs = l.t.programs()
	i.Counts = []Count{{Name: "hits", Value: st.Hits}, {Name: "returns", Value: st.Returns}}
	if code := l.t.exitCode(); code >= 0 {
		i.Counts = append(i.Counts, Count{Name: "exit code", Value: uint64(code)})
	}
	return i
}

func (l *UprobeLink) isLink() {}
