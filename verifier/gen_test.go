package verifier

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/kernel"
)

// A generator of programs for the soundness fuzzing: fragments that pass
// or barely fail the verifier's checks (packet bounds off by one, map
// offsets at the value's edge, stack at the frame's edge, loops, spills,
// callbacks, references), so that many programs are accepted and the
// accepted ones probe the edges.

// genSource reads choices from a byte stream, then from a PRNG.
type genSource struct {
	data []byte
	rng  *rand.Rand
}

func (g *genSource) n(k int) int {
	if k <= 1 {
		return 0
	}
	if len(g.data) > 0 {
		b := int(g.data[0])
		g.data = g.data[1:]
		return b % k
	}
	return g.rng.IntN(k)
}

func (g *genSource) pick(xs ...string) string { return xs[g.n(len(xs))] }

var genTypes = []ebpf.ProgramType{ebpf.XDP, ebpf.SchedCLS, kernel.RawMemory, ebpf.SocketFilter, ebpf.RawTracepoint, ebpf.Syscall}

var genMaps = []Map{
	{Name: "arr", Type: ebpf.Array, KeySize: 4, ValueSize: 16, MaxEntries: 4},
	{Name: "hash", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16},
	{Name: "rb", Type: ebpf.RingBuf, MaxEntries: 4096},
	{Name: "ro", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: bpfFRdonlyProg, Value: []byte{3, 0, 0, 0, 0, 0, 0, 0}},
}

