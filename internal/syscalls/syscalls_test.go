package syscalls_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

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

// TestNames: the table agrees with golang.org/x/sys's numbers for the
// calls both know.
func TestNames(t *testing.T) {
	for _, c := range []struct {
		name string
		nr   int
	}{{"read", unix.SYS_READ}, {"openat", unix.SYS_OPENAT}, {"execve", unix.SYS_EXECVE}, {"unlinkat", unix.SYS_UNLINKAT},
		{"getppid", unix.SYS_GETPPID}, {"clone3", unix.SYS_CLONE3}, {"openat2", unix.SYS_OPENAT2}} {
		if nr, ok := syscalls.Number(c.name); !ok || nr != c.nr || syscalls.Name(c.nr) != c.name {
			t.Errorf("%s: %d %v, name of %d %q", c.name, nr, ok, c.nr, syscalls.Name(c.nr))
		}
	}
	if syscalls.Name(10000) != "syscall_10000" {
		t.Errorf("an unknown number: %q", syscalls.Name(10000))
	}
}

// tracefs finds the kernel's tracing file system, mounting it (as root)
// when it is not mounted.
func tracefs(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(filepath.Join(dir, "events/syscalls")); err == nil {
			return dir
		}
	}
	dir := t.TempDir()
	if err := unix.Mount("nodev", dir, "tracefs", 0, ""); err != nil {
		t.Skipf("no tracefs with events/syscalls, and mounting one failed (%v): the kernel's formats cannot be compared", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, 0) })
	if _, err := os.Stat(filepath.Join(dir, "events/syscalls")); err != nil {
		t.Skip("this kernel has no system call tracepoints (CONFIG_FTRACE_SYSCALLS)")
	}
	return dir
}

// kernelFields reads a format file's fields.
func kernelFields(t *testing.T, path string) []syscalls.Field {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []syscalls.Field
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "field:") {
			continue
		}
		var f syscalls.Field
		for part := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), ":")
			switch k {
			case "field":
				words := strings.Fields(v)
				f.Name = words[len(words)-1]
				if i := strings.IndexByte(f.Name, '['); i >= 0 {
					f.Name = f.Name[:i]
				}
				f.Name = strings.TrimPrefix(f.Name, "*")
			case "offset":
				f.Offset, _ = strconv.Atoi(v)
			case "size":
				f.Size, _ = strconv.Atoi(v)
			case "signed":
				f.Signed = v == "1"
			}
		}
		out = append(out, f)
	}
	return out
}

// TestFormats: every system call tracepoint of this kernel lays out its
// record as Fields does: the same offsets, sizes and signedness (the
// arguments' names differ: the kernel names them after the parameters).
func TestFormats(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("reading the tracepoints' formats needs root")
	}
	dir := tracefs(t)
	events, err := filepath.Glob(filepath.Join(dir, "events/syscalls/sys_*"))
	if err != nil || len(events) == 0 {
		t.Fatalf("no tracepoints: %v", err)
	}
	events = append(events, filepath.Join(dir, "events/raw_syscalls/sys_enter"), filepath.Join(dir, "events/raw_syscalls/sys_exit"))
	checked := 0
	for _, ev := range events {
		name := filepath.Base(filepath.Dir(ev)) + "/" + filepath.Base(ev)
		tp, err := syscalls.Parse(name)
		if err != nil {
			if strings.Contains(err.Error(), "is no x86-64 system call") {
				t.Logf("%s: a call this table does not know", name)
				continue
			}
			t.Errorf("%s: %v", name, err)
			continue
		}
		kernel := kernelFields(t, filepath.Join(ev, "format"))
		ours := tp.Fields()
		if len(kernel) > len(ours) {
			t.Errorf("%s: the kernel has %d fields, waggle %d", name, len(kernel), len(ours))
			continue
		}
		for i, k := range kernel {
			o := ours[i]
			if k.Offset != o.Offset || k.Size != o.Size || k.Signed != o.Signed {
				t.Errorf("%s: field %d: kernel %+v, waggle %+v", name, i, k, o)
			}
			if i < 5 && k.Name != o.Name {
				t.Errorf("%s: field %d: kernel %q, waggle %q", name, i, k.Name, o.Name)
			}
		}
		checked++
	}
	t.Logf("%d tracepoints compared", checked)
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
