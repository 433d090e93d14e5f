//go:build linux && amd64

package link

import (
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// fakeMemory is a process's memory for planSite: code at base.
type fakeMemory struct {
	base uint64
	code []byte
}

func (m *fakeMemory) ReadAt(b []byte, off int64) (int, error) {
	if uint64(off) < m.base || uint64(off)-m.base+uint64(len(b)) > uint64(len(m.code)) {
		return 0, os.ErrInvalid
	}
	return copy(b, m.code[uint64(off)-m.base:]), nil
}

// TestPlanSites: the cases of testdata/uprobe/xol_sites.txt. Each probe
// is planned on the memory as the earlier ones left it (planSite), then
// written as outOfLine writes it: a jmp and int3 padding, or an int3.
func TestPlanSites(t *testing.T) {
	forEachCase(t, "../testdata/uprobe/xol_sites.txt", 4, func(line int, fields []string) {
		fn, err := hex.DecodeString(strings.ReplaceAll(fields[1], " ", ""))
		if err != nil {
			t.Fatalf("xol_sites.txt:%d: %v", line, err)
		}
		offs, wants := strings.Split(fields[2], ","), strings.Split(fields[3], ",")
		if len(offs) != len(wants) {
			t.Fatalf("xol_sites.txt:%d: %d offsets, %d results", line, len(offs), len(wants))
		}
		t.Run(fields[0], func(t *testing.T) {
			const fnAddr, slot = 0x401000, 0x400000
			mem := &fakeMemory{base: fnAddr, code: append([]byte(nil), fn...)}
			sp := &space{bps: map[uint64]*breakpoint{}}
			for i, o := range offs {
				off, err := strconv.Atoi(o)
				if err != nil {
					t.Fatalf("offset %q: %v", o, err)
				}
				addr := fnAddr + uint64(off)
				bp := &breakpoint{addr: addr, orig: fn[off], entry: []*uprobePoint{{off: 0x1000 + uint64(off), fnOff: 0x1000, fnSize: uint64(len(fn))}}}
				sp.bps[addr] = bp
				plan := planSite(mem, sp, bp)
				got := "int3"
				if plan != nil {
					got = strconv.Itoa(len(plan.orig))
				}
				if got != wants[i] {
					t.Fatalf("probe %d at +%d: %s, want %s", i, off, got, wants[i])
				}
				if plan == nil {
					mem.code[off] = 0xcc
					continue
				}
				jmp, _ := jmpRel32(addr, slot+uint64(i)*xolSlotSize)
				copy(mem.code[off:], jmp)
				for j := off + jmpLen; j < off+len(plan.orig); j++ {
					mem.code[j] = 0xcc
				}
				bp.xol = &xolSite{plan: plan, slot: slot + uint64(i)*xolSlotSize}
				sp.bps[bp.xol.slot] = bp
			}
		})
	})
}
