package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// busyFlags build testdata/profile/busy.c as the profiler wants C: frame
// pointers, leaf functions' too.
var busyFlags = []string{"-O1", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-pthread"}

// needProfiling skips a test where perf events cannot be opened.
func needProfiling(t *testing.T) {
	t.Helper()
	if err := link.ProfilingAvailable(); err != nil {
		t.Skipf("skipped: perf events are not permitted here: %v", err)
	}
}

// buildBusyGo builds testdata/profile/gobusy, stripped of its ELF symbols
// (-s) so that only the Go line table names its functions.
func buildBusyGo(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipped: no go command to build the Go program to profile")
	}
	bin := filepath.Join(t.TempDir(), "gobusy")
	cmd := exec.Command(goTool, "build", "-ldflags=-s", "-o", bin, ".")
	cmd.Dir = "../../testdata/profile/gobusy"
	cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// profileResult is what a waggle profile run gave.
type profileResult struct {
	summary profileJSON
	folded  string
	stdout  string
	stderr  string
}

// runProfile runs waggle profile with --json, --folded and --svg, checks
// that it succeeded and that the SVG is well-formed, and reads the
// summary and the folded stacks.
func runProfile(t *testing.T, args ...string) profileResult {
	t.Helper()
	dir := t.TempDir()
	folded, svg := filepath.Join(dir, "out.folded"), filepath.Join(dir, "out.svg")
	all := append([]string{"profile", "--json", "--folded", folded, "--svg", svg}, args...)
	code, stdout, stderr := runCLI(t, "", all...)
	if code != 0 {
		t.Fatalf("waggle %s: exit %d\n%s", strings.Join(all, " "), code, stderr)
	}
	var r profileResult
	r.stdout, r.stderr = stdout, stderr
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &m) != nil || m["profile"] == nil {
			continue
		}
		if err := json.Unmarshal(m["profile"], &r.summary); err != nil {
			t.Fatal(err)
		}
	}
	if r.summary.Samples == 0 {
		t.Fatalf("no summary with samples in:\n%s", stderr)
	}
	b, err := os.ReadFile(folded)
	if err != nil {
		t.Fatal(err)
	}
	r.folded = string(b)
	s, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		Groups  []struct {
			Title string `xml:"title"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(s, &doc); err != nil {
		t.Fatalf("the SVG is not well-formed: %v", err)
	}
	if len(doc.Groups) < 2 {
		t.Errorf("the SVG has %d frames", len(doc.Groups))
	}
	return r
}

// checkHot checks that fn has at least 90 % of the samples as the leaf,
// and that the folded stacks have it under callers.
func checkHot(t *testing.T, r profileResult, fn, callers string) {
	t.Helper()
	s := r.summary
	if len(s.Top) == 0 || s.Top[0].Function != fn {
		t.Fatalf("hottest functions %+v; want %s first\n%s", s.Top, fn, r.stderr)
	}
	if s.Top[0].Self*10 < s.Counted*9 || s.Counted != s.Samples {
		t.Errorf("%s has %d of %d samples (%d counted); want at least 90 %%", fn, s.Top[0].Self, s.Samples, s.Counted)
	}
	if !strings.Contains(r.folded, callers+";"+fn+" ") {
		t.Errorf("no folded stack with %s;%s:\n%s", callers, fn, r.folded)
	}
}

// TestProfileC profiles a C program: its hottest function is found in
// at least 90 % of the samples, symbolised under its callers; the
// command's output stays on standard output, waggle's on standard error.
func TestProfileC(t *testing.T) {
	needProfiling(t)
	busy := proctest.BuildC(t, "../../testdata/profile/busy.c", busyFlags...)
	for _, mode := range []string{"", "fork"} {
		t.Run("mode="+mode, func(t *testing.T) {
			args := []string{"--freq", "499", "--", busy, "150000000"}
			if mode != "" {
				args = append(args, mode)
			}
			r := runProfile(t, args...)
			checkHot(t, r, "hot", "main;spin;warm")
			lines := strings.Fields(r.stdout)
			if (mode == "" && len(lines) != 1) || (mode == "fork" && len(lines) != 2) {
				t.Errorf("the command's standard output is %q", r.stdout)
			}
			if strings.Contains(r.stdout, "samples") {
				t.Errorf("waggle wrote to the command's standard output: %q", r.stdout)
			}
			if mode == "fork" && r.summary.Processes != 2 {
				t.Errorf("%d processes sampled, want 2 (the child too)", r.summary.Processes)
			}
			if !strings.HasPrefix(r.folded, "busy;") {
				t.Errorf("folded stacks do not start with the command's name:\n%s", r.folded)
			}
		})
	}
}

// TestProfileGo profiles a stripped Go program: its frames are named by
// the Go line table.
func TestProfileGo(t *testing.T) {
	needProfiling(t)
	r := runProfile(t, "--freq", "499", "--", buildBusyGo(t), "100000000")
	checkHot(t, r, "main.spin", "main.work")
	if r.summary.Threads < 2 {
		t.Errorf("%d threads sampled, want the two goroutines' threads", r.summary.Threads)
	}
}

// TestProfileText checks the table printed without --json, to standard
// error, and --dump-maps.
func TestProfileText(t *testing.T) {
	needProfiling(t)
	busy := proctest.BuildC(t, "../../testdata/profile/busy.c", busyFlags...)
	code, stdout, stderr := runCLI(t, "", "profile", "--top", "3", "--dump-maps", "--", busy, "100000000")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	wantContains(t, "stderr", stderr, []string{"waggle profile: " + busy + " 100000000: exit status 0", "SELF%", "  hot\n", "counts", "stacks"})
	if strings.Contains(stdout, "SELF") {
		t.Errorf("the table went to the command's standard output: %q", stdout)
	}
	out := filepath.Join(t.TempDir(), "out.txt")
	code, _, stderr = runCLI(t, "", "profile", "--output", out, "--", busy, "10000000")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "waggle profile: ") {
		t.Errorf("--output has %q (%v)", b, err)
	}
	if code, _, stderr = runCLI(t, "", "profile", "--", "/bin/sh", "-c", "exit 3"); code != 3 {
		t.Errorf("a command's exit status 3 gave %d\n%s", code, stderr)
	}
}

// TestProfileErrors checks that bad arguments are refused with a message
// naming what is wrong.
func TestProfileErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"profile"}, "expected a command after -- or --pid PID"},
		{[]string{"profile", "--pid", "5", "--", "true"}, "--pid and a command: choose one"},
		{[]string{"profile", "--pid", "-5"}, "--pid -5: not a process ID"},
		{[]string{"profile", "--freq", "0", "--", "true"}, "--freq 0: want 1 to 100000"},
		{[]string{"profile", "--top", "-1", "--", "true"}, "--top -1 must not be negative"},
		{[]string{"profile", "a.o", "b.o", "--", "true"}, "expected at most one object"},
		{[]string{"profile", "-p", "x", "--", "true"}, "-p names a program of PROG.o"},
		{[]string{"profile", "/nonexistent.o", "--", "true"}, "/nonexistent.o"},
		{[]string{"profile", "../../testdata/progs/xdp_parse.o", "--", "true"}, "no perf_event program"},
		{[]string{"profile", "--set", "nope=1", "--", "true"}, "no global variable \"nope\""},
		{[]string{"profile", "--bogus", "--", "true"}, "flag provided but not defined: -bogus"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("waggle %s: exit %d, stderr %q; want a failure saying %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}

// TestProfileBCC runs bcc's libbpf-tools profile.bpf.c, built from a bcc
// checkout (WAGGLE_BCC, else /work/ext/bcc), on the C program: its
// counts and stack trace maps give the same hottest function.
func TestProfileBCC(t *testing.T) {
	needProfiling(t)
	obj := filepath.Join(t.TempDir(), "profile.bpf.o")
	buildBCCTool(t, "profile", obj)
	busy := proctest.BuildC(t, "../../testdata/profile/busy.c", busyFlags...)
	// As bcc's profile -U (user stacks only).
	r := runProfile(t, "--freq", "499", "--set", "user_stacks_only=true", obj, "--", busy, "150000000")
	checkHot(t, r, "hot", "main;spin;warm")
	r = runProfile(t, "--freq", "499", obj, "--", busy, "100000000")
	checkHot(t, r, "hot", "main;spin;warm")
}

// TestProfileObjectUpToDate rebuilds bpf/profile.c, when clang is
// installed, and checks that the embedded object holds the same program
// and maps.
func TestProfileObjectUpToDate(t *testing.T) {
	if _, err := os.Stat("/usr/include/bpf/bpf_helpers.h"); err != nil {
		t.Skipf("skipped: no libbpf headers (libbpf-dev), which bpf/profile.c includes: %v", err)
	}
	kerneltest.ObjectsUpToDate(t, "bpf/profile.c")
}
