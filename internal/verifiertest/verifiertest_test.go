package verifiertest

import (
	"flag"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

var update = flag.Bool("update", false, "record the kernel's verdicts and messages in the case files")

func TestCasesParse(t *testing.T) {
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 170 {
		t.Errorf("%d cases, want at least 170", len(cases))
	}
	type count struct{ accept, reject int }
	counts := map[string]*count{}
	for _, c := range cases {
		n := counts[c.Category]
		if n == nil {
			n = &count{}
			counts[c.Category] = n
		}
		if c.Accept {
			n.accept++
		} else {
			n.reject++
		}
		if c.Description == "" {
			t.Errorf("%s: no description", c.Name)
		}
	}
	for _, cat := range Categories {
		n := counts[cat]
		switch {
		case n == nil:
			t.Errorf("category %s has no cases", cat)
		case n.accept+n.reject < 8 || n.accept == 0 || n.reject == 0:
			t.Errorf("category %s: %d accepted and %d rejected cases; want at least 8, both verdicts", cat, n.accept, n.reject)
		}
	}
	if testing.Verbose() {
		for _, cat := range Categories {
			if n := counts[cat]; n != nil {
				t.Logf("%-10s %3d cases: %3d accept, %3d reject", cat, n.accept+n.reject, n.accept, n.reject)
			}
		}
	}
}

// TestKernelVerdicts loads every case into the kernel and checks that it
// still gives the recorded verdict and message. With -update it records
// them instead: the verdict, and for a rejection the recorded message if the
// log still has it, else the log's key line (see KeyLine).
func TestKernelVerdicts(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	if *update {
		updateVerdicts(t)
		return
	}
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			accept, log, err := KernelVerdict(c)
			if err != nil {
				t.Fatal(err)
			}
			if accept != c.Accept {
				// A kernel that lacks what the verdict needs gives
				// another one, which says nothing about the case.
				why, err := KernelExplains(c)
				if err != nil {
					t.Fatal(err)
				}
				if why != "" {
					t.Skipf("skipped: %s", why)
				}
			}
			switch {
			case accept && !c.Accept:
				t.Errorf("the kernel accepts the program; recorded: rejected with %q", c.KernelMessage)
			case !accept && c.Accept:
				t.Errorf("the kernel rejects the program; recorded: accepted. Log:\n%s", log)
			case !accept && !strings.Contains(log, c.KernelMessage):
				t.Errorf("the kernel's log does not have %q:\n%s", c.KernelMessage, log)
			}
		})
	}
}

func updateVerdicts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), CasesDir, "*.s"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, f := range files {
		c, err := parseFile(f, false)
		if err != nil {
			t.Error(err)
			continue
		}
		accept, log, err := KernelVerdict(c)
		if err != nil {
			t.Error(err)
			continue
		}
		msg := ""
		if !accept {
			msg = c.KernelMessage
			if msg == "" || !strings.Contains(log, msg) {
				msg = KeyLine(log)
			}
		}
		if accept != c.Accept || msg != c.KernelMessage {
			t.Logf("%s: %s -> %s", c.Name, verdictString(c.Accept, c.KernelMessage), verdictString(accept, msg))
		}
		if err := Record(c, accept, msg); err != nil {
			t.Error(err)
		}
	}
}

func verdictString(accept bool, msg string) string {
	if accept {
		return "accept"
	}
	return "reject (" + msg + ")"
}

var show = flag.String("show", "", "print the kernel's full verifier log of the cases whose names are listed, comma-separated")

// TestKernelTrace prints the kernel's full log of the cases named by -show.
func TestKernelTrace(t *testing.T) {
	if *show == "" {
		t.Skip("no -show")
	}
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	for _, name := range strings.Split(*show, ",") {
		c, err := parseFile(filepath.Join(RepoRoot(), CasesDir, name+".s"), false)
		if err != nil {
			t.Error(err)
			continue
		}
		accept, log, err := KernelTrace(c)
		if err != nil {
			t.Error(err)
			continue
		}
		t.Logf("%s: accept=%v\n%s", name, accept, log)
	}
}
