package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	// exampleDir is waggle's bpf2go example, whose generated files are
	// the conversion's expected output.
	exampleDir = "../../examples/bpf2go/counter"
	// bpf2goInputs are bpf2go's own files for the example, unconverted.
	bpf2goInputs = "../../internal/bpf2go/testdata"
)

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameFile reports an error when the files differ.
func sameFile(t *testing.T, got, want string) {
	t.Helper()
	a, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s:\n%s", got, want, a)
	}
}

// TestGenConvert converts bpf2go's files in place, as a bpf2go user
// without clang does, and checks the result against the example.
func TestGenConvert(t *testing.T) {
	tmp := t.TempDir()
	var files []string
	for _, target := range []string{"bpfel", "bpfeb"} {
		f := filepath.Join(tmp, "counter_"+target+".go")
		copyFile(t, filepath.Join(bpf2goInputs, "counter_"+target+".go.in"), f)
		files = append(files, f)
	}
	for round := range 2 { // the second converts nothing
		code, stdout, stderr := runCLI(t, "", append([]string{"gen"}, files...)...)
		if code != 0 {
			t.Fatalf("round %d: exit %d\nstdout: %s\nstderr: %s", round, code, stdout, stderr)
		}
		wantContains(t, "stderr", stderr, []string{"converted " + files[0], "converted " + files[1]})
		for _, f := range files {
			sameFile(t, f, filepath.Join(exampleDir, filepath.Base(f)))
		}
	}
}

func TestGenErrors(t *testing.T) {
	tmp := t.TempDir()
	notGenerated := filepath.Join(tmp, "hand.go")
	if err := os.WriteFile(notGenerated, []byte("package hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no arguments", []string{"gen"}, 2, "expected bpf2go's arguments"},
		{"only gen's flag", []string{"gen", "--bpf2go", "x"}, 2, "expected bpf2go's arguments"},
		{"empty bpf2go", []string{"gen", "--bpf2go=", "counter", "counter.c"}, 2, "--bpf2go is empty"},
		{"missing file", []string{"gen", filepath.Join(tmp, "none.go")}, 1, "none.go: no such file"},
		{"not bpf2go's", []string{"gen", notGenerated}, 1, notGenerated + ": not a file that bpf2go generated"},
		{"bpf2go missing", []string{"gen", "--bpf2go", filepath.Join(tmp, "no-bpf2go"), "counter", "counter.c"}, 1, "no-bpf2go"},
		{"help", []string{"gen", "--help"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, stderr)
			}
			wantContains(t, "stderr", stderr, []string{tc.wantErr})
		})
	}
}

