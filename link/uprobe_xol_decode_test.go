//go:build linux && amd64

package link

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// TestPlanXOL: the cases of testdata/uprobe/xol_plans.txt; every plan
// also relocates right (checkRelocate).
func TestPlanXOL(t *testing.T) {
	f, err := os.Open("../testdata/uprobe/xol_plans.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cases := 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "|")
		if len(fields) != 4 {
			t.Fatalf("xol_plans.txt:%d: %d fields, want 4", line, len(fields))
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		name, code, want := fields[0], fields[1], fields[3]
		var fn []byte
		if code != "none" {
			if fn, err = hex.DecodeString(strings.ReplaceAll(code, " ", "")); err != nil {
				t.Fatalf("xol_plans.txt:%d: %v", line, err)
			}
		}
		off, err := strconv.Atoi(fields[2])
		if err != nil {
			t.Fatalf("xol_plans.txt:%d: offset: %v", line, err)
		}
		cases++
		t.Run(name, func(t *testing.T) {
			const fnAddr = 0x401000
			var at []byte
			if off < len(fn) {
				at = fn[off:]
			}
			p, err := planXOL(at, fnAddr+uint64(off), fn, fnAddr)
			if wantErr, ok := strings.CutPrefix(want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), wantErr) {
					t.Fatalf("planXOL: %v; want an error with %q", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strconv.Itoa(len(p.orig)) != want {
				t.Fatalf("%d bytes moved, want %s", len(p.orig), want)
			}
			for _, to := range []uint64{fnAddr + 0x10000, fnAddr - 0x10000, fnAddr + 0x7fff0000} {
				checkRelocate(t, p, to)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases == 0 {
		t.Fatal("no cases in xol_plans.txt")
	}
}

// checkRelocate checks that p's instructions moved to `to` are the same
// instructions, their rip-relative operands reaching the same addresses,
// and that origRIP maps each one's start back.
func checkRelocate(t testing.TB, p *xolPlan, to uint64) {
	t.Helper()
	moved, err := p.relocate(to)
	if err != nil {
		// Out of reach is the only reason to refuse.
		for _, in := range p.insns {
			if in.rel >= 0 {
				return
			}
		}
		t.Fatalf("relocate to %#x: %v", to, err)
	}
	if len(moved) != len(p.orig) {
		t.Fatalf("relocate: %d bytes from %d", len(moved), len(p.orig))
	}
	for _, in := range p.insns {
		a, err1 := decodeInsn(p.orig[in.off:])
		b, err2 := decodeInsn(moved[in.off:])
		if err1 != nil || err2 != nil || a.Len != b.Len || a.Op != b.Op || a.Len != in.len {
			t.Fatalf("instruction at +%d: %v (%v) moved to %v (%v)", in.off, a, err1, b, err2)
		}
		for i := range a.Args {
			ma, ok1 := a.Args[i].(x86asm.Mem)
			mb, ok2 := b.Args[i].(x86asm.Mem)
			if ok1 != ok2 {
				t.Fatalf("instruction at +%d: argument %d changed kind", in.off, i)
			}
			if !ok1 || ma.Base != x86asm.RIP {
				if a.Args[i] != b.Args[i] {
					t.Fatalf("instruction at +%d: argument %d changed: %v, %v", in.off, i, a.Args[i], b.Args[i])
				}
				continue
			}
			from := p.addr + uint64(in.off+in.len) + uint64(ma.Disp)
			got := to + uint64(in.off+in.len) + uint64(mb.Disp)
			if from != got {
				t.Fatalf("instruction at +%d: rip-relative operand reaches %#x moved, %#x in place", in.off, got, from)
			}
		}
		if back, ok := p.origRIP(to, to+uint64(in.off)); !ok || back != p.addr+uint64(in.off) {
			t.Fatalf("origRIP(+%d) = %#x, %v", in.off, back, ok)
		}
	}
}

// FuzzPlanXOL: any bytes as a function, any offset: planXOL never
// panics, and what it accepts is whole instructions of at least jmpLen
// bytes that relocate right.
func FuzzPlanXOL(f *testing.F) {
	f.Add([]byte{0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x05, 0x0b, 0x2e, 0x00, 0x00, 0x5d, 0xc3}, uint8(0))
	f.Add([]byte{0x31, 0xc0, 0x48, 0x01, 0xf8, 0x48, 0xff, 0xcf, 0x75, 0xf8, 0xc3}, uint8(0))
	f.Add([]byte{0x48, 0xc7, 0x05, 0x10, 0, 0, 0, 1, 0, 0, 0, 0xc3}, uint8(0))
	f.Fuzz(func(t *testing.T, fn []byte, off uint8) {
		const fnAddr = 0x7f0000001000
		var at []byte
		if int(off) < len(fn) {
			at = fn[off:]
		}
		p, err := planXOL(at, fnAddr+uint64(off), fn, fnAddr)
		if err != nil {
			return
		}
		if len(p.orig) < jmpLen || len(p.orig) > jmpLen-1+15 || int(off)+len(p.orig) > len(fn) {
			t.Fatalf("%d bytes moved at +%d of %d", len(p.orig), off, len(fn))
		}
		checkRelocate(t, p, fnAddr+0x100000)
	})
}
