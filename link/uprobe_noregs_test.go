//go:build linux && amd64

package link_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/link"
)

// TestNeedsRegs: the cases of testdata/uprobe/needs_regs.txt.
func TestNeedsRegs(t *testing.T) {
	b, err := os.ReadFile("../testdata/uprobe/needs_regs.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := strings.Split("\n"+string(b), "\n== ")[1:]
	if len(cases) == 0 {
		t.Fatal("no cases in needs_regs.txt")
	}
	for _, c := range cases {
		head, src, _ := strings.Cut(c, "\n")
		name, want, ok := strings.Cut(head, ": ")
		if !ok || (want != "yes" && want != "no") {
			t.Fatalf("needs_regs.txt: case header %q: want \"NAME: yes|no\"", head)
		}
		t.Run(name, func(t *testing.T) {
			insns, err := assembler.Assemble(src)
			if err != nil {
				t.Fatal(err)
			}
			if got := link.NeedsRegs(insns); got != (want == "yes") {
				t.Fatalf("needsRegs = %v, want %s", got, want)
			}
		})
	}
}

// noRegsProgram is a uprobe program that reads no registers: it calls
// bpf_get_current_pid_tgid and returns 0.
func noRegsProgram(t testing.TB) *waggle.Program {
	t.Helper()
	insns, err := assembler.Assemble("call 14\nmov %r0, 0\nexit")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "noregs", Type: ebpf.Kprobe, Instructions: insns, License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	return prog
}

// TestUprobeRipOnly: a process whose probes all run out of line and whose
// programs read no registers reads rip alone at a hit; a program that
// reads PT_REGS_PARM1, or a return probe, makes every hit read all the
// registers. The programs run at every call either way.
func TestUprobeRipOnly(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildTarget(t)
	const n = 200
	for _, tc := range []struct {
		name    string
		args    string // bench or fork (then twice the calls: the child's too)
		probes  func(coll *waggle.Collection, noRegs *waggle.Program) []link.Uprobe
		ripOnly bool
		returns uint64
	}{
		{"no registers", "bench", func(_ *waggle.Collection, p *waggle.Program) []link.Uprobe {
			return []link.Uprobe{{Program: p, Path: target, Symbol: "work"}}
		}, true, 0},
		{"no registers, forked", "fork", func(_ *waggle.Collection, p *waggle.Program) []link.Uprobe {
			return []link.Uprobe{{Program: p, Path: target, Symbol: "work"}}
		}, true, 0},
		{"PT_REGS_PARM1", "bench", func(coll *waggle.Collection, _ *waggle.Program) []link.Uprobe {
			return []link.Uprobe{{Program: coll.Programs["enter"], Path: target, Symbol: "work"}}
		}, false, 0},
		{"a return probe", "bench", func(coll *waggle.Collection, p *waggle.Program) []link.Uprobe {
			return []link.Uprobe{{Program: p, Path: target, Symbol: "work"}, {Program: coll.Programs["leave"], Path: target, Symbol: "work", Return: true}}
		}, false, n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			coll := callsObject(t)
			n := uint64(n)
			if tc.args == "fork" {
				n *= 2
			}
			l := runUprobes(t, link.UprobeOptions{Path: target, Args: []string{"target", tc.args, "200"}, Probes: tc.probes(coll, noRegsProgram(t))})
			st := l.Stats()
			if l.ExitCode() != 0 || st.Hits != n || st.Returns != tc.returns || st.Programs[0].Runs != n || st.Programs[0].Errors != 0 {
				t.Fatalf("exit %d, stats %+v; want %d hits and runs, %d returns", l.ExitCode(), st, n, tc.returns)
			}
			want := map[bool]uint64{true: n, false: 0}[tc.ripOnly]
			if l.RipOnlyHits() != want || l.OutOfLine() != 1 {
				t.Errorf("%d hits read rip alone, %d sites out of line; want %d, 1", l.RipOnlyHits(), l.OutOfLine(), want)
			}
		})
	}
}