// TestGenRunsBpf2go runs gen with a stand-in for bpf2go
// (testdata/gen/fake_bpf2go.sh): gen passes bpf2go's arguments through,
// converts the file bpf2go writes and leaves the others alone.
func TestGenRunsBpf2go(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh is not installed; the stand-in for bpf2go is a shell script")
	}
	fake, err := filepath.Abs("testdata/gen/fake_bpf2go.sh")
	if err != nil {
		t.Fatal(err)
	}
	input, err := filepath.Abs(filepath.Join(bpf2goInputs, "counter_bpfel.go.in"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Abs(filepath.Join(exampleDir, "counter_bpfel.go"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Chdir(tmp)
	// Another bpf2go file that this run does not write stays cilium/ebpf's.
	copyFile(t, input, "other_bpfel.go")

	t.Setenv("FAKE_BPF2GO_OUT", input)
	code, stdout, stderr := runCLI(t, "", "gen", "--bpf2go", fake, "-tags", "linux", "counter", "counter.c", "--", "-I../headers")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	wantContains(t, "stdout", stdout, []string{"fake bpf2go -tags linux counter counter.c -- -I../headers"})
	sameFile(t, "counter_bpfel.go", want)
	sameFile(t, "other_bpfel.go", input)

	t.Setenv("FAKE_BPF2GO_OUT", "")
	code, _, stderr = runCLI(t, "", "gen", "--bpf2go", fake, "counter", "counter.c")
	if code != 1 || !strings.Contains(stderr, "wrote no Go file in .") {
		t.Errorf("a bpf2go that writes nothing: exit %d, stderr %s", code, stderr)
	}
	t.Setenv("FAKE_BPF2GO_FAIL", "1")
	code, _, stderr = runCLI(t, "", "gen", "--bpf2go", fake, "counter", "counter.c")
	if code != 1 || !strings.Contains(stderr, "failing as asked") || !strings.Contains(stderr, "exit status 3") {
		t.Errorf("a failing bpf2go: exit %d, stderr %s", code, stderr)
	}
}

func TestGenOutputDir(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"counter", "counter.c"}, "."},
		{[]string{"-output-dir", "gen", "counter", "counter.c"}, "gen"},
		{[]string{"--output-dir=out", "counter", "counter.c"}, "out"},
		{[]string{"counter", "counter.c", "--", "-output-dir", "cflag"}, "."},
	} {
		if got := outputDir(tc.args); got != tc.want {
			t.Errorf("outputDir(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestGenBpf2go runs the example's go:generate for real: cilium/ebpf's
// bpf2go (the version of go.mod) compiles counter.c with clang, and gen
// converts bpf2go's files into the committed ones.
func TestGenBpf2go(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: building bpf2go takes a while")
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("clang is not installed; bpf2go needs it to compile the example")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bpf2go")
	build := exec.Command("go", "build", "-o", bin, "github.com/cilium/ebpf/cmd/bpf2go")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build bpf2go: %v\n%s", err, out)
	}
	src, err := filepath.Abs(filepath.Join(exampleDir, "counter.c"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Abs(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "counter")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	copyFile(t, src, "counter.c")
	t.Setenv("GOPACKAGE", "counter")
	args := generateArgs(t, filepath.Join(want, "gen.go"))
	code, stdout, stderr := runCLI(t, "", append([]string{"gen", "--bpf2go", bin}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, f := range []string{"counter_bpfel.go", "counter_bpfeb.go"} {
		sameFile(t, f, filepath.Join(want, f))
	}
}

// generateArgs are the arguments of `waggle gen` on the go:generate line
// of a file.
func generateArgs(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "//go:generate go run github.com/waggle-ebpf/waggle/cmd/waggle gen "
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("%s has no line %q", file, prefix)
	return nil
}

// bpf2goCommand matches the ways a go:generate line runs cilium/ebpf's
// bpf2go: as a tool of the module, with go run, or installed.
var bpf2goCommand = regexp.MustCompile(`^//go:generate (go tool bpf2go|go run github\.com/cilium/ebpf/cmd/bpf2go(@\S+)?|bpf2go) `)

// switchLine is the one-line switch of a bpf2go project: its go:generate
// line, running waggle gen where it ran bpf2go.
func switchLine(line string) (string, bool) {
	m := bpf2goCommand.FindStringSubmatchIndex(line)
	if m == nil {
		return line, false
	}
	return line[:m[2]] + "go run github.com/waggle-ebpf/waggle/cmd/waggle gen" + line[m[3]:], true
}

// ciliumExamples is where cilium/ebpf's examples are: $CILIUM_EBPF_EXAMPLES,
// or ../ext/cilium-ebpf/examples next to the repository.
func ciliumExamples(t *testing.T) string {
	dir := os.Getenv("CILIUM_EBPF_EXAMPLES")
	if dir == "" {
		dir = "../../../ext/cilium-ebpf/examples"
	}
	if _, err := os.Stat(filepath.Join(dir, "xdp", "bpf_bpfel.go")); err != nil {
		t.Skipf("cilium/ebpf's examples are not at %s (set CILIUM_EBPF_EXAMPLES to a checkout's examples folder): %v", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestGenCiliumExamples switches bpf2go projects of cilium/ebpf's
// examples to waggle with the one-line change, in a module of their own,
// and runs a test written as their users write them
// (testdata/gen/cilium_NAME_test.go.txt) with go test. With clang, the
// switched go:generate line runs (bpf2go, then waggle gen); without, gen
// converts the example's committed bpf2go files. main.go, which attaches
// to the kernel with cilium/ebpf's link package, is left out.
func TestGenCiliumExamples(t *testing.T) {
	examples := ciliumExamples(t)
	if testing.Short() {
		t.Skip("-short: the test builds a module of its own")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	_, clangErr := exec.LookPath("clang")
	tmp := t.TempDir()
	writeModule(t, tmp, root)
	if err := os.CopyFS(filepath.Join(tmp, "headers"), os.DirFS(filepath.Join(examples, "headers"))); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"xdp", "tcx"} {
		src := filepath.Join(examples, name)
		dir := filepath.Join(tmp, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		var generated []string
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, "bpf_") || strings.HasSuffix(n, ".c") {
				copyFile(t, filepath.Join(src, n), filepath.Join(dir, n))
				if strings.HasSuffix(n, ".go") {
					generated = append(generated, filepath.Join(dir, n))
				}
			}
		}
		mainGo, err := os.ReadFile(filepath.Join(src, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		var generate string
		for line := range strings.Lines(string(mainGo)) {
			if switched, ok := switchLine(line); ok {
				generate = switched
			}
		}
		if generate == "" {
			t.Fatalf("%s/main.go has no go:generate line running bpf2go", name)
		}
		gen := "package main\n\n" + generate + "\n// main, cilium/ebpf's, attaches the programs with its link package.\nfunc main() {}\n"
		if err := os.WriteFile(filepath.Join(dir, "gen.go"), []byte(gen), 0o644); err != nil {
			t.Fatal(err)
		}
		copyFile(t, filepath.Join("testdata", "gen", "cilium_"+name+"_test.go.txt"), filepath.Join(dir, name+"_test.go"))
		if clangErr == nil {
			goCommand(t, tmp, "generate", "./"+name)
		} else {
			t.Logf("clang is not installed (%v): converting %s's committed bpf2go files instead of running go generate", clangErr, name)
			if code, stdout, stderr := runCLI(t, "", append([]string{"gen"}, generated...)...); code != 0 {
				t.Fatalf("%s: gen: exit %d\n%s%s", name, code, stdout, stderr)
			}
		}
	}
	out := goCommand(t, tmp, "test", "-count=1", "./...")
	t.Logf("go test:\n%s", out)
}

// writeModule writes the go.mod and go.sum of a module that uses the
// waggle of root, with waggle's requirements (so nothing is fetched).
func writeModule(t *testing.T, dir, root string) {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	_, requires, ok := strings.Cut(string(mod), "\nrequire")
	if !ok {
		t.Fatal("waggle's go.mod has no require")
	}
	gomod := "module example.com/switched\n\ngo 1.26\n\nrequire github.com/waggle-ebpf/waggle v0.0.0\n\nreplace github.com/waggle-ebpf/waggle => " + root + "\n\nrequire" + requires
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(root, "go.sum"), filepath.Join(dir, "go.sum"))
}

// goCommand runs the go command in dir, offline, and returns its output.
func goCommand(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestSwitchLine(t *testing.T) {
	const gen = "//go:generate go run github.com/waggle-ebpf/waggle/cmd/waggle gen "
	for _, tc := range []struct{ line, want string }{
		{"//go:generate go tool bpf2go -tags linux bpf xdp.c -- -I../headers", gen + "-tags linux bpf xdp.c -- -I../headers"},
		{"//go:generate go run github.com/cilium/ebpf/cmd/bpf2go counter counter.c", gen + "counter counter.c"},
		{"//go:generate go run github.com/cilium/ebpf/cmd/bpf2go@v0.22.0 counter counter.c", gen + "counter counter.c"},
		{"//go:generate bpf2go counter counter.c", gen + "counter counter.c"},
		{"//go:generate stringer -type T", ""},
	} {
		got, ok := switchLine(tc.line)
		if tc.want == "" {
			if ok {
				t.Errorf("switchLine(%q) switched to %q", tc.line, got)
			}
			continue
		}
		if !ok || got != tc.want {
			t.Errorf("switchLine(%q) = %q, %v; want %q", tc.line, got, ok, tc.want)
		}
	}
}