// genProgram builds a program from the choices in data (then seed).
func genProgram(data []byte, seed uint64) (*Program, string) {
	g := &genSource{data: data, rng: rand.New(rand.NewPCG(seed, 7))}
	typ := genTypes[g.n(len(genTypes))]
	var b strings.Builder
	label := 0
	newLabel := func() string { label++; return fmt.Sprintf("L%d", label) }
	emit := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	pkt := false
	switch typ {
	case ebpf.XDP:
		emit("mov %%r6, %%r1\nldxw %%r7, [%%r1+0]\nldxw %%r8, [%%r1+4]")
		pkt = true
	case ebpf.SchedCLS:
		emit("mov %%r6, %%r1\nldxw %%r7, [%%r1+76]\nldxw %%r8, [%%r1+80]")
		pkt = true
	case kernel.RawMemory:
		emit("mov %%r6, %%r1\nmov %%r7, %%r1\nmov %%r8, %%r1\nadd %%r8, %%r2")
		pkt = true
	default:
		emit("mov %%r6, %%r1")
	}
	imms := []string{"0", "1", "-1", "7", "8", "15", "16", "63", "64", "255", "0x7fffffff", "-8", "4", "3", "0x80000000"}
	regs := []string{"%r0", "%r1", "%r2", "%r3", "%r4", "%r5"}
	var callbacks []string
	// Scratch registers start (and are set again after calls) with
	// constants or unknown numbers.
	refresh := func(from int) {
		saved := from > 0
		if saved {
			emit("mov %%r9, %%r0")
		}
		emit("call 7")
		for i := 5; i >= from; i-- {
			if g.n(3) == 0 {
				emit("mov %%r%d, %%r0\nand %%r%d, %s", i, i, g.pick("0xff", "-1", "7"))
			} else {
				emit("mov %%r%d, %s", i, g.pick(imms...))
			}
		}
		if saved {
			emit("mov %%r0, %%r9")
		}
	}
	refresh(0)
	steps := 4 + g.n(16)
	for i := 0; i < steps; i++ {
		r := g.pick(regs...)
		s := g.pick(regs...)
		switch g.n(28) {
		case 0:
			emit("mov %s, %s", r, g.pick(imms...))
		case 1:
			op := g.pick("add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh", "div", "mod", "neg")
			w := g.pick("", "32")
			if op == "neg" {
				emit("neg%s %s", w, r)
			} else if g.n(2) == 0 {
				emit("%s%s %s, %s", op, w, r, g.pick(imms...))
			} else {
				emit("%s%s %s, %s", op, w, r, s)
			}
		case 2:
			off := -8 * (1 + g.n(6))
			emit("st%s [%%r10%+d], %s", g.pick("b", "h", "w", "dw"), off, g.pick(imms...))
		case 3:
			off := -8 * (1 + g.n(6))
			emit("stx%s [%%r10%+d], %s", g.pick("dw", "w"), off, s)
			emit("ldx%s %s, [%%r10%+d]", g.pick("dw", "w", "h", "b"), r, off)
		case 4:
			if !pkt {
				continue
			}
			n := 1 + g.n(40)
			m := g.n(n + 2)
			l := newLabel()
			emit("mov %%r4, %%r7\nadd %%r4, %d\n%s %%r4, %%r8, %s", n, g.pick("jgt", "jge"), l)
			emit("ldx%s %%r0, [%%r7+%d]", g.pick("b", "h", "w", "b"), m)
			if typ != ebpf.SocketFilter && g.n(2) == 0 {
				emit("stb [%%r7+%d], 1", g.n(n+1))
			}
			emit("%s:", l)
		case 5:
			if !pkt {
				continue
			}
			l := newLabel()
			emit("mov %%r4, %s\nand %%r4, %s\nmov %%r5, %%r7\nadd %%r5, %%r4", r, g.pick("0xff", "15", "0x3f", "-1"))
			n := 1 + g.n(8)
			emit("mov %%r4, %%r5\nadd %%r4, %d\njgt %%r4, %%r8, %s\nldxb %%r0, [%%r5+%d]\n%s:", n, l, g.n(n+1), l)
		case 6:
			mi := g.n(2)
			l := newLabel()
			emit("stw [%%r10-4], %s\nmov %%r2, %%r10\nadd %%r2, -4\nlddw %%r1, map_fd %d\ncall 1", g.pick("0", "1", "3", "4"), mi)
			if g.n(4) != 0 {
				emit("jeq %%r0, 0, %s", l)
			}
			size := g.pick("b", "h", "w", "dw")
			vs := int(genMaps[mi].ValueSize)
			emit("ldx%s %%r1, [%%r0+%d]", size, g.n(vs+2))
			if g.n(2) == 0 {
				emit("mov %%r1, %s\nand %%r1, %s\nadd %%r0, %%r1\nst%s [%%r0], 1", s, g.pick("7", "8", "15", "3"), size)
			}
			emit("%s:", l)
			refresh(0)
		case 7:
			l := newLabel()
			emit("j%s %s, %s, %s", g.pick("eq", "ne", "gt", "ge", "lt", "le", "sgt", "slt", "set"), r, g.pick(imms...), l)
			emit("mov %s, %s", s, g.pick(imms...))
			emit("%s:", l)
		case 8:
			emit("call %s", g.pick("7", "5", "8"))
			refresh(1)
		case 9:
			l := newLabel()
			emit("lddw %%r1, map_fd 2\nmov %%r2, %d\nmov %%r3, 0\ncall 131\njeq %%r0, 0, %s", 8*(1+g.n(3)), l)
			emit("stdw [%%r0+%d], 1", 8*g.n(3))
			if g.n(8) != 0 {
				emit("mov %%r1, %%r0\nmov %%r2, 0\ncall %s", g.pick("132", "133"))
			}
			emit("%s:", l)
			refresh(0)
		case 10:
			l := newLabel()
			emit("mov %%r3, 0\n%s:\nadd %%r3, 1\nadd %%r0, %%r3\nj%s %%r3, %d, %s", l, g.pick("lt", "ne", "le"), 1+g.n(20), l)
		case 11:
			emit("ldx%s %s, [%%r6+%d]", g.pick("w", "b", "dw", "h"), r, 4*g.n(8))
		case 12:
			if pkt {
				emit("stxdw [%%r10-16], %%r7\nldxdw %%r7, [%%r10-16]")
			}
		case 13:
			l := newLabel()
			emit("stw [%%r10-4], 0\nmov %%r2, %%r10\nadd %%r2, -4\nlddw %%r1, map_fd 0\ncall 1\njeq %%r0, 0, %s", l)
			emit("mov %%r1, 1\nlock %s [%%r0+%d], %%r1", g.pick("add", "fetch add", "xor"), 8*g.n(3))
			emit("%s:", l)
			refresh(0)
		case 14:
			cb := fmt.Sprintf("cb%d", len(callbacks))
			emit("stdw [%%r10-8], 0\nmov %%r1, %d\nlddw %%r2, func %s\nmov %%r3, %%r10\nadd %%r3, -8\nmov %%r4, 0\ncall 181", 1+g.n(20), cb)
			refresh(1)
			emit("ldxdw %s, [%%r10-8]", r)
			callbacks = append(callbacks, fmt.Sprintf("%s:\nldxdw %%r3, [%%r2]\nadd %%r3, %%r1\nstxdw [%%r2], %%r3\nmov %%r0, %s\nexit", cb, g.pick("0", "1", "0")))
		case 22:
			// A static function with a stack pointer argument.
			fn := fmt.Sprintf("fn%d", len(callbacks))
			emit("mov %%r1, %s\nmov %%r2, %%r10\nadd %%r2, -16\nstdw [%%r10-16], 0\ncall local %s\nmov %s, %%r0", s, fn, r)
			callbacks = append(callbacks, fmt.Sprintf("%s:\nldxdw %%r0, [%%r2]\nand %%r1, %s\nstxdw [%%r2], %%r1\nmov %%r0, %%r1\nexit", fn, g.pick("7", "-1", "0xff")))
			refresh(1)
		case 23:
			if typ != ebpf.XDP {
				continue
			}
			l := newLabel()
			emit("ldxw %%r4, [%%r6+8]\nmov %%r5, %%r4\nadd %%r5, %d\njgt %%r5, %%r7, %s\nldxw %%r0, [%%r4+%d]\n%s:", 4*(1+g.n(2)), l, 4*g.n(3), l)
		case 24:
			emit("mov %%r4, %s\nand %%r4, %s\nstx%s [%%r10-48], %%r4\nldx%s %%r4, [%%r10-48]", r, g.pick("0xf", "0xff", "-1"), g.pick("w", "dw", "h"), g.pick("w", "dw", "h", "b"))
			emit("mov %%r5, %%r10\nadd %%r5, -64\nand %%r4, 15\nadd %%r5, %%r4\nstb [%%r5], 1\nldx%s %s, [%%r5]", g.pick("b", "h"), s)
		case 25:
			l := newLabel()
			emit("stw [%%r10-4], 0\nmov %%r2, %%r10\nadd %%r2, -4\nlddw %%r1, map_fd 1\ncall 1\njeq %%r0, 0, %s", l)
			emit("mov %%r1, %%r0\nmov %%r0, %s\nmov %%r2, 7\nlock cmpxchg [%%r1], %%r2", g.pick("0", "7"))
			emit("%s:", l)
			refresh(0)
		case 26:
			cb := fmt.Sprintf("cb%d", len(callbacks))
			emit("lddw %%r1, map_fd 1\nlddw %%r2, func %s\nmov %%r3, 0\nmov %%r4, 0\ncall 164", cb)
			callbacks = append(callbacks, fmt.Sprintf("%s:\nldxdw %%r0, [%%r3+%d]\nldxw %%r0, [%%r2]\nmov %%r0, 0\nexit", cb, 8*g.n(2)))
			refresh(0)
		case 27:
			emit("mov %%r4, %s\nand %%r4, %s\nmov %%r5, %%r10\nadd %%r5, -32\nadd %%r5, %%r4\nstdw [%%r10-32], 0\nstdw [%%r10-24], 0\nldx%s %s, [%%r5]", r, g.pick("7", "8", "15", "16"), g.pick("b", "h", "w"), s)
		case 19, 20, 21:
			// Arithmetic then a comparison, then the value as an
			// offset: the bounds must be exactly as tight as the
			// kernel's.
			l := newLabel()
			emit("call 7\nmov %%r3, %%r0\n%s %%r3, %s", g.pick("and", "and32", "mod", "rsh", "and"), g.pick("0xff", "0x3f", "7", "0xffff", "-1", "31"))
			for k := g.n(4); k > 0; k-- {
				switch g.n(7) {
				case 0:
					emit("movsx%s64 %%r3, %%r3", g.pick("8", "16", "32"))
				case 1:
					emit("%s %%r3", g.pick("be16", "le16", "be32", "bswap16", "neg", "neg32"))
				default:
					emit("%s%s %%r3, %s", g.pick("add", "sub", "mul", "lsh", "rsh", "arsh", "or", "xor", "and"), g.pick("", "32"), g.pick("1", "3", "8", "-1", "-8", "16", "0xff", "2"))
				}
			}
			for k := 1 + g.n(2); k > 0; k-- {
				emit("j%s%s %%r3, %s, %s", g.pick("gt", "ge", "lt", "le", "sgt", "sge", "slt", "sle", "eq", "ne", "set"), g.pick("", "32"), g.pick("0", "1", "7", "15", "16", "-1", "-16", "255", "0xffff"), l)
			}
			emit("stxdw [%%r10-40], %%r3\nstw [%%r10-4], 0\nmov %%r2, %%r10\nadd %%r2, -4\nlddw %%r1, map_fd 0\ncall 1\njeq %%r0, 0, %s", l)
			emit("ldxdw %%r3, [%%r10-40]\nadd %%r0, %%r3\nldxb %%r1, [%%r0]")
			emit("%s:", l)
			refresh(0)
		case 16, 17, 18:
			// A diamond: r3 is one of two constants (or the
			// value spilled), used later as an offset after other
			// branches, so that pruning must keep it precise.
			l1, l2, l3 := newLabel(), newLabel(), newLabel()
			c1, c2 := g.n(14), g.n(18)
			emit("call 7\nj%s %%r0, %s, %s\nmov %%r3, %d\nja %s\n%s:\nmov %%r3, %d\n%s:", g.pick("gt", "eq", "set"), g.pick(imms...), l1, c1, l2, l1, c2, l2)
			if g.n(2) == 0 {
				emit("stxdw [%%r10-24], %%r3\ncall 7\nldxdw %%r3, [%%r10-24]")
			}
			if g.n(2) == 0 {
				emit("mov %%r4, %%r3\nadd %%r4, 1")
			}
			if g.n(3) == 0 {
				emit("jgt %%r3, %d, %s", g.n(20), l3)
			}
			emit("call 7\njeq %%r0, 5, +1\nmov %%r5, 1")
			emit("stw [%%r10-4], 0\nmov %%r2, %%r10\nadd %%r2, -4\nlddw %%r1, map_fd 0\ncall 1\njeq %%r0, 0, %s", l3)
			if g.n(2) == 0 {
				emit("mov %%r3, %%r4\nadd %%r3, -1")
			}
			emit("add %%r0, %%r3\nldx%s %%r1, [%%r0]", g.pick("b", "w", "dw"))
			emit("%s:", l3)
			refresh(0)
		case 15:
			emit("lddw %%r1, map_value 3, 0\nldxdw %s, [%%r1]\nmov %%r2, %%r10\nadd %%r2, -32\nadd %%r2, %s\nstb [%%r2], 0", r, r)
		}
	}
	emit("mov %%r0, 0\nexit")
	for _, c := range callbacks {
		emit("%s", c)
	}
	src := b.String()
	insns, err := assembler.Assemble(src)
	if err != nil {
		return nil, src
	}
	p := &Program{Name: "gen", Type: typ, Instructions: insns}
	for i := range genMaps {
		m := genMaps[i]
		m.Value = append([]byte(nil), m.Value...)
		if genMaps[i].Value == nil {
			m.Value = nil
		}
		p.Maps = append(p.Maps, &m)
	}
	return p, src
}

