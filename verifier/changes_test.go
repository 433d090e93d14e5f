package verifier

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/isa"
)

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
			older, ok := olderRulesOf[c.Name]
			if !ok || older == 0 {
				t.Fatalf("no rule from before the change in olderRulesOf")
			}
			insns, err := isa.FromCilium(c.Probe)
			if err != nil {
				t.Fatal(err)
			}
			p := &Program{Name: "probe", Type: ebpf.SocketFilter, Instructions: insns}
			if _, err := Verify(p, Options{}); err != nil {
				t.Errorf("waggle rejects the probe: %v", err)
			}
			_, err = Verify(p, Options{older: older})
			if err == nil {
				t.Fatal("waggle with the older rule accepts the probe")
			}
			if msg := err.(*Error).KernelMessage; !strings.Contains(msg, c.ProbeMessage) {
				t.Errorf("waggle with the older rule rejects the probe with %q, want the kernel's %q", msg, c.ProbeMessage)
			}
		})
	}
}
