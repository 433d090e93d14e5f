package abi

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
)

// planKeys are what TestNewPlan checks of each case, in the order of
// testdata/plans.txt.
var planKeys = []string{"context accesses", "targets", "target of", "index", "function lengths", "blocks", "may_goto", "immediates"}

// TestNewPlan: the cases of testdata/plans.txt; NewPlan and Immediate on
// each program.
func TestNewPlan(t *testing.T) {
	b, err := os.ReadFile("testdata/plans.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := strings.Split(string(b), "\n== ")[1:]
	if len(cases) == 0 {
		t.Fatal("no cases in plans.txt")
	}
	for _, c := range cases {
		name, body, _ := strings.Cut(c, "\n")
		t.Run(name, func(t *testing.T) {
			want := map[string]string{}
			head, prog, ok := strings.Cut(body, "\n--\n")
			if !ok {
				t.Fatalf("plans.txt, case %q: no line -- before the program", name)
			}
			for _, line := range strings.Split(head, "\n") {
				k, v, ok := strings.Cut(line, ":")
				if !ok {
					t.Fatalf("plans.txt, case %q: %q is not key: value", name, line)
				}
				want[k] = strings.TrimSpace(v)
			}
			for _, k := range append([]string{"checked", "context"}, planKeys...) {
				if _, ok := want[k]; !ok {
					t.Fatalf("plans.txt, case %q: no %q line", name, k)
				}
			}
			insns, err := assembler.Assemble(prog)
			if err != nil {
				t.Fatalf("plans.txt, case %q: %v", name, err)
			}
			in := Input{Instructions: insns, Checked: want["checked"] == "yes"}
			for _, f := range strings.Fields(want["context"]) {
				i, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("plans.txt, case %q: context: %v", name, err)
				}
				in.ContextAccesses = append(in.ContextAccesses, i)
			}
			p := NewPlan(in)
			got := map[string]string{
				"context accesses": marked(p.ContextAccess),
				"targets":          marked(p.Targets),
				"index":            "none",
				"function lengths": "none",
				"blocks":           "none",
				"may_goto":         map[bool]string{false: "no", true: "yes"}[p.MayGoto],
			}
			var of, imm []string
			for s, t := range p.TargetOf {
				if t != 0 {
					of = append(of, fmt.Sprintf("%d>%d", s, t))
				}
			}
			got["target of"] = strings.Join(of, " ")
			if p.Index != nil {
				got["index"] = strings.Trim(fmt.Sprint(p.Index), "[]")
			}
			if p.FunctionLengths != nil {
				got["function lengths"] = nonZero(p.FunctionLengths)
			}
			if p.Blocks != nil {
				got["blocks"] = nonZero(p.Blocks)
			}
			slot := 0
			for _, ins := range insns {
				if ins.IsLdDW() {
					if v, err := p.Immediate(slot, ins); err != nil {
						imm = append(imm, fmt.Sprintf("%d=error: %v", slot, err))
					} else {
						imm = append(imm, fmt.Sprintf("%d=%#x", slot, v))
					}
				}
				slot += ins.Slots()
			}
			got["immediates"] = strings.Join(imm, " ")
			for _, k := range planKeys {
				if got[k] != want[k] {
					t.Errorf("%s: %q, want %q", k, got[k], want[k])
				}
			}
		})
	}
}

// marked lists the indexes where m is true.
func marked(m []bool) string {
	var s []string
	for i, v := range m {
		if v {
			s = append(s, strconv.Itoa(i))
		}
	}
	return strings.Join(s, " ")
}

// nonZero lists i:v for the entries of v that are not 0.
func nonZero[T int | int32](v []T) string {
	var s []string
	for i, x := range v {
		if x != 0 {
			s = append(s, fmt.Sprintf("%d:%d", i, x))
		}
	}
	return strings.Join(s, " ")
}