// TestSoundnessGenerated checks generated programs: the accepted ones run
// without a fault.
func TestSoundnessGenerated(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	n := 3000
	if testing.Short() {
		n = 300
	}
	accepted := 0
	for i := 0; i < n; i++ {
		p, src := genProgram(nil, uint64(i))
		if p == nil {
			t.Fatalf("generated program does not assemble:\n%s", src)
		}
		if _, err := Verify(p, Options{MaxInstructions: 200_000}); err == nil {
			accepted++
		}
		if err := checkSound(p, uint64(i), 4); err != nil {
			t.Fatalf("seed %d: %v\n%s", i, err, src)
		}
	}
	t.Logf("%d of %d generated programs accepted, all ran without a fault", accepted, n)
}

// FuzzSoundnessGen: generated programs the verifier accepts run without a
// fault.
func FuzzSoundnessGen(f *testing.F) {
	for i := 0; i < 16; i++ {
		f.Add([]byte{byte(i), byte(i * 7), byte(i * 13), 6, 4, 9, 14})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, src := genProgram(data, uint64(len(data)))
		if p == nil {
			return
		}
		if err := checkSound(p, uint64(len(data)), 4); err != nil && errors.Is(err, errUnsound) {
			t.Fatalf("%v\n%s", err, src)
		}
	})
}
