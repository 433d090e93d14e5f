package verifier

import (
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/verifiertest"
)

// olderRulesOf are the rules of the kernels from before each change of
// kerneltest.VerifierChanges.
var olderRulesOf = map[string]olderRules{
	kerneltest.Sext32.Name:  olderSext,
	kerneltest.Cross64.Name: olderNoCross64,
}

// TestVerifierChangeProbes checks each known change of the kernel's
// verifier against waggle's own: with the rules waggle follows, it accepts
// the change's probe, and with the rule from before the change
// (olderRulesOf), it rejects it with the kernel's message, as a kernel
// without the change does. So the probe tests the change, and
// TestDifferential's explanations use the rule that the probe tells
// missing.
func TestVerifierChangeProbes(t *testing.T) {
	for _, c := range kerneltest.VerifierChanges {
		t.Run(c.Name, func(t *testing.T) {
			rule, ok := olderRulesOf[c.Name]
			if !ok || rule == 0 {
				t.Fatalf("no rule from before the change in olderRulesOf")
			}
			item := "probe:" + c.Name
			p, err := olderProgram(item)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(p, Options{}); err != nil {
				t.Errorf("waggle rejects the probe: %v", err)
			}
			v := olderVerdicts(t, rule, []string{item})[item]
			switch {
			case v.accept:
				t.Error("waggle with the older rule accepts the probe")
			case !strings.Contains(v.message, c.ProbeMessage):
				t.Errorf("waggle with the older rule rejects the probe with %q, want the kernel's %q", v.message, c.ProbeMessage)
			}
		})
	}
}

// TestCorpusKernelChanges checks the corpus's kernel-change headers: a
// case that names a change gets its recorded verdict from waggle and the
// other one from waggle with the rule from before the change, so a kernel
// without the change would indeed give the other verdict.
func TestCorpusKernelChanges(t *testing.T) {
	cases, err := verifiertest.Cases()
	if err != nil {
		t.Fatal(err)
	}
	items := map[olderRules][]string{}
	byItem := map[string]verifiertest.Case{}
	for _, c := range cases {
		if c.KernelChange == "" {
			continue
		}
		rule, ok := olderRulesOf[c.KernelChange]
		if !ok {
			t.Errorf("%s: no rule from before change %s in olderRulesOf", c.Name, c.KernelChange)
			continue
		}
		if _, err := Verify(programFromCase(c), Options{}); (err == nil) != c.Accept {
			t.Errorf("%s: waggle: %v; recorded: accept=%v", c.Name, err, c.Accept)
		}
		items[rule] = append(items[rule], "case:"+c.Name)
		byItem["case:"+c.Name] = c
	}
	if len(byItem) == 0 {
		t.Fatal("no corpus case names a kernel change")
	}
	for rule, list := range items {
		for item, v := range olderVerdicts(t, rule, list) {
			if c := byItem[item]; v.accept == c.Accept {
				t.Errorf("%s: with the rule from before %s, waggle gives the recorded verdict too: the case does not depend on the change", c.Name, c.KernelChange)
			}
		}
	}
	t.Logf("%d cases depend on a change of the kernel's verifier", len(byItem))
}
