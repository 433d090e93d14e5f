package verifier

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
)

// sockLookup is a tc program's lookup of an IPv4 TCP tuple (all zero) in
// the current network namespace, the result in r0 and r6, and then body.
func sockLookup(helper int, body string) string {
	return fmt.Sprintf(`mov %%r9, %%r1
stdw [%%r10-16], 0
stdw [%%r10-8], 0
mov %%r2, %%r10
add %%r2, -16
mov %%r3, 12
mov %%r4, -1
mov %%r5, 0
call %d
mov %%r6, %%r0
%s
mov %%r0, 0
exit`, helper, body)
}

// TestSocketLookups: the sockets of bpf_sk_lookup_tcp/udp and
// bpf_skc_lookup_tcp (tracked references, NULL tests, field reads of
// struct bpf_sock or of its common part, bpf_sk_release, bpf_sk_assign)
// get the kernel's verdicts, and what waggle accepts runs.
func TestSocketLookups(t *testing.T) {
	type tcase struct {
		name   string
		src    string
		accept bool // without the kernel, the verdict expected
	}
	var cases []tcase
	released := "jeq %r6, 0, +2\nmov %r1, %r6\ncall 86"
	cases = append(cases,
		tcase{"release after a NULL test", sockLookup(99, released), true},
		tcase{"no release", sockLookup(99, ""), false},
		tcase{"release without a NULL test", sockLookup(84, "mov %r1, %r6\ncall 86"), false},
		tcase{"release twice", sockLookup(85, "jeq %r6, 0, +4\nmov %r1, %r6\ncall 86\nmov %r1, %r6\ncall 86"), false},
		tcase{"release an offset", sockLookup(84, "jeq %r6, 0, +3\nmov %r1, %r6\nadd %r1, 4\ncall 86"), false},
		tcase{"release the context's socket", "ldxdw %r1, [%r1+168]\njeq %r1, 0, +1\ncall 86\nmov %r0, 0\nexit", false},
		tcase{"assign then release", sockLookup(99, "jeq %r6, 0, +6\nmov %r1, %r9\nmov %r2, %r6\nmov %r3, 0\ncall 124\nmov %r1, %r6\ncall 86"), true},
		tcase{"assign without a NULL test", sockLookup(99, "mov %r1, %r9\nmov %r2, %r6\nmov %r3, 0\ncall 124\njeq %r6, 0, +2\nmov %r1, %r6\ncall 86"), false},
		tcase{"NULL branch needs no release", sockLookup(84, "jne %r6, 0, +2\nmov %r0, 0\nexit\nmov %r1, %r6\ncall 86"), true},
		tcase{"a tuple of 0 bytes", strings.Replace(sockLookup(99, released), "mov %r3, 12", "mov %r3, 0", 1), true},
		tcase{"write a field", sockLookup(84, "jeq %r6, 0, +3\nstw [%r6+16], 1\nmov %r1, %r6\ncall 86"), false},
	)
	// Every read of every offset of struct bpf_sock through each kind.
	sizes := map[int]string{1: "b", 2: "h", 4: "w", 8: "dw"}
	for _, helper := range []int{84, 99} {
		for off := 0; off < 84; off++ {
			for _, n := range []int{1, 2, 4, 8} {
				body := fmt.Sprintf("jeq %%r6, 0, +3\nldx%s %%r7, [%%r6+%d]\nmov %%r1, %%r6\ncall 86", sizes[n], off)
				cases = append(cases, tcase{fmt.Sprintf("helper %d read %d at %d", helper, n, off), sockLookup(helper, body), false})
			}
		}
	}
	kernelChecked, accepted := 0, 0
	for _, c := range cases {
		insns, err := assembler.Assemble(c.src)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, c.src)
		}
		p := &Program{Name: "sock", Type: ebpf.SchedCLS, Instructions: insns}
		_, verr := Verify(p, Options{})
		if verr == nil {
			accepted++
			if err := checkSound(p, 0, 2); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		ok, log, kerr := kernelVerify(p, 0)
		if kerr != nil {
			if !strings.HasPrefix(c.name, "helper ") && (verr == nil) != c.accept {
				t.Errorf("%s: accepted %v (%v), want %v", c.name, verr == nil, verr, c.accept)
			}
			continue
		}
		kernelChecked++
		if !strings.HasPrefix(c.name, "helper ") && ok != c.accept {
			t.Errorf("%s: the kernel accepted=%v, the case expects %v", c.name, ok, c.accept)
		}
		if ok != (verr == nil) {
			t.Errorf("%s: kernel accepted=%v, waggle %v\n%s", c.name, ok, verr, lastLines(log, 3))
		}
	}
	if kernelChecked == 0 {
		t.Logf("the kernel is not available: only the verdicts of the named cases were checked")
	}
	t.Logf("%d socket programs, %d accepted, %d compared with the kernel", len(cases), accepted, kernelChecked)
}
