//go:build linux && amd64

package link_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/internal/symtab"
	"github.com/waggle-ebpf/waggle/link"
)

// funcCode is the code of function sym of the file at path, from the file.
func funcCode(t *testing.T, path, sym string) (symtab.Symbol, []byte) {
	t.Helper()
	s, err := symtab.Resolve(path, sym)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code := make([]byte, s.Size)
	if _, err := f.ReadAt(code, int64(s.Offset)); err != nil {
		t.Fatal(err)
	}
	return s, code
}

// TestUprobeOutOfLine: probes whose displaced instructions run out of
// line, or cannot, in target.c's functions; the traced program checks
// every result itself (exit 0), the programs count the calls and their
// arguments.
func TestUprobeOutOfLine(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildTarget(t)
	// readshared's store to its global, mov %rdx,shared(%rip): a
	// rip-relative operand among the displaced instructions.
	_, code := funcCode(t, target, "readshared")
	store := bytes.Index(code, []byte{0x48, 0x89, 0x15})
	if store < 0 {
		t.Fatalf("no mov %%rdx,disp32(%%rip) in readshared: % x", code)
	}
	const n = 300
	type want struct {
		calls              map[string]int // map: processes (each n calls)
		sum1               uint64         // of the first argument, all processes
		hits, returns      uint64
		outOfLine, stepped uint64
	}
	for _, tc := range []struct {
		name   string
		args   string
		probes []link.Uprobe
		want   want
	}{
		{
			// The entry (its displaced instructions read the global
			// rip-relative, unless an endbr64 comes first) and the store.
			name: "rip-relative", args: "shared",
			probes: []link.Uprobe{{Symbol: "readshared"}, {Symbol: "readshared", Offset: uint64(store)}},
			want:   want{calls: map[string]int{"entries": 1, "entries_at": 1}, hits: 2 * n, outOfLine: 2},
		},
		{
			// lea 1(%rdi),%rax; ret: too short for a jmp: an int3, the
			// lea single-stepped.
			name: "too short", args: "tiny",
			probes: []link.Uprobe{{Symbol: "tiny"}},
			want:   want{calls: map[string]int{"entries": 1}, sum1: n * (n - 1) / 2, hits: n, stepped: n},
		},
		{
			// The child inherits the page and the jmp.
			name: "fork", args: "fork",
			probes: []link.Uprobe{{Symbol: "work"}, {Symbol: "work", Return: true}},
			want:   want{calls: map[string]int{"entries": 2, "returns": 2}, sum1: 2 * 2 * n, hits: 2 * n, returns: 2 * n, outOfLine: 1, stepped: 1},
		},
		{
			// The executed image gets its own page.
			name: "fork and exec", args: "forkexec",
			probes: []link.Uprobe{{Symbol: "work"}, {Symbol: "work", Return: true}},
			want:   want{calls: map[string]int{"entries": 2, "returns": 2}, sum1: 2*n + n, hits: 2 * n, returns: 2 * n, outOfLine: 2, stepped: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			coll := callsObject(t)
			probes := append([]link.Uprobe(nil), tc.probes...)
			for i := range probes {
				probes[i].Path = target
				switch {
				case probes[i].Return:
					probes[i].Program = coll.Programs["leave"]
				case probes[i].Offset != 0:
					probes[i].Program = coll.Programs["enter_at"]
				default:
					probes[i].Program = coll.Programs["enter"]
				}
			}
			var out bytes.Buffer
			l := runUprobes(t, link.UprobeOptions{Path: target, Args: []string{"target", tc.args, strconv.Itoa(n)}, Stdout: &out, Stderr: &out, Probes: probes})
			if l.ExitCode() != 0 {
				t.Fatalf("exit %d, output %q", l.ExitCode(), out.String())
			}
			st := l.Stats()
			if st.Hits != tc.want.hits || st.Returns != tc.want.returns || st.Stepped != tc.want.stepped || l.OutOfLine() != tc.want.outOfLine {
				t.Errorf("%d hits, %d returns, %d stepped, %d sites out of line; want %d, %d, %d, %d",
					st.Hits, st.Returns, st.Stepped, l.OutOfLine(), tc.want.hits, tc.want.returns, tc.want.stepped, tc.want.outOfLine)
			}
			var sum1 uint64
			for m, procs := range tc.want.calls {
				calls := readCalls(t, coll.Maps[m])
				if len(calls) != procs {
					t.Errorf("%s: calls in %d processes, want %d: %v", m, len(calls), procs, calls)
				}
				for tid, c := range calls {
					if c.count != n {
						t.Errorf("%s: process %d: %d calls, want %d", m, tid, c.count, n)
					}
					if m == "entries" {
						sum1 += c.sum1
					}
				}
			}
			if tc.want.sum1 != 0 && sum1 != tc.want.sum1 {
				t.Errorf("entries: first arguments add up to %d, want %d", sum1, tc.want.sum1)
			}
		})
	}
}

