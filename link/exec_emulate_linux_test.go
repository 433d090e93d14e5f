package link_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/link"
)

// raceEnv makes this test binary, started as a command, race the
// path_guard policy: a thread flips a path between DIR/public and
// DIR/secret while another opens it; it prints how many opens gave
// which file and how many were refused.
const raceEnv = "LINK_TEST_RACE"

// atFDCWD is AT_FDCWD as a system call argument.
var atFDCWD = func() uintptr { d := int64(unix.AT_FDCWD); return uintptr(d) }()

func racePath(dir string) int {
	pub, sec := []byte(dir+"/public\x00"), []byte(dir+"/secret\x00")
	buf := make([]byte, len(pub))
	copy(buf, pub)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		for i := 0; !stop.Load(); i++ {
			src := pub
			if i%2 == 1 {
				src = sec
			}
			for j := range src { // byte by byte, as a racing writer does
				*(*byte)(unsafe.Add(unsafe.Pointer(&buf[0]), j)) = src[j]
			}
		}
		close(done)
	}()
	runtime.LockOSThread()
	var opened, leaked, refused int
	content := make([]byte, 16)
	for range 3000 {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&buf[0])), unix.O_RDONLY, 0, 0, 0)
		if errno != 0 {
			refused++
			continue
		}
		n, _ := unix.Read(int(fd), content)
		if string(content[:n]) == "secret" {
			leaked++
		} else {
			opened++
		}
		unix.Close(int(fd))
	}
	stop.Store(true)
	<-done
	fmt.Printf("%d %d %d\n", opened, leaked, refused)
	return 0
}

// pathDir makes a directory with the files public and secret.
func pathDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"public", "secret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestExecPathGuard: the path calls that path_guard allows, waggle makes
// for the command: relative paths in its working directory, created files
// with its umask, files it keeps open, removals; the secret stays.
func TestExecPathGuard(t *testing.T) {
	needSupervision(t)
	dir := pathDir(t)
	var out bytes.Buffer
	l, err := link.AttachExec(policy(t, "path_guard"), link.ExecOptions{Path: "sh", Dir: dir, Stdout: &out, Stderr: &out,
		Args: []string{"sh", "-c", "umask 027; echo new > created; cat public created; cat secret; rm secret; exec 3<public; rm public; cat <&3; ls; cat /proc/self/cmdline >/dev/null"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"publicnew\n", "secret: Permission denied", "rm: cannot remove 'secret': Permission denied", "\npubliccreated\nsecret\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "created")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("created: %v, %v; want mode 0640 (umask 027)", fi, err)
	}
	st := l.Stats()
	if st.Emulated < 5 || st.Denied != 2 {
		t.Errorf("stats %+v: want the allowed path calls made by waggle, 2 denied", st)
	}
}

// TestExecPathRace: a thread rewrites the path between public and secret
// while another opens it, thousands of times: the secret is never opened
// under path_guard. With ContinuePathCalls (the kernel reads the path
// again after the decision) the race can be won; that count is logged.
func TestExecPathRace(t *testing.T) {
	needSupervision(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := policy(t, "path_guard")
	for _, racy := range []bool{false, true} {
		dir := pathDir(t)
		var out bytes.Buffer
		l, err := link.AttachExec(p, link.ExecOptions{Path: self, Args: []string{self}, Stdout: &out, Stderr: &out,
			Env: append(os.Environ(), raceEnv+"="+dir), ContinuePathCalls: racy})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Wait(); err != nil {
			t.Fatal(err)
		}
		l.Close()
		var opened, leaked, refused int
		if _, err := fmt.Sscan(out.String(), &opened, &leaked, &refused); err != nil {
			t.Fatalf("the racer printed %q", out.String())
		}
		t.Logf("ContinuePathCalls %v: %d opens of public, %d of secret, %d refused", racy, opened, leaked, refused)
		if racy {
			continue
		}
		if leaked != 0 {
			t.Errorf("the secret was opened %d times", leaked)
		}
		if opened == 0 || refused == 0 {
			t.Errorf("%d opened, %d refused: the race did not alternate, the test shows nothing", opened, refused)
		}
	}
}

// TestExecPathGuardExits: under a policy, the path calls that exit
// programs name are made by waggle (no ptrace): the exit programs get the
// descriptor the thread got, and a refused call has no exit event, as in
// the kernel.
func TestExecPathGuardExits(t *testing.T) {
	needSupervision(t)
	dir := pathDir(t)
	coll, traces := traceObject(t, "opens_ret")
	var out bytes.Buffer
	l, err := link.AttachExec(policy(t, "path_guard"), link.ExecOptions{Path: "sh", Dir: dir, Stdout: &out, Stderr: &out, Traces: traces,
		Args: []string{"sh", "-c", "cat public; cat secret; cat missing; true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "public") || !strings.Contains(out.String(), "secret: Permission denied") {
		t.Errorf("output %q", out.String())
	}
	entries, err := coll.Maps["events"].Dump()
	if err != nil {
		t.Fatal(err)
	}
	rets := map[string]int64{}
	for _, en := range entries {
		v := en.Value
		rets[cString(v[36:])] = int64(binary.NativeEndian.Uint64(v[8:]))
	}
	if r, ok := rets["public"]; !ok || r < 3 {
		t.Errorf("public: %d, %v; want the descriptor cat got", r, ok)
	}
	if r, ok := rets["missing"]; !ok || r != -int64(unix.ENOENT) {
		t.Errorf("missing: %d, %v; want -ENOENT", r, ok)
	}
	if _, ok := rets["secret"]; ok {
		t.Error("the refused open of secret has an exit event")
	}
	if st := l.Stats(); st.PtraceStops != 0 || st.Emulated == 0 {
		t.Errorf("stats %+v: want no ptrace stop, calls made by waggle", st)
	}
}
