package seccomp_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/seccomp"
	"github.com/waggle-ebpf/waggle/isa"
)

// auditArchX86_64 is AUDIT_ARCH_X86_64.
const auditArchX86_64 = 0xc000003e

// loadPolicy loads the seccomp program of an object of testdata/seccomp.
func loadPolicy(t testing.TB, name string) *waggle.Program {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("../../testdata/seccomp/" + name + ".o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	p := coll.Programs[name]
	if p == nil || p.Type() != waggle.Seccomp {
		t.Fatalf("%s: no seccomp program %s", name, name)
	}
	return p
}

// data builds a struct seccomp_data.
func data(nr int32, arch uint32, args ...uint64) *[seccomp.DataSize]byte {
	var d [seccomp.DataSize]byte
	binary.NativeEndian.PutUint32(d[0:], uint32(nr))
	binary.NativeEndian.PutUint32(d[4:], arch)
	binary.NativeEndian.PutUint64(d[8:], 0x401000)
	for i, a := range args {
		binary.NativeEndian.PutUint64(d[16+8*i:], a)
	}
	return &d
}

// randomData is seccomp_data with the values policies test most likely:
// the native architecture, small syscall numbers, flags with few bits.
func randomData(r *rand.Rand) *[seccomp.DataSize]byte {
	var d [seccomp.DataSize]byte
	for i := 0; i < seccomp.DataSize; i += 8 {
		binary.NativeEndian.PutUint64(d[i:], r.Uint64())
	}
	binary.NativeEndian.PutUint32(d[0:], uint32(r.IntN(340)))
	if r.IntN(8) != 0 {
		binary.NativeEndian.PutUint32(d[4:], auditArchX86_64)
	}
	for a := range 6 {
		switch r.IntN(4) {
		case 0:
			binary.NativeEndian.PutUint64(d[16+8*a:], uint64(r.IntN(64)))
		case 1:
			binary.NativeEndian.PutUint64(d[16+8*a:], uint64(r.IntN(1<<20)))
		case 2:
			binary.NativeEndian.PutUint64(d[16+8*a:], ^uint64(r.IntN(64)))
		}
	}
	return &d
}

// same checks that the filter gives what the program gives on d.
func same(t *testing.T, p *waggle.Program, f seccomp.Filter, d *[seccomp.DataSize]byte) bool {
	t.Helper()
	ret, err := p.Run(&waggle.RunOptions{Context: d[:]})
	if err != nil {
		t.Fatalf("run the eBPF policy: %v", err)
	}
	got, err := f.Run(d)
	if err != nil {
		t.Fatalf("run the classic filter: %v\n%s", err, f)
	}
	if ret != got {
		t.Errorf("on nr %d arch %#x args %x: eBPF %s, classic %s\nprogram:\n%v\nfilter:\n%s",
			int32(binary.NativeEndian.Uint32(d[0:])), binary.NativeEndian.Uint32(d[4:]), d[16:],
			seccomp.ActionName(ret), seccomp.ActionName(got), p.Instructions(), f)
		return false
	}
	return true
}

// TestLowerPolicies: the policies of testdata/seccomp lower to classic
// filters that decide as they do, on chosen and on random seccomp_data.
func TestLowerPolicies(t *testing.T) {
	const (
		nrOpen, nrOpenat, nrUnlink, nrUnlinkat, nrRmdir, nrPtrace, nrSocket, nrRead = 2, 257, 87, 263, 84, 101, 41, 0
		eperm, eacces                                                               = 1, 13
	)
	errno := func(e uint32) uint32 { return seccomp.RetErrno | e }
	for _, c := range []struct {
		policy string
		cases  []struct {
			d    *[seccomp.DataSize]byte
			want uint32
		}
	}{
		{"deny_unlink", []struct {
			d    *[seccomp.DataSize]byte
			want uint32
		}{
			{data(nrUnlink, auditArchX86_64), errno(eperm)},
			{data(nrUnlinkat, auditArchX86_64, 0xffffff9c), errno(eperm)},
			{data(nrRmdir, auditArchX86_64), errno(eperm)},
			{data(nrRead, auditArchX86_64), seccomp.RetAllow},
			{data(nrUnlink, 0x40000003), seccomp.RetKillProcess}, // i386
		}},
		{"read_only", []struct {
			d    *[seccomp.DataSize]byte
			want uint32
		}{
			{data(nrOpenat, auditArchX86_64, 0xffffff9c, 0x1000, 0), seccomp.RetAllow},                     // O_RDONLY
			{data(nrOpenat, auditArchX86_64, 0xffffff9c, 0x1000, 0x241), errno(eacces)},                    // O_WRONLY|O_CREAT|O_TRUNC
			{data(nrOpenat, auditArchX86_64, 0xffffff9c, 0x1000, 0xffff_ffff_0000_0000), seccomp.RetAllow}, // only high bits
			{data(nrOpen, auditArchX86_64, 0x1000, 2), errno(eacces)},                                      // O_RDWR
			{data(nrPtrace, auditArchX86_64), seccomp.RetKillProcess},
			{data(nrSocket, auditArchX86_64, 17, 3), errno(eperm)},           // AF_PACKET
			{data(nrSocket, auditArchX86_64, 17|1<<32, 3), seccomp.RetAllow}, // the high word counts
			{data(nrSocket, auditArchX86_64, 2, 1), seccomp.RetAllow},        // AF_INET
			{data(nrRead, auditArchX86_64, 0, 0x1000, 100), seccomp.RetAllow},
		}},
	} {
		t.Run(c.policy, func(t *testing.T) {
			p := loadPolicy(t, c.policy)
			f, err := seccomp.Lower(p.Instructions())
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range c.cases {
				got, err := f.Run(tc.d)
				if err != nil || got != tc.want {
					t.Errorf("nr %d: %s, %v; want %s\n%s", binary.NativeEndian.Uint32(tc.d[0:]), seccomp.ActionName(got), err, seccomp.ActionName(tc.want), f)
				}
				same(t, p, f, tc.d)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for range 20000 {
				if !same(t, p, f, randomData(r)) {
					return
				}
			}
		})
	}
}

// TestLowerRefuses: what classic BPF cannot do is refused, naming the
// instruction and why.
func TestLowerRefuses(t *testing.T) {
	p := loadPolicy(t, "count_calls")
	_, err := seccomp.Lower(p.Instructions())
	var nl *seccomp.NotLowerableError
	if !errors.As(err, &nl) || !strings.Contains(err.Error(), "stack") {
		t.Fatalf("count_calls: %v, want a NotLowerableError about its stack", err)
	}
	for _, c := range []struct{ name, src, want string }{
		{"loop", "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 3, loop\nexit", "backward jump"},
		{"stack", "stdw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit", "stack"},
		{"64-bit add", "ldxdw %r0, [%r1+16]\nadd %r0, 1\nexit", "carries"},
		{"arsh", "ldxw %r0, [%r1+0]\narsh32 %r0, 1\nexit", "arithmetic shift"},
		{"helper", "call 5\nexit", "call"},
	} {
		insns := mustAssemble(t, c.src)
		if _, err := waggle.NewProgram(&waggle.ProgramSpec{Name: c.name, Type: waggle.Seccomp, Instructions: insns}); err != nil {
			t.Fatalf("%s: the verifier refuses it: %v", c.name, err)
		}
		_, err := seccomp.Lower(insns)
		if !errors.As(err, &nl) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a NotLowerableError with %q", c.name, err, c.want)
		}
	}
}

// TestLowerRandomPrograms: random lowerable programs — loads of every
// size, 32-bit arithmetic, 64-bit bitwise operations and shifts, and
// forward jumps of every comparison, 32 and 64 bits, signed and
// unsigned, by constant and by register — decide as their classic
// filters do on random seccomp_data.
func TestLowerRandomPrograms(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	programs := 300
	if testing.Short() {
		programs = 50
	}
	for n := range programs {
		src := randomProgram(r)
		insns := mustAssemble(t, src)
		p, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: fmt.Sprint("random", n), Type: waggle.Seccomp, Instructions: insns},
			waggle.ProgramOptions{Engine: waggle.EngineInterpreter})
		if err != nil {
			t.Fatalf("program %d: %v\n%s", n, err, src)
		}
		f, err := seccomp.Lower(insns)
		if err != nil {
			t.Fatalf("program %d: %v\n%s", n, err, src)
		}
		for range 200 {
			if !same(t, p, f, randomData(r)) {
				t.Fatalf("program %d:\n%s", n, src)
			}
		}
	}
}