// TestUprobeOutOfLineDetach: while attached to a running process, work
// starts with a jmp to its slot; after the detach its code is as it was
// before, byte for byte, and the process runs on to its normal end. A
// second attach uses the page that the first one left (one page mapped
// in all), its next slot.
func TestUprobeOutOfLineDetach(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	sym, code := funcCode(t, target, "work")
	cmd := proctest.Start(t, target, "wait")
	time.Sleep(50 * time.Millisecond)
	maps, err := symtab.ReadMaps(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := symtab.Address(maps, target, sym.Offset)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	read := func() []byte {
		b := make([]byte, len(code))
		if _, err := mem.ReadAt(b, int64(addr)); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got := read(); !bytes.Equal(got, code) {
		t.Fatalf("work before the attach: % x, want the file's % x", got, code)
	}
	pages := anonCodePages(t, cmd.Process.Pid)
	var slots []uint64
	for round := 1; round <= 2; round++ {
		l := attachWork(t, cmd.Process.Pid, target, coll, true, 20)
		got := read()
		if got[0] != 0xe9 || l.OutOfLine() != 1 {
			t.Errorf("round %d: work while attached: % x, %d sites out of line; want a jmp (e9) to its slot", round, got, l.OutOfLine())
		}
		slots = append(slots, addr+5+uint64(int32(binary.LittleEndian.Uint32(got[1:]))))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if st := l.Stats(); st.Returns < 20 || st.Hits < st.Returns {
			t.Fatalf("round %d: stats %+v: want at least 20 calls", round, st)
		}
		if got := read(); !bytes.Equal(got, code) {
			t.Errorf("round %d: work after the detach: % x, want % x", round, got, code)
		}
	}
	if n := anonCodePages(t, cmd.Process.Pid); n != pages+1 || slots[1]-slots[0] != 64 {
		t.Errorf("%d anonymous code pages after two attaches (%d before), slots %#x; want one page more, the second slot after the first", n, pages, slots)
	}
	time.Sleep(20 * time.Millisecond)
	if out, err := cmd.Finish(); err != nil || out != "done\n" {
		t.Fatalf("the process after the detach: %v, output %q", err, out)
	}
}

// probeWork puts coll's program enter on target's work in process pid,
// waits until it has run hits times (5 seconds at most), and detaches.
func probeWork(t *testing.T, pid int, target string, coll *waggle.Collection, hits uint64) *link.UprobeLink {
	t.Helper()
	l := attachWork(t, pid, target, coll, false, hits)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return l
}

// anonCodePages counts process pid's anonymous executable 4 KB mappings.
func anonCodePages(t *testing.T, pid int) int {
	t.Helper()
	maps, err := symtab.ReadMaps(pid)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range maps {
		if m.End-m.Start == 4096 && m.Perms == "r-xp" && m.Path == "" && m.Inode == 0 {
			n++
		}
	}
	return n
}

// TestUprobeOutOfLineSeccomp: a process with a seccomp filter of its own
// (an mmap with PROT_EXEC raises SIGSYS) keeps its probes on int3s; with
// that check off, the injected mmap meets the filter, its SIGSYS is
// dropped, and the probes fall back to int3s all the same. Either way the
// probes fire and the process runs on after the detach, to its normal
// end.
func TestUprobeOutOfLineSeccomp(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildTarget(t)
	for _, tc := range []struct {
		name  string
		check bool
	}{{"filters of its own", true}, {"SIGSYS dropped", false}} {
		t.Run(tc.name, func(t *testing.T) {
			link.SetSeccompCheck(tc.check)
			defer link.SetSeccompCheck(true)
			coll := callsObject(t)
			cmd := proctest.Start(t, target, "sandboxed")
			time.Sleep(50 * time.Millisecond)
			l := probeWork(t, cmd.Process.Pid, target, coll, 20)
			if st := l.Stats(); st.Hits < 20 || l.OutOfLine() != 0 {
				t.Errorf("%d hits, %d sites out of line; want at least 20 on an int3", st.Hits, l.OutOfLine())
			}
			if out, err := cmd.Finish(); err != nil || out != "done\n" {
				t.Fatalf("the process after the detach: %v, output %q", err, out)
			}
		})
	}
}

// TestUprobeOutOfLineDetachSlot: after a detach, a thread that returns
// to the first byte of a slot (a signal frame of one interrupted between
// the jmp and the slot's int3) runs the moved instructions and goes on,
// unprobed: target slotcall calls work through its slot after the
// detach, and must get work's result (with the slot's int3 left, it
// would die of SIGTRAP).
func TestUprobeOutOfLineDetachSlot(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	cmd := proctest.Start(t, target, "slotcall")
	time.Sleep(50 * time.Millisecond)
	l := probeWork(t, cmd.Process.Pid, target, coll, 5)
	if st := l.Stats(); st.Hits < 5 || l.OutOfLine() != 1 {
		t.Fatalf("%d hits, %d sites out of line; want at least 5, out of line", st.Hits, l.OutOfLine())
	}
	if out, err := cmd.Finish(); err != nil || out != "done\n" {
		t.Fatalf("the process that called the slot after the detach: %v, output %q", err, out)
	}
}

// TestUprobeOutOfLineNoRoom: a process whose RLIMIT_AS leaves no room
// for another page refuses the injected mmap (ENOMEM): its probes stay
// on int3s, fire, and the process runs on to its normal end.
func TestUprobeOutOfLineNoRoom(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildTarget(t)
	coll := callsObject(t)
	cmd := proctest.Start(t, target, "wait")
	time.Sleep(50 * time.Millisecond)
	maps, err := symtab.ReadMaps(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	var size uint64
	for _, m := range maps {
		if m.Start < 1<<47 {
			size += m.End - m.Start
		}
	}
	lim := unix.Rlimit{Cur: size, Max: size}
	if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_AS, &lim, nil); err != nil {
		t.Skipf("prlimit of the target (RLIMIT_AS): %v", err)
	}
	l := probeWork(t, cmd.Process.Pid, target, coll, 5)
	if st := l.Stats(); st.Hits < 5 || l.OutOfLine() != 0 {
		t.Errorf("%d hits, %d sites out of line; want at least 5 on an int3", st.Hits, l.OutOfLine())
	}
	if out, err := cmd.Finish(); err != nil || out != "done\n" {
		t.Fatalf("the process after the detach: %v, output %q", err, out)
	}
}
