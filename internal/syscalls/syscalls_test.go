package syscalls_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/syscalls"
)

// TestParse: the sections of testdata/sections.txt.
func TestParse(t *testing.T) {
	f, err := os.Open("testdata/sections.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		section, want, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("sections.txt: %q has no tab", line)
		}
		n++
		tp, err := syscalls.Parse(section)
		if msg, isErr := strings.CutPrefix(want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), section) {
				t.Errorf("%s: %v, %v; want an error naming the section and %q", section, tp, err, msg)
			}
			continue
		}
		if err != nil || tp.String() != want {
			t.Errorf("%s: %v, %v; want %s", section, tp, err, want)
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}

// names are x86-64's numbers of a few calls
// (arch/x86/entry/syscalls/syscall_64.tbl); on linux/amd64 TestNamesUnix
// checks them against golang.org/x/sys's.
var names = []struct {
	name string
	nr   int
}{{"read", 0}, {"openat", 257}, {"execve", 59}, {"unlinkat", 263}, {"getppid", 110}, {"clone3", 435}, {"openat2", 437}}

// TestNames: the table has x86-64's numbers, whatever the host.
func TestNames(t *testing.T) {
	for _, c := range names {
		if nr, ok := syscalls.Number(c.name); !ok || nr != c.nr || syscalls.Name(c.nr) != c.name {
			t.Errorf("%s: %d %v, name of %d %q", c.name, nr, ok, c.nr, syscalls.Name(c.nr))
		}
	}
	if syscalls.Name(10000) != "syscall_10000" {
		t.Errorf("an unknown number: %q", syscalls.Name(10000))
	}
}

// TestContext: a context holds what Fields says where it says it.
func TestContext(t *testing.T) {
	c := &syscalls.Call{PID: 42, Nr: 257, Args: [6]uint64{1, 2, 3, 4, 5, 6}, Ret: -2}
	buf := make([]byte, syscalls.RecordSize)
	enter, _ := syscalls.Parse("syscalls/sys_enter_openat")
	ctx := enter.Context(buf, c)
	if len(ctx) != syscalls.RecordSize || ctx[4] != 42 || ctx[8] != 1 || ctx[9] != 1 || ctx[16] != 1 || ctx[56] != 6 {
		t.Errorf("enter: %x", ctx)
	}
	exit, _ := syscalls.Parse("syscalls/sys_exit_openat")
	ctx = exit.Context(buf, c)
	if len(ctx) != 24 || ctx[16] != 0xfe || ctx[23] != 0xff {
		t.Errorf("exit: %x", ctx)
	}
	raw, _ := syscalls.Parse("raw_tracepoint/sys_enter")
	ctx = raw.Context(buf, c)
	if len(ctx) != 16 || ctx[0] != 0 || ctx[8] != 1 || ctx[9] != 1 {
		t.Errorf("raw: %x", ctx)
	}
}

// FuzzParse: any section gives a tracepoint that prints back to itself,
// or an error naming it; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"tracepoint/syscalls/sys_enter_openat", "tp/raw_syscalls/sys_exit", "raw_tp/sys_enter", "syscalls/sys_exit_", "tp/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := syscalls.Parse(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Errorf("%q: the error does not name the section: %v", s, err)
			}
			return
		}
		back, err := syscalls.Parse(tp.String())
		if err != nil || back != tp {
			t.Errorf("%q → %v → %v, %v", s, tp, back, err)
		}
	})
}
