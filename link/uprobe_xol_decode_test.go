//go:build linux && amd64

package link

import (
	"debug/elf"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// TestPlanXOL: the cases of testdata/uprobe/xol_plans.txt; every plan
// also relocates right (checkRelocate).
func TestPlanXOL(t *testing.T) {
	forEachCase(t, "../testdata/uprobe/xol_plans.txt", 4, func(line int, fields []string) {
		name, code, want := fields[0], fields[1], fields[3]
		var fn []byte
		if code != "none" {
			var err error
			if fn, err = hex.DecodeString(strings.ReplaceAll(code, " ", "")); err != nil {
				t.Fatalf("xol_plans.txt:%d: %v", line, err)
			}
		}
		off, err := strconv.Atoi(fields[2])
		if err != nil {
			t.Fatalf("xol_plans.txt:%d: offset: %v", line, err)
		}
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
	})
}

// checkRelocate checks that p's instructions moved to `to` are the same
// instructions, their rip-relative operands and branches reaching the
// same addresses, and that origRIP maps each one's start back.
func checkRelocate(t testing.TB, p *xolPlan, to uint64) {
	t.Helper()
	moved, err := p.relocate(to)
	if err != nil {
		// Out of reach is the only reason to refuse.
		for _, in := range p.insns {
			if in.rel >= 0 || in.branch != nil {
				return
			}
		}
		t.Fatalf("relocate to %#x: %v", to, err)
	}
	if len(moved) != p.movedLen() {
		t.Fatalf("relocate: %d bytes, want %d", len(moved), p.movedLen())
	}
	pos := 0
	for _, in := range p.insns {
		a, err1 := decodeInsn(p.orig[in.off:])
		b, err2 := decodeInsn(moved[pos:])
		if err1 != nil || err2 != nil || a.Op != b.Op || a.Len != in.len || b.Len != in.movedLen() {
			t.Fatalf("instruction at +%d: %v (%v) moved to %v (%v)", in.off, a, err1, b, err2)
		}
		for i := range a.Args {
			from, got := p.addr+uint64(in.off+in.len), to+uint64(pos+b.Len)
			switch x := a.Args[i].(type) {
			case x86asm.Rel:
				y, ok := b.Args[i].(x86asm.Rel)
				if !ok || from+uint64(int64(x)) != got+uint64(int64(y)) {
					t.Fatalf("instruction at +%d: branch to %#x moved to %v", in.off, from+uint64(int64(x)), b)
				}
			case x86asm.Mem:
				y, ok := b.Args[i].(x86asm.Mem)
				if !ok || x.Base != y.Base {
					t.Fatalf("instruction at +%d: argument %d changed: %v, %v", in.off, i, a.Args[i], b.Args[i])
				}
				if x.Base == x86asm.RIP && from+uint64(x.Disp) != got+uint64(y.Disp) {
					t.Fatalf("instruction at +%d: rip-relative operand reaches %#x moved, %#x in place", in.off, got+uint64(y.Disp), from+uint64(x.Disp))
				}
				if x.Base != x86asm.RIP && x != y {
					t.Fatalf("instruction at +%d: argument %d changed: %v, %v", in.off, i, x, y)
				}
			default:
				if a.Args[i] != b.Args[i] {
					t.Fatalf("instruction at +%d: argument %d changed: %v, %v", in.off, i, a.Args[i], b.Args[i])
				}
			}
		}
		if back, ok := p.origRIP(to, to+uint64(pos)); !ok || back != p.addr+uint64(in.off) {
			t.Fatalf("origRIP(+%d) = %#x, %v", pos, back, ok)
		}
		pos += b.Len
	}
	if back, ok := p.origRIP(to, to+uint64(pos)); !ok || back != p.addr+uint64(len(p.orig)) {
		t.Fatalf("origRIP(end) = %#x, %v", back, ok)
	}
}

// FuzzPlanXOL: any bytes as a function, any offset: planXOL never
// panics, and what it accepts is whole instructions of at least jmpLen
// bytes that relocate right.
func FuzzPlanXOL(f *testing.F) {
	f.Add([]byte{0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x05, 0x0b, 0x2e, 0x00, 0x00, 0x5d, 0xc3}, uint8(0))
	f.Add([]byte{0x31, 0xc0, 0x48, 0x01, 0xf8, 0x48, 0xff, 0xcf, 0x75, 0xf8, 0xc3}, uint8(0))
	f.Add([]byte{0x48, 0xc7, 0x05, 0x10, 0, 0, 0, 1, 0, 0, 0, 0xc3}, uint8(0))
	f.Add([]byte{0x49, 0x3b, 0x66, 0x10, 0x76, 0x03, 0x55, 0x5d, 0xc3, 0xe8, 0, 0, 0, 0, 0xeb, 0xf0}, uint8(0))
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
		if len(p.orig) < jmpLen || len(p.orig) > jmpLen-1+15 || int(off)+len(p.orig) > len(fn) || 1+p.movedLen()+jmpLen > xolSlotSize {
			t.Fatalf("%d bytes moved at +%d of %d", len(p.orig), off, len(fn))
		}
		checkRelocate(t, p, fnAddr+0x100000)
	})
}

