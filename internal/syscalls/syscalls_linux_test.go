package syscalls_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/syscalls"
)

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
	kerneltest.SkipIfEmulated(t, "the tracepoints' formats are the host kernel's, another machine's")
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
