package waggle

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

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

// TestNewProgramDescribesMapsAsCollections: NewProgram describes a map to
// the verifier as NewCollection does, from the map as created: the place
// of its bpf_spin_lock (from the MapSpec's BTF) and the value of a frozen
// .rodata, which bpf_strncmp needs for its constant string.
func TestNewProgramDescribesMapsAsCollections(t *testing.T) {
	lockType := &btf.Struct{Name: "bpf_spin_lock", Size: 4, Members: []btf.Member{{Name: "val", Type: &btf.Int{Name: "u32", Size: 4}}}}
	value := &btf.Struct{Name: "locked", Size: 16, Members: []btf.Member{
		{Name: "lock", Type: lockType},
		{Name: "n", Type: &btf.Int{Name: "u64", Size: 8}, Offset: 64},
	}}
	locked, err := NewMap(&ebpf.MapSpec{Name: "locked", Type: ebpf.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1, Key: &btf.Int{Name: "u32", Size: 4}, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	defer locked.Close()
	spec, err := LoadCollectionSpec("testdata/progs/global_data.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	rodata := coll.Maps[".rodata"]

	for _, c := range []struct {
		name string
		m    *Map
		src  string
		want uint64
	}{
		{"spin lock", locked, `
			stw [%r10-4], 0
			lddw %r1, HANDLE
			mov %r2, %r10
			add %r2, -4
			call 1
			jeq %r0, 0, out
			mov %r6, %r0
			mov %r1, %r6
			call 93
			ldxdw %r7, [%r6+8]
			add %r7, 1
			stxdw [%r6+8], %r7
			mov %r1, %r6
			call 94
		out:
			mov %r0, 2
			exit`, 2},
		// strncmp("waggle", the .rodata greeting, 6): 0.
		{"frozen .rodata", rodata, `
			stw [%r10-4], 0
			lddw %r1, HANDLE
			mov %r2, %r10
			add %r2, -4
			call 1
			jeq %r0, 0, out
			mov %r3, %r0
			add %r3, 8
			stdw [%r10-16], 0
			stw [%r10-16], 0x67676177
			sth [%r10-12], 0x656c
			mov %r1, %r10
			add %r1, -16
			mov %r2, 6
			call 182
			add %r0, 2
			exit
		out:
			mov %r0, 9
			exit`, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			insns, err := assembler.Assemble(strings.ReplaceAll(c.src, "HANDLE", fmt.Sprintf("%#x", c.m.impl.Handle())))
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewProgram(&ProgramSpec{Name: "p", Type: ebpf.XDP, Instructions: insns, License: "GPL"})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			defer p.Close()
			ret, err := p.Run(&RunOptions{Data: make([]byte, 64)})
			if err != nil || uint64(ret) != c.want {
				t.Fatalf("run: %d, %v; want %d", ret, err, c.want)
			}
		})
	}
}
