package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/waggle-ebpf/waggle/internal/bpf2go"
)

// defaultBpf2go is how gen runs bpf2go: the version the project's go.mod
// requires (cilium/ebpf is waggle's dependency, so it is in the module
// graph of every project that uses waggle).
const defaultBpf2go = "go run github.com/cilium/ebpf/cmd/bpf2go"

const genSynopsis = "[--bpf2go CMD] BPF2GO-ARGS... | FILE.go..."

func cmdGen(args []string, e *env) error {
	fs := newFlags("gen", genSynopsis,
		"Writes the code of cilium/ebpf's bpf2go with waggle's types: the same\n"+
			"loadXxx, loadXxxObjects and xxxObjects/xxxPrograms/xxxMaps/xxxVariables\n"+
			"(*waggle.Program, *waggle.Map, *waggle.Variable; loadXxx returns a\n"+
			"*waggle.CollectionSpec, whose LoadAndAssign loads into waggle), so that\n"+
			"a bpf2go project switches to waggle by changing one line, its go:generate:\n"+
			"\n"+
			"  //go:generate go run github.com/cilium/ebpf/cmd/bpf2go counter counter.c\n"+
			"becomes\n"+
			"  //go:generate go run github.com/waggle-ebpf/waggle/cmd/waggle gen counter counter.c\n"+
			"\n"+
			"With bpf2go's arguments, gen runs bpf2go with them (clang builds the object,\n"+
			"as before) and converts the Go files it writes. With Go files that bpf2go\n"+
			"generated already, gen converts them in place, without clang. Converting a\n"+
			"converted file changes nothing. Every argument other than --bpf2go and\n"+
			"--help, which come first, is bpf2go's.", e)
	bpf2goCmd := fs.String("bpf2go", defaultBpf2go, "the `command` that runs bpf2go; its words are split at spaces")
	// gen's own flags come first; the rest, flags included, are bpf2go's.
	own := 0
	for own < len(args) {
		a := args[own]
		switch {
		case a == "-h" || a == "-help" || a == "--help":
			own++
			continue
		case a == "-bpf2go" || a == "--bpf2go":
			own += 2
			continue
		case strings.HasPrefix(a, "-bpf2go=") || strings.HasPrefix(a, "--bpf2go="):
			own++
			continue
		}
		break
	}
	if err := fs.Parse(args[:min(own, len(args))]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	rest := args[min(own, len(args)):]
	if len(rest) == 0 {
		return &usageError{"expected bpf2go's arguments (IDENT SOURCE.c [-- CFLAGS]) or the Go files bpf2go generated"}
	}
	if allGoFiles(rest) {
		return convertFiles(rest, e)
	}
	return runBpf2go(strings.Fields(*bpf2goCmd), rest, e)
}

// allGoFiles reports whether every argument names a .go file: gen then
// converts them instead of running bpf2go (whose arguments are an
// identifier and a C file).
func allGoFiles(args []string) bool {
	for _, a := range args {
		if !strings.HasSuffix(a, ".go") || strings.HasPrefix(a, "-") {
			return false
		}
	}
	return true
}

// convertFiles converts Go files that bpf2go generated, in place.
func convertFiles(files []string, e *env) error {
	for _, name := range files {
		if err := convertFile(name); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "waggle gen: converted %s\n", name)
	}
	return nil
}

func convertFile(name string) error {
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := bpf2go.Convert(name, src)
	if err != nil {
		return err
	}
	if bytes.Equal(out, src) {
		return nil
	}
	return writeAtomic(name, out)
}

// writeAtomic replaces a file by a complete new one.
func writeAtomic(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a failure
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return os.Rename(tmp.Name(), name)
}

// fileState is what gen notes of a Go file before bpf2go runs, to find
// the files bpf2go writes.
type fileState struct {
	size    int64
	modTime time.Time
}

// runBpf2go runs bpf2go with args and converts the Go files it wrote in
// its output directory.
func runBpf2go(command, args []string, e *env) error {
	if len(command) == 0 {
		return &usageError{"--bpf2go is empty"}
	}
	dir := outputDir(args)
	before, err := goFiles(dir)
	if err != nil {
		return err
	}
	cmd := exec.Command(command[0], append(slices.Clone(command[1:]), args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(command, " "), err)
	}
	after, err := goFiles(dir)
	if err != nil {
		return err
	}
	var written []string
	for _, name := range sortedNames(after) {
		if old, ok := before[name]; ok && old == after[name] {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if bpf2go.IsGenerated(src) {
			written = append(written, name)
		}
	}
	if len(written) == 0 {
		return fmt.Errorf("%s wrote no Go file in %s", strings.Join(command, " "), dir)
	}
	return convertFiles(written, e)
}

func sortedNames(m map[string]fileState) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// outputDir is bpf2go's -output-dir among its arguments, else ".".
func outputDir(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "output-dir" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return "."
}

// goFiles notes the size and modification time of the Go files of dir.
func goFiles(dir string) (map[string]fileState, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	files := make(map[string]fileState, len(names))
	for _, n := range names {
		info, err := os.Stat(n)
		if err != nil {
			return nil, err
		}
		files[n] = fileState{info.Size(), info.ModTime()}
	}
	return files, nil
}
