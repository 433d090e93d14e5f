// Command waggle assembles, disassembles, verifies and runs eBPF programs in
// user space, and attaches packet programs to network interfaces.
//
//	waggle asm [-o OUT] FILE           assemble text into bytecode
//	waggle attach [options] PROG.o     run a packet program on an interface
//	waggle disasm [--syntax S] FILE    disassemble bytecode or an ELF object
//	waggle gen BPF2GO-ARGS | FILE.go   write bpf2go's code with waggle's types
//	waggle inspect OBJ.o               list an object's programs and maps
//	waggle run [options] FILE          run a program, print its return value
//	waggle verify [options] FILE       verify an object's programs
//	waggle completion bash|zsh|fish    print a shell completion script
//	waggle help [COMMAND]              show the usage of waggle or a command
//	waggle version                     print the version (also --version)
//
// Run `waggle help COMMAND` for each command's options. Exit status: 0 on
// success, 1 when the input is bad or the program fails, 2 for usage errors.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// command is one subcommand.
type command struct {
	name     string
	synopsis string // its arguments, after "waggle NAME", in the overview
	summary  string // what it does, in a few words
	run      func(args []string, e *env) error
}

// commands are waggle's subcommands, in the overview's order. They are set
// in init because help and completion read the list.
var commands []command

func init() {
	commands = []command{
		{"asm", "[-o OUT] FILE", "assemble eBPF assembly into bytecode", cmdAsm},
		{"attach", "[options] PROG.o", "run a packet program on a network interface (AF_PACKET)", cmdAttach},
		{"disasm", "[--syntax S] FILE", "disassemble bytecode or an ELF object", cmdDisasm},
		{"exec", "--policy OBJ.o -- CMD", "run a command under a system call policy (seccomp)", cmdExec},
		{"trace", "[--pid PID | -- CMD ARGS...] PROG.o", "run uprobe and USDT programs on a process's functions and probes (ptrace)", cmdTrace},
		{"gen", "BPF2GO-ARGS | FILE.go", "write bpf2go's code with waggle's types (to switch a bpf2go project)", cmdGen},
		{"inspect", "OBJ.o", "list an object's programs and maps", cmdInspect},
		{"profile", "[PROG.o] -- CMD | --pid PID", "sample a command's stacks with a perf_event program: top functions, folded stacks, flame graph", cmdProfile},
		{"run", "[options] FILE", "run a program and print its return value", cmdRun},
		{"verify", "[options] FILE", "prove an object's programs safe, as the kernel's verifier", cmdVerify},
		{"completion", "bash|zsh|fish", "print a shell completion script", cmdCompletion},
		{"help", "[COMMAND]", "show the usage of waggle or of one command", cmdHelp},
		{"version", "", "print the version, VCS revision, Go version and platform", cmdVersion},
	}
}

// usage is the overview: "waggle help", "waggle --help".
func usage() string {
	var b strings.Builder
	b.WriteString("waggle: eBPF in user space, in pure Go\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-36s  %s\n", strings.TrimSpace("waggle "+c.name+" "+c.synopsis), c.summary)
	}
	b.WriteString("\nFILE may be \"-\" for standard input. Run \"waggle help COMMAND\" (or\n" +
		"\"waggle COMMAND --help\") for a command's options; \"waggle --version\" prints\n" +
		"the version.\n")
	return b.String()
}

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// env is the process's outside world, replaced in tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	// flags is the flag set that newFlags made last: how completion
	// learns each command's flags.
	flags *flag.FlagSet
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	os.Exit(runMain(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

func runMain(args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage())
		return 0
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(e.stderr, "waggle: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	err := c.run(args[1:], e)
	var ue *usageError
	var status *exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		return status.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "waggle %s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "waggle %s: %v\n", c.name, err)
		return 1
	}
}

// cmdHelp prints the overview, or one command's usage as "waggle COMMAND
// --help" does.
func cmdHelp(args []string, e *env) error {
	fs := newFlags("help", "[COMMAND]",
		"Prints the usage of COMMAND, as \"waggle COMMAND --help\" does, or without\n"+
			"COMMAND the list of commands.", e)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		fmt.Fprint(e.stdout, usage())
		return nil
	case 1:
	default:
		return &usageError{"expected at most one COMMAND"}
	}
	c, ok := lookup(pos[0])
	if !ok {
		return &usageError{fmt.Sprintf("unknown command %q: %s", pos[0], strings.Join(commandNames(), ", "))}
	}
	if err := c.run([]string{"--help"}, e); !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("waggle %s --help: %v", c.name, err)
	}
	return nil
}

// commandNames lists the commands' names.
func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// newFlags makes a FlagSet for a subcommand whose help goes to stdout.
func newFlags(name, synopsis, description string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("waggle "+name, flag.ContinueOnError)
	e.flags = fs
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "usage: waggle %s %s\n\n%s\n\nOptions:\n", name, synopsis, description)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(e.stderr)
	}
	return fs
}

// parse parses flags, allowing them after the positional arguments too, and
// returns the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// readInput reads FILE, or standard input for "-".
func readInput(name string, e *env) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(e.stdin)
	}
	return os.ReadFile(name)
}

// engineFlag adds --engine to fs.
// memoryLimit is the --memory-limit flag: the limit on the memory of all
// the maps of the process while the command runs.
type memoryLimit struct{ bytes uint64 }

// memoryLimitFlag adds --memory-limit to a command that loads objects.
func memoryLimitFlag(fs *flag.FlagSet) *memoryLimit {
	m := new(memoryLimit)
	fs.Func("memory-limit", "the most memory all maps may hold together: `SIZE` in bytes or with K, M, G or T (512M, 2G; default: half the machine's memory)", func(s string) error {
		n, err := maps.ParseSize(s)
		if err != nil {
			return err
		}
		m.bytes = n
		return nil
	})
	return m
}

// apply sets the limit, if the flag was given (0 is the default), and
// returns what restores the previous one.
func (m *memoryLimit) apply() (restore func()) {
	if m.bytes == 0 {
		return func() {}
	}
	prev, origin := maps.Process.Limit(), maps.Process.Origin()
	maps.Process.SetLimit(m.bytes, "waggle --memory-limit")
	return func() { maps.Process.SetLimit(prev, origin) }
}

func engineFlag(fs *flag.FlagSet) *waggle.Engine {
	e := new(waggle.Engine)
	fs.Func("engine", "what runs the program: `auto` (compiled where possible, the default), interpreter or jit", func(s string) error {
		switch s {
		case "auto":
			*e = waggle.EngineAuto
		case "interpreter":
			*e = waggle.EngineInterpreter
		case "jit":
			*e = waggle.EngineJIT
		default:
			return fmt.Errorf("unknown engine %q: auto, interpreter or jit", s)
		}
		return nil
	})
	return e
}
