package verifier

import (
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
)

// vcase is a table test: a program in assembly and the verdict.
type vcase struct {
	name string
	typ  string   // program type (testProgType); "" is xdp
	maps []string // "type:key:value:entries[:flags]"
	asm  string
	// want is "" when the program must be accepted, else a phrase of the
	// rejection's reason.
	want string
	// kmsg is a phrase of the kernel's message for the rejection.
	kmsg   string
	strict bool
	// kernelDiffers, when set, says why the kernel's verdict differs, and
	// the comparison with the kernel is skipped.
	kernelDiffers string
	// setup adjusts the program (map values, spin locks, ...).
	setup func(p *Program)
}

func (c *vcase) program(t *testing.T) *Program {
	t.Helper()
	insns, err := assembler.Assemble(c.asm)
	if err != nil {
		t.Fatalf("assemble: %v", err)
	}
	p := &Program{Name: c.name, Type: testProgType(t, c.typ), Instructions: insns}
	for i, m := range c.maps {
		mm := parseTestMap(t, m)
		mm.Name = "m" + itoa(i)
		p.Maps = append(p.Maps, mm)
	}
	if c.setup != nil {
		c.setup(p)
	}
	return p
}

func runCases(t *testing.T, cases []vcase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.program(t)
			_, err := Verify(p, Options{Strict: c.strict})
			switch {
			case c.want == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("accepted, want rejection with %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("rejected with\n%v\nwant %q", err, c.want)
			}
			if c.kmsg != "" && err != nil {
				if ve, ok := err.(*Error); ok && !strings.Contains(ve.KernelMessage, c.kmsg) {
					t.Errorf("kernel message %q, want %q", ve.KernelMessage, c.kmsg)
				}
			}
			if c.strict || c.kernelDiffers != "" {
				return
			}
			ok, log, kerr := kernelVerify(p, 0)
			if kerr != nil {
				return
			}
			if !ok && c.want == "" {
				if ue, err := kernelLacks(p); err == nil && ue != nil {
					t.Skipf("kernel comparison skipped: %v", ue)
				}
			}
			if ok != (c.want == "") {
				t.Errorf("the kernel's verdict differs: accepted=%v\n%s", ok, lastLines(log, 8))
			}
			if !ok && c.kmsg != "" && !strings.Contains(log, c.kmsg) {
				t.Errorf("the kernel's log lacks %q:\n%s", c.kmsg, lastLines(log, 8))
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestBasics(t *testing.T) {
	runCases(t, []vcase{
		{name: "return 0", asm: "mov %r0, 0\nexit"},
		{name: "uninit r0", asm: "exit", want: "r0 is read before", kmsg: "R0 !read_ok"},
		{name: "uninit r2", asm: "mov %r0, %r2\nexit", want: "r2 is read before", kmsg: "R2 !read_ok"},
		{name: "unreachable", asm: "mov %r0, 0\nexit\nmov %r0, 1\nexit", want: "can never run", kmsg: "unreachable insn 2"},
		{name: "fall off", asm: "mov %r0, 0", want: "last instruction"},
		{name: "div by zero", asm: "mov %r0, 1\ndiv %r0, 0\nexit", want: "division by the constant 0", kmsg: "div by zero"},
		{name: "shift too far", asm: "mov %r0, 1\nlsh %r0, 64\nexit", want: "shift by 64", kmsg: "invalid shift 64"},
	})
}
