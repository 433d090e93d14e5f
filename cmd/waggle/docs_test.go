package main

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/proctest"
)

// TestDocumentedCommands runs every "go run ./cmd/waggle ..." line of the
// README and of the examples' READMEs, from the repository root, and
// requires it to succeed: the commands the documentation gives work
// (waggle exec's where the README's Platforms says they do; elsewhere
// they must fail saying what the system lacks, and are skipped). A
// file the command writes under /tmp is written in the test's own
// temporary folder instead, so that the test neither leaves files in /tmp
// nor fails on one that another user left there.
// usdtTarget is where the README builds testdata/usdt/target.c.
const usdtTarget = "/tmp/usdt_target"

func TestDocumentedCommands(t *testing.T) {
	t.Chdir("../..")
	docs, err := filepath.Glob("examples/*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, "README.md")
	found := 0
	for _, doc := range docs {
		f, err := os.Open(doc)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			rest, ok := strings.CutPrefix(line, "go run ./cmd/waggle ")
			if !ok {
				continue
			}
			found++
			args := strings.Fields(rest)
			t.Run(doc+": "+rest, func(t *testing.T) {
				args := slices.Clone(args)
				for i, a := range args {
					if strings.HasPrefix(a, "/tmp/") && a != usdtTarget {
						args[i] = filepath.Join(t.TempDir(), filepath.Base(a))
						// A bcc tool the README builds with clang
						// before: built here from a bcc checkout.
						if tool, ok := strings.CutSuffix(filepath.Base(a), ".bpf.o"); ok {
							buildBCCTool(t, tool, args[i])
						}
					}
				}
				if args[0] == "trace" {
					skipUnlessTrace(t)
				}
				// The USDT test program the README builds with gcc
				// before: built here (its path is also inside --usdt's
				// arguments).
				if slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, usdtTarget) }) {
					bin := proctest.BuildSDT(t, "testdata/usdt/target.c", "-O2", "-pthread")
					for i := range args {
						args[i] = strings.ReplaceAll(args[i], usdtTarget, bin)
					}
				}
				code, stdout, stderr := runCLI(t, "", args...)
				if code != 0 && args[0] == "exec" {
					// The README's Platforms: system call hooks need
					// Linux, the supervised path x86-64.
					for _, need := range []int{lowered, supervised, prefilter} {
						if refusal := execRefusal(need); refusal != "" && strings.Contains(stderr, refusal) {
							t.Skipf("not on %s/%s: %s", runtime.GOOS, runtime.GOARCH, strings.TrimSpace(stderr))
						}
					}
				}
				if code != 0 {
					t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				if !strings.Contains(stdout, "Return value: ") && args[0] == "run" {
					t.Errorf("no return value printed:\n%s", stdout)
				}
			})
		}
		f.Close()
	}
	if found < 5 {
		t.Fatalf("found %d documented commands, want the README's and one per example", found)
	}
}
