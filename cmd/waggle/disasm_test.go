package main

import (
	"regexp"
	"testing"
)

// TestDisasmSourceLines compares waggle disasm of the examples, with the
// C source lines of their BTF line information, with
// testdata/dump/NAME.disasm (go test -update rewrites them).
func TestDisasmSourceLines(t *testing.T) {
	for _, name := range []string{"firewall", "tail_calls"} {
		t.Run(name, func(t *testing.T) {
			_, obj := exampleObject(name)
			code, stdout, stderr := runCLI(t, "", "disasm", obj)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			checkDumpGolden(t, name+".disasm", stdout)
		})
	}
}

var (
	inspectRow   = regexp.MustCompile(`(?m)^(\S+)\s+\S+\s+\S+\s+(\d+)\s+\S+$`)
	disasmHeader = regexp.MustCompile(`(?m)^(\S+) \(section .*, (\d+) instructions\):$`)
)

// TestInstructionCounts checks that waggle inspect and waggle disasm give
// each program the same number of instructions: 8-byte slots, an lddw
// counting two (disasm counted it as one).
func TestInstructionCounts(t *testing.T) {
	for _, tc := range []struct {
		obj  string
		want map[string]string // some programs' counts
	}{
		{obj: "../../examples/firewall/firewall.o", want: map[string]string{"firewall": "58"}},
		{obj: "../../examples/tail_calls/tail_calls.o"},
		{obj: "../../examples/flow_stats/flow_stats.o"},
		{obj: "../../examples/proto_count/proto_count.o"},
		{obj: "../../examples/ringbuf_events/ringbuf_events.o"},
		{obj: "testdata/xdp_count.o"},
	} {
		t.Run(tc.obj, func(t *testing.T) {
			counts := func(cmd string, re *regexp.Regexp) map[string]string {
				code, stdout, stderr := runCLI(t, "", cmd, tc.obj)
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", cmd, code, stderr)
				}
				out := map[string]string{}
				for _, m := range re.FindAllStringSubmatch(stdout, -1) {
					out[m[1]] = m[2]
				}
				if len(out) == 0 {
					t.Fatalf("%s: no programs in\n%s", cmd, stdout)
				}
				return out
			}
			inspect, disasm := counts("inspect", inspectRow), counts("disasm", disasmHeader)
			if len(inspect) != len(disasm) {
				t.Errorf("inspect lists %v, disasm %v", inspect, disasm)
			}
			for p, n := range inspect {
				if disasm[p] != n {
					t.Errorf("%s: inspect says %s instructions, disasm %s", p, n, disasm[p])
				}
			}
			for p, n := range tc.want {
				if inspect[p] != n {
					t.Errorf("%s: %s instructions, want %s", p, inspect[p], n)
				}
			}
		})
	}
}
