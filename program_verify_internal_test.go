package waggle

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/isa"
)

// TestNewProgramVerifies: NewProgram runs the verifier, with the maps
// the program's lddw handles refer to; SkipVerification turns it off and
// Strict applies the unprivileged rules.
func TestNewProgramVerifies(t *testing.T) {
	m, err := NewMap(&ebpf.MapSpec{Name: "counts", Type: ebpf.Array, KeySize: 4, ValueSize: 32, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prog := func(src string) isa.Instructions {
		t.Helper()
		insns, err := assembler.Assemble(src)
		if err != nil {
			t.Fatal(err)
		}
		for i := range insns {
			// lddw %rN, 0x4d4150 stands for the map's handle.
			if insns[i].Opcode == isa.OpLdDW && insns[i].Imm == 0x4d4150 {
				insns[i].Imm = int64(m.impl.Handle())
			}
		}
		return insns
	}
	lookup := `
		stw [%r10-4], 0
		lddw %r1, 0x4d4150
		mov %r2, %r10
		add %r2, -4
		call 1
	`
	for _, c := range []struct {
		name string
		typ  ebpf.ProgramType
		src  string
		opts ProgramOptions
		want string // "" to accept
	}{
		{name: "safe", typ: ebpf.XDP, src: "ldxw %r0, [%r1+12]\nmov %r0, 2\nexit"},
		{name: "past the context", typ: ebpf.XDP, src: "ldxw %r0, [%r1+1000]\nexit", want: "the verifier refuses it: instruction 0"},
		{name: "skipped", typ: ebpf.XDP, src: "ldxw %r0, [%r1+1000]\nexit", opts: ProgramOptions{SkipVerification: true}},
		{name: "raw memory unchecked", src: "ldxb %r0, [%r1]\nexit", want: "no comparison with the length in r2"},
		{name: "raw memory checked", src: "mov %r0, 0\njlt %r2, 1, out\nldxb %r0, [%r1]\nout:\nexit"},
		{name: "pointer returned", typ: ebpf.XDP, src: "mov %r0, %r1\nexit"},
		{name: "pointer returned, strict", typ: ebpf.XDP, src: "mov %r0, %r1\nexit", opts: ProgramOptions{Strict: true}, want: "may not return a pointer"},
		// Key 1 is past the array's one element: the lookup may give NULL.
		{name: "map value unchecked", typ: ebpf.XDP, src: strings.Replace(lookup, "stw [%r10-4], 0", "stw [%r10-4], 1", 1) + "ldxdw %r0, [%r0+0]\nexit", want: "bpf_map_lookup_elem"},
		{name: "map value checked", typ: ebpf.XDP, src: lookup + "jeq %r0, 0, out\nldxdw %r0, [%r0+24]\nout:\nmov %r0, 2\nexit"},
		{name: "map value overrun", typ: ebpf.XDP, src: lookup + "jeq %r0, 0, out\nldxdw %r0, [%r0+32]\nout:\nmov %r0, 2\nexit", want: "map counts"},
		{name: "cpu index", typ: ebpf.XDP, opts: ProgramOptions{CPUs: 4}, src: lookup + `
			jeq %r0, 0, out
			mov %r6, %r0
			call 8
			lsh %r0, 3
			add %r6, %r0
			stdw [%r6+0], 1
		out:
			mov %r0, 2
			exit`},
		{name: "cpu index past the value", typ: ebpf.XDP, opts: ProgramOptions{CPUs: 5}, src: lookup + `
			jeq %r0, 0, out
			mov %r6, %r0
			call 8
			lsh %r0, 3
			add %r6, %r0
			stdw [%r6+0], 1
		out:
			mov %r0, 2
			exit`, want: "runs past the 32 bytes of the value of map counts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			insns := prog(c.src)
			before := append(isa.Instructions(nil), insns...)
			p, err := NewProgramWithOptions(&ProgramSpec{Name: "p", Type: c.typ, Instructions: insns}, c.opts)
			for i := range insns {
				if insns[i] != before[i] {
					t.Errorf("instruction %d of the spec changed: %v, was %v", i, insns[i], before[i])
				}
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.typ == ebpf.XDP {
					_, err := p.Run(&RunOptions{Data: make([]byte, 64)})
					var fault *MemoryFault
					switch {
					case c.opts.SkipVerification && !errors.As(err, &fault):
						t.Errorf("run of the unverified program: %v, want a memory fault", err)
					case !c.opts.SkipVerification && err != nil:
						t.Errorf("run: %v", err)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want a refusal with %q", c.want)
			}
			var ve *VerifierError
			if !errors.As(err, &ve) {
				t.Errorf("%v is not a *VerifierError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("refused with\n%v\nwant %q", err, c.want)
			}
		})
	}
}
