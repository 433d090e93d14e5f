// Command waggle assembles, disassembles and runs eBPF programs in user
// space.
//
//	waggle asm [-o OUT] FILE           assemble text into bytecode
//	waggle disasm [--syntax S] FILE    disassemble bytecode or an ELF object
//	waggle inspect OBJ.o               list an object's programs and maps
//	waggle run [options] FILE          run a program, print its return value
//
// Run `waggle COMMAND --help` for each command's options. Exit status: 0 on
// success, 1 when the input is bad or the program fails, 2 for usage errors.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

const usage = `waggle: eBPF in user space, in pure Go

Usage:
  waggle asm [-o OUT] FILE              assemble eBPF assembly into bytecode
  waggle attach [options] PROG.o        run a packet program on a network interface (AF_PACKET)
  waggle disasm [--syntax S] FILE       disassemble bytecode or an ELF object
  waggle exec --policy OBJ.o -- CMD     run a command under a system call policy (seccomp)
  waggle inspect OBJ.o                  list an object's programs and maps
  waggle run [options] FILE             run a program and print its return value
  waggle verify [options] FILE          prove an object's programs safe, as the kernel's verifier

FILE may be "-" for standard input. Run "waggle COMMAND --help" for details.
`

// command is one subcommand.
type command struct {
	name string
	run  func(args []string, env *env) error
}

var commands = []command{
	{"asm", cmdAsm},
	{"attach", cmdAttach},
	{"disasm", cmdDisasm},
	{"exec", cmdExec},
	{"inspect", cmdInspect},
	{"run", cmdRun},
	{"verify", cmdVerify},
}

// env is the process's outside world, replaced in tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	os.Exit(runMain(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

func runMain(args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
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
	fmt.Fprintf(e.stderr, "waggle: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// newFlags makes a FlagSet for a subcommand whose help goes to stdout.
func newFlags(name, synopsis, description string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("waggle "+name, flag.ContinueOnError)
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