// randomProgram writes a random lowerable policy in assembly.
func randomProgram(r *rand.Rand) string {
	regs := []string{"%r0", "%r2", "%r3", "%r4", "%r5", "%r6"}
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	add("mov32 %%r0, %d", int32(r.Uint32()))
	for _, reg := range regs[1:] {
		size := []string{"ldxw", "ldxdw", "ldxh", "ldxb"}[r.IntN(4)]
		width := map[string]int{"ldxw": 4, "ldxdw": 8, "ldxh": 2, "ldxb": 1}[size]
		off := r.IntN(seccomp.DataSize/width) * width
		add("%s %s, [%%r1+%d]", size, reg, off)
	}
	body := 6 + r.IntN(14)
	for i := range body {
		dst, src := regs[r.IntN(len(regs))], regs[r.IntN(len(regs))]
		switch r.IntN(3) {
		case 0: // 32-bit arithmetic
			op := []string{"add32", "sub32", "mul32", "or32", "and32", "xor32", "lsh32", "rsh32", "div32", "mod32", "mov32", "neg32"}[r.IntN(12)]
			switch op {
			case "neg32":
				add("neg32 %s", dst)
			case "lsh32", "rsh32":
				add("%s %s, %d", op, dst, r.IntN(32))
			case "div32", "mod32":
				add("%s %s, %d", op, dst, 1+r.IntN(1000))
			default:
				if r.IntN(2) == 0 {
					add("%s %s, %s", op, dst, src)
				} else {
					add("%s %s, %d", op, dst, int32(r.Uint32()))
				}
			}
		case 1: // 64-bit moves, bitwise operations and shifts
			op := []string{"mov", "and", "or", "xor", "lsh", "rsh"}[r.IntN(6)]
			switch {
			case op == "lsh" || op == "rsh":
				add("%s %s, %d", op, dst, r.IntN(64))
			case r.IntN(2) == 0:
				add("%s %s, %s", op, dst, src)
			default:
				add("%s %s, %d", op, dst, int32(r.Uint32()))
			}
		default: // a forward jump over the next instructions
			left := body - i
			skip := r.IntN(min(left, 4))
			op := []string{"jeq", "jne", "jgt", "jge", "jlt", "jle", "jset", "jsgt", "jsge", "jslt", "jsle"}[r.IntN(11)]
			if r.IntN(2) == 0 {
				op += "32"
			}
			if r.IntN(2) == 0 {
				add("%s %s, %s, +%d", op, dst, src, skip)
			} else {
				add("%s %s, %d, +%d", op, dst, int32(r.Uint32())>>r.IntN(32), skip)
			}
		}
	}
	add("exit")
	return strings.Join(lines, "\n")
}

func mustAssemble(t testing.TB, src string) isa.Instructions {
	t.Helper()
	insns, err := assembler.Assemble(src)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return insns
}

// TestLoweredPoliciesCached: the kernel's action cache follows every
// lowered policy of testdata/seccomp for each x86-64 call the policy
// always allows, so that the kernel does not run the filter on them.
func TestLoweredPoliciesCached(t *testing.T) {
	for _, name := range []string{"deny_unlink", "read_only"} {
		f, err := seccomp.Lower(loadPolicy(t, name).Instructions())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		allowed := 0
		for nr := uint32(0); nr < seccomp.TableSize; nr++ {
			if action, ok := f.ConstAction(nr); ok && action == seccomp.RetAllow {
				allowed++
				if !f.CacheFollows(nr) {
					t.Errorf("%s: call %d is always allowed, but the kernel's cache cannot follow the filter to it", name, nr)
				}
			}
		}
		if allowed < seccomp.TableSize/2 {
			t.Errorf("%s: only %d calls always allowed", name, allowed)
		}
	}
}
