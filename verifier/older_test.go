package verifier

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/verifiertest"
	"github.com/waggle-ebpf/waggle/isa"
)

// Older kernels' rules apply to a whole process (the package variable
// older, which the scalar operations read), so a test that needs the
// verdict an older kernel's verifier would give runs this test binary
// again: olderVerdicts starts it with -test.run=^TestOlderVerdicts$ and the
// rules and programs in the environment, and this init sets older before
// anything runs.

const olderRunFlag = "-test.run=^TestOlderVerdicts$"

func init() {
	if !slices.Contains(os.Args, olderRunFlag) {
		return
	}
	if n, err := strconv.Atoi(os.Getenv("WAGGLE_OLDER_RULES")); err == nil {
		older = olderRules(n)
	}
}

// olderVerdict is a program's verdict under older rules: accepted, or the
// kernel's message of the rejection.
type olderVerdict struct {
	accept  bool
	message string
}

// olderProgram builds the program an item names: "seed:N" (genProgram),
// "case:NAME" (the corpus), "probe:NAME" (a kerneltest.VerifierChange's
// probe).
func olderProgram(item string) (*Program, error) {
	kind, arg, _ := strings.Cut(item, ":")
	switch kind {
	case "seed":
		seed, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			return nil, err
		}
		p, _ := genProgram(nil, seed)
		return p, nil
	case "case":
		cases, err := verifiertest.Cases()
		if err != nil {
			return nil, err
		}
		for _, c := range cases {
			if c.Name == arg {
				return programFromCase(c), nil
			}
		}
	case "probe":
		if c := kerneltest.VerifierChangeNamed(arg); c != nil {
			insns, err := isa.FromCilium(c.Probe)
			if err != nil {
				return nil, err
			}
			return &Program{Name: "probe", Type: ebpf.SocketFilter, Instructions: insns}, nil
		}
	}
	return nil, fmt.Errorf("no program %q", item)
}

// TestOlderVerdicts prints the verdicts, under older rules, of the
// programs in $WAGGLE_OLDER_ITEMS: the child process of olderVerdicts.
func TestOlderVerdicts(t *testing.T) {
	if !slices.Contains(os.Args, olderRunFlag) {
		t.Skip("skipped: the child process of olderVerdicts")
	}
	cpus, _ := ebpf.PossibleCPU()
	for _, item := range strings.Split(os.Getenv("WAGGLE_OLDER_ITEMS"), ",") {
		p, err := olderProgram(item)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Verify(p, Options{CPUs: cpus})
		if err == nil {
			fmt.Printf("older-verdict\t%s\taccept\n", item)
		} else {
			fmt.Printf("older-verdict\t%s\treject\t%s\n", item, strings.ReplaceAll(err.(*Error).KernelMessage, "\n", " "))
		}
	}
}

// olderVerdicts verifies the programs items name (see olderProgram) with
// the rules of an older kernel, in a child process, and returns their
// verdicts by item.
func olderVerdicts(t *testing.T, rules olderRules, items []string) map[string]olderVerdict {
	t.Helper()
	cmd := kerneltest.Command(os.Args[0], olderRunFlag, "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("WAGGLE_OLDER_RULES=%d", rules), "WAGGLE_OLDER_ITEMS="+strings.Join(items, ","))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("verifying under older rules: %v\n%s", err, out)
	}
	verdicts := map[string]olderVerdict{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 || f[0] != "older-verdict" {
			continue
		}
		v := olderVerdict{accept: f[2] == "accept"}
		if len(f) > 3 {
			v.message = f[3]
		}
		verdicts[f[1]] = v
	}
	for _, item := range items {
		if _, ok := verdicts[item]; !ok {
			t.Fatalf("no verdict under older rules for %s:\n%s", item, out)
		}
	}
	return verdicts
}
