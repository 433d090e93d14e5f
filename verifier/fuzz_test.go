package verifier

import (
	"errors"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/verifiertest"
)

// seedPrograms are the programs of the corpus, the table tests and the
// project's objects.
func seedPrograms(t testing.TB) []*Program {
	var out []*Program
	cases, err := verifiertest.Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		out = append(out, programFromCase(c))
	}
	for _, obj := range objectFiles(t) {
		progs := loadObject(t, obj)
		names := make([]string, 0, len(progs))
		for n := range progs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, progs[n])
		}
	}
	return out
}

// TestSoundnessSeeds runs every accepted program of the corpus and of the
// project's objects in the interpreter on random inputs: none may fault.
func TestSoundnessSeeds(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	n := 30
	if testing.Short() {
		n = 5
	}
	ran := 0
	for i, p := range seedPrograms(t) {
		if _, err := Verify(p, Options{}); err != nil {
			continue
		}
		ran++
		if err := checkSound(p, uint64(i), n); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	t.Logf("%d accepted programs ran %d times each", ran, n)
}

func addSeeds(f *testing.F) {
	for _, p := range seedPrograms(f) {
		if b, ok := encodeFuzzProgram(p); ok {
			f.Add(b)
		}
	}
	for _, src := range []string{lookup + "jeq %r0, 0, +1\nldxdw %r0, [%r0]\nmov %r0, 0\nexit", xdpPkt + "mov %r0, 0\nexit"} {
		insns, err := assembler.Assemble(src)
		if err == nil {
			b, _ := encodeFuzzProgram(&Program{Type: ebpf.XDP, Instructions: insns, Maps: []*Map{&fuzzMaps[1]}})
			f.Add(b)
		}
	}
}

// FuzzVerify: Verify never panics or hangs on any bytecode.
func FuzzVerify(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decodeFuzzProgram(data)
		if p == nil {
			return
		}
		catchPanics = false
		defer func() { catchPanics = true }()
		Verify(p, Options{MaxInstructions: 50_000})
	})
}

// FuzzSoundness: whatever bytecode the verifier accepts runs in the
// interpreter without a fault.
func FuzzSoundness(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decodeFuzzProgram(data)
		if p == nil {
			return
		}
		if err := checkSound(p, uint64(len(data)), 4); err != nil {
			if errors.Is(err, errUnsound) {
				t.Fatalf("%v\n%s", err, disasm(p))
			}
		}
	})
}

func disasm(p *Program) string {
	s := ""
	for i, ins := range p.Instructions {
		s += itoa(i) + ": " + ins.String() + "\n"
	}
	return s
}

var _ = filepath.Base