// TestBranchInto: the cases of testdata/uprobe/xol_entries.txt.
func TestBranchInto(t *testing.T) {
	forEachCase(t, "../testdata/uprobe/xol_entries.txt", 5, func(line int, fields []string) {
		code, err := hex.DecodeString(strings.ReplaceAll(fields[1], " ", ""))
		if err != nil {
			t.Fatalf("xol_entries.txt:%d: %v", line, err)
		}
		var r [4]uint64
		for i, s := range append(strings.Split(fields[2], ","), strings.Split(fields[3], ",")...) {
			if i >= 4 {
				t.Fatalf("xol_entries.txt:%d: more than two ranges", line)
			}
			if r[i], err = strconv.ParseUint(s, 16, 64); err != nil {
				t.Fatalf("xol_entries.txt:%d: %v", line, err)
			}
		}
		t.Run(fields[0], func(t *testing.T) {
			at, found := branchInto(code, 0x1000, r[0], r[1], r[2], r[3])
			got := "none"
			if found {
				got = "0x" + strconv.FormatUint(at, 16)
			}
			if got != fields[4] {
				t.Fatalf("branchInto: %s, want %s", got, fields[4])
			}
		})
	})
}

// FuzzBranchInto: any code, any function and displaced range inside it:
// branchInto never panics, and a branch it reports is outside the
// function.
func FuzzBranchInto(f *testing.F) {
	f.Add([]byte{0x48, 0x89, 0xf8, 0x48, 0x83, 0xc0, 0x0a, 0xeb, 0x03, 0x48, 0x89, 0xf8, 0x48, 0x83, 0xc0, 0x07, 0xc3}, uint16(9), uint16(8), uint8(7))
	f.Add([]byte{0xe9, 0x08, 0, 0, 0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x48, 0x89, 0xf8, 0x48, 0x83, 0xc0, 0x07, 0xc3}, uint16(10), uint16(8), uint8(7))
	f.Fuzz(func(t *testing.T, code []byte, fnOff, fnLen uint16, moved uint8) {
		const base = 0x400000
		if int(fnOff)+int(fnLen) > len(code) || fnLen == 0 || moved == 0 || moved > uint8(fnLen) {
			return
		}
		lo, hi := base+uint64(fnOff), base+uint64(fnOff)+uint64(fnLen)
		at, found := branchInto(code, base, lo, hi, lo, lo+uint64(moved))
		if found && at >= lo && at < hi {
			t.Fatalf("a branch at %#x inside the function [%#x, %#x)", at, lo, hi)
		}
	})
}

// BenchmarkBranchInto: the attach-time check of one site against every
// branch of a file's executable code (enteredFromOutside), on the
// system's libc and python3 (each skipped where absent): every function
// of theirs whose first instructions would move (planXOL), one check
// each; ns/op is the time of one site.
func BenchmarkBranchInto(b *testing.B) {
	for _, path := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/python3"} {
		b.Run(filepath.Base(path), func(b *testing.B) {
			f, err := elf.Open(path)
			if err != nil {
				b.Skipf("%s: %v", path, err)
			}
			defer f.Close()
			c := readFileCode(path)
			text := f.Section(".text")
			if text == nil || len(c.segs) == 0 {
				b.Skipf("%s: no .text or no executable segment", path)
			}
			syms, _ := f.DynamicSymbols()
			type site struct {
				seg         codeSegment
				lo, hi, end uint64
			}
			var sites []site
			for _, s := range syms {
				if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 || s.Value < text.Addr || s.Value+s.Size > text.Addr+text.Size {
					continue
				}
				off := s.Value - text.Addr + text.Offset
				for _, seg := range c.segs {
					if off >= seg.off && off+s.Size <= seg.off+uint64(len(seg.code)) {
						fn := seg.code[off-seg.off : off-seg.off+s.Size]
						if p, err := planXOL(fn, off, fn, off); err == nil {
							sites = append(sites, site{seg, off, off + s.Size, off + uint64(len(p.orig))})
						}
					}
				}
			}
			if len(sites) == 0 {
				b.Skipf("%s: no function that moves", path)
			}
			refused := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := sites[i%len(sites)]
				if _, found := branchInto(s.seg.code, s.seg.off, s.lo, s.hi, s.lo, s.end); found && i < len(sites) {
					refused++
				}
			}
			b.ReportMetric(float64(len(sites)), "sites")
			if b.N >= len(sites) {
				b.ReportMetric(float64(refused), "refused")
			}
		})
	}
}
