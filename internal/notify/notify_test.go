//go:build linux

package notify

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// TestParseStatus: the files of testdata, and what each must give.
func TestParseStatus(t *testing.T) {
	for _, c := range []struct {
		file string
		want Status
		err  string
	}{
		{"status_cat.txt", Status{TGID: 23705, PPID: 23700, UID: 1000, GID: 2000, Comm: "cat"}, ""},
		{"status_bad_tgid.txt", Status{}, `Tgid "abc"`},
		{"status_bad_uid.txt", Status{}, `Uid "-1\t0\t0\t0"`},
		{"status_no_ids.txt", Status{}, "lacks one of Name, Tgid, PPid, Uid and Gid"},
	} {
		b, err := os.ReadFile("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		st, err := parseStatus(42, b)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "/proc/42/status") {
				t.Errorf("%s: %+v, %v; want an error with %q", c.file, st, err, c.err)
			}
			continue
		}
		if err != nil || st != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.file, st, err, c.want)
		}
	}
}

// FuzzParseStatus: any text gives a status or an error, never a panic.
func FuzzParseStatus(f *testing.F) {
	for _, file := range []string{"status_cat.txt", "status_bad_tgid.txt"} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseStatus(1, b); err != nil && !strings.Contains(err.Error(), "/proc/1/status") {
			t.Errorf("the error does not name the file: %v", err)
		}
	})
}

// TestReadStatusSelf: this process's own status.
func TestReadStatusSelf(t *testing.T) {
	st, err := ReadStatus(uint32(unix.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	if st.TGID != uint32(os.Getpid()) || st.UID != uint32(os.Getuid()) || st.GID != uint32(os.Getgid()) || st.Comm == "" {
		t.Errorf("%+v", st)
	}
	if _, err := ReadStatus(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a process that does not exist: %v", err)
	}
}

// TestMemory: process_vm_readv of this process's own memory, whole, and
// stopping short where the memory ends.
func TestMemory(t *testing.T) {
	kerneltest.SkipIfEmulated(t, "the emulator does not implement process_vm_readv (ENOSYS)")
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[page:], unix.PROT_NONE); err != nil { // the second page unreadable
		t.Fatal(err)
	}
	copy(mem[page-5:], "hello")
	base := int64(uintptr(unsafe.Pointer(&mem[0])))
	m := Memory{PID: os.Getpid()}
	buf := make([]byte, 5)
	if n, err := m.ReadAt(buf, base+int64(page-5)); n != 5 || err != nil || string(buf) != "hello" {
		t.Errorf("read: %d %v %q", n, err, buf)
	}
	buf = make([]byte, 10)
	n, err := m.ReadAt(buf, base+int64(page-5))
	if n != 5 || err == nil || string(buf[:5]) != "hello" {
		t.Errorf("read across the end: %d %v %q", n, err, buf)
	}
}

// TestTakeListenerNone: a process without a seccomp listener has none to
// take.
func TestTakeListenerNone(t *testing.T) {
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Skipf("pidfd_open (Linux 5.3): %v", err)
	}
	defer unix.Close(pidfd)
	l, found, err := TakeListener(pidfd, os.Getpid())
	if l != nil || found || err != nil {
		t.Errorf("%v %v %v", l, found, err)
	}
}
