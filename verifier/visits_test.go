package verifier

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// visitCounts is, per instruction slot, how often a verifier's log shows
// the instruction processed and how often it shows a path pruned there.
type visitCounts struct {
	visits map[int]int
	safe   map[int]int
}

// parseVisitLog counts, in a verifier log of level 2 (the kernel's or
// waggle's: "N: (op) ..." for an instruction processed, "N: safe" or
// "from M to N: safe" for a path pruned at N), the visits and prunes of
// each instruction. toSlot maps the numbers of the log to slots (waggle's
// log numbers instructions, the kernel's slots); nil keeps them.
func parseVisitLog(r io.Reader, toSlot func(int) int) (visitCounts, error) {
	c := visitCounts{visits: map[int]int{}, safe: map[int]int{}}
	if toSlot == nil {
		toSlot = func(n int) int { return n }
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "from "); ok && strings.HasSuffix(line, ": safe") {
			// "from M to N: safe" (the kernel adds " (speculative execution)").
			var from, to int
			if _, err := fmt.Sscanf(rest, "%d to %d", &from, &to); err == nil {
				c.safe[toSlot(to)]++
				c.visits[toSlot(to)]++
			}
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		n, err := strconv.Atoi(line[:colon])
		if err != nil {
			continue
		}
		rest := line[colon+1:]
		switch {
		case rest == " safe":
			c.safe[toSlot(n)]++
			c.visits[toSlot(n)]++
		case strings.HasPrefix(rest, " ("):
			c.visits[toSlot(n)]++
		}
	}
	return c, sc.Err()
}

// TestParseVisitLog reads the visit counts of logs in testdata/visits.
func TestParseVisitLog(t *testing.T) {
	tests := []struct {
		file   string
		slot   func(int) int
		visits map[int]int
		safe   map[int]int
	}{
		{"kernel.log", nil, map[int]int{0: 1, 1: 2, 2: 1, 4: 2, 5: 1}, map[int]int{4: 1}},
		{"waggle.log", func(n int) int { return n * 2 }, map[int]int{0: 1, 2: 2, 4: 1, 6: 1}, map[int]int{6: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "visits", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := parseVisitLog(f, tt.slot)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(c.visits) != fmt.Sprint(tt.visits) || fmt.Sprint(c.safe) != fmt.Sprint(tt.safe) {
				t.Errorf("visits %v safe %v, want %v %v", c.visits, c.safe, tt.visits, tt.safe)
			}
		})
	}
}

// TestCiliumVisits compares, for program $WAGGLE_PROG of object
// $WAGGLE_OBJ, how often waggle's verifier and the kernel's processed each
// instruction (their logs of level 2), and prints the instructions waggle
// processes most often more than the kernel, with the kernel's prunes and
// waggle's there: the places where waggle's state pruning falls behind.
// The logs are left in $TMPDIR/waggle-visits (a tool for development;
// needs root for the kernel).
func TestCiliumVisits(t *testing.T) {
	obj, prog := os.Getenv("WAGGLE_OBJ"), os.Getenv("WAGGLE_PROG")
	if obj == "" || prog == "" {
		t.Skip("skipped: set WAGGLE_OBJ to an object file and WAGGLE_PROG to one of its programs")
	}
	if err := kernelAvailable(); err != nil {
		t.Skipf("skipped: the kernel's verifier is needed: %v", err)
	}
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	ps, ok := spec.Programs[prog]
	if !ok {
		t.Fatalf("%s has no program %s", obj, prog)
	}
	p, err := ProgramFromSpec(ps, spec.Maps)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "waggle-visits")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var wlog bytes.Buffer
	st, werr := Verify(p, Options{Log: &wlog, LogLevel: 2})
	if err := os.WriteFile(filepath.Join(dir, "waggle.log"), wlog.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	slots := make([]int, len(p.Instructions))
	s := 0
	for i, ins := range p.Instructions {
		slots[i] = s
		s += ins.Slots()
	}
	wc, err := parseVisitLog(&wlog, func(n int) int {
		if n >= 0 && n < len(slots) {
			return slots[n]
		}
		return -1
	})
	if err != nil {
		t.Fatal(err)
	}

	for n := range spec.Programs {
		if n != prog {
			delete(spec.Programs, n)
		}
	}
	for _, m := range spec.Maps {
		m.Pinning = ebpf.PinNone
		if m.Type == ebpf.ProgramArray {
			m.Contents = nil
		}
	}
	coll, kerr := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelInstruction | ebpf.LogLevelStats, LogSizeStart: 1 << 30}})
	var klog string
	if kerr != nil {
		var ve *ebpf.VerifierError
		if !errors.As(kerr, &ve) {
			t.Fatal(kerr)
		}
		klog = strings.Join(ve.Log, "\n")
	} else {
		klog = coll.Programs[prog].VerifierLog
		coll.Close()
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.log"), []byte(klog), 0o644); err != nil {
		t.Fatal(err)
	}
	kc, err := parseVisitLog(strings.NewReader(klog), nil)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ slot, w, k int }
	var rows []row
	tw, tk := 0, 0
	for slot, w := range wc.visits {
		tw += w
		rows = append(rows, row{slot, w, kc.visits[slot]})
	}
	for _, k := range kc.visits {
		tk += k
	}
	sort.Slice(rows, func(i, j int) bool {
		di, dj := rows[i].w-rows[i].k, rows[j].w-rows[j].k
		if di != dj {
			return di > dj
		}
		return rows[i].slot < rows[j].slot
	})
	t.Logf("waggle: %d insns processed (%d visits in its log), err %v; kernel: %d visits in its log, err %v", st.InstructionsProcessed, tw, werr, tk, kerr)
	t.Logf("%6s %8s %8s %8s %8s  %s", "slot", "waggle", "kernel", "w.safe", "k.safe", "instruction")
	idx := map[int]int{}
	for i, sl := range slots {
		idx[sl] = i
	}
	if os.Getenv("WAGGLE_VISITS_ALL") != "" {
		// Every slot where the visits or prunes differ, in program
		// order: the first is where the explorations part.
		sort.Slice(rows, func(i, j int) bool { return rows[i].slot < rows[j].slot })
		for _, r := range rows {
			if r.w != r.k || wc.safe[r.slot] != kc.safe[r.slot] {
				t.Logf("%6d %8d %8d %8d %8d  %v", r.slot, r.w, r.k, wc.safe[r.slot], kc.safe[r.slot], p.Instructions[idx[r.slot]])
			}
		}
		return
	}
	for i, r := range rows {
		if i == 60 || r.w <= r.k {
			break
		}
		t.Logf("%6d %8d %8d %8d %8d  %v", r.slot, r.w, r.k, wc.safe[r.slot], kc.safe[r.slot], p.Instructions[idx[r.slot]])
	}
	if werr != nil && kerr == nil {
		t.Errorf("waggle rejected what the kernel accepted: %v", werr)
	}
}
