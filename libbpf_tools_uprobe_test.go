//go:build linux && amd64

package waggle_test

import (
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// TestLibbpfToolsFunclatencyUprobe: bcc's funclatency.bpf.c (built from
// WAGGLE_BCC) in its uprobe mode, as funclatency -u attaches it: its
// kprobe programs on libc's strtol, entry and return, in a test program
// that calls strtol 201 times (200 and main's atol). Every call lands in
// the log2 histogram of microseconds (units=1), once, and no start time
// is left behind.
func TestLibbpfToolsFunclatencyUprobe(t *testing.T) {
	bcc := bccDir(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("skipped: gcc is not installed, and it builds the traced program (testdata/uprobe/target.c)")
	}
	sleep := exec.Command("sleep", "10")
	if err := sleep.Start(); err != nil {
		t.Skip(err)
	}
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(sleep.Process.Pid), 0, 0, 0, 0)
	_ = sleep.Process.Kill()
	_ = sleep.Wait()
	if errno != 0 {
		t.Skipf("skipped: ptrace is not permitted here (PTRACE_SEIZE of a child: %v)", errno)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if out, err := exec.Command("gcc", "-O0", "-fno-omit-frame-pointer", "-pthread", "-o", target, "testdata/uprobe/target.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	obj := buildTool(t, bcc, "funclatency", dir)
	spec, err := waggle.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	// funclatency -u: its kprobe programs, attached to a user function;
	// fentry and fexit are not loaded.
	for name, ps := range spec.Programs {
		if ps.Type != ebpf.Kprobe {
			delete(spec.Programs, name)
		}
	}
	setVariables(t, spec, map[string]any{"units": "1"})
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "libc", "200"}, Probes: []link.Uprobe{
		{Program: coll.Programs["dummy_kprobe"], Path: "libc.so.6", Symbol: "strtol"},
		{Program: coll.Programs["dummy_kretprobe"], Path: "libc.so.6", Symbol: "strtol", Return: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if l.ExitCode() != 0 {
		t.Fatalf("exit %d", l.ExitCode())
	}
	var bss []byte
	if err := coll.Maps[".bss"].Lookup(uint32(0), &bss); err != nil {
		t.Fatal(err)
	}
	const slots = 25 // MAX_SLOTS of funclatency.h
	var total uint64
	var hist []uint32
	for i := range slots {
		n := binary.NativeEndian.Uint32(bss[4*i:])
		hist = append(hist, n)
		total += uint64(n)
	}
	if total != 201 {
		t.Fatalf("histogram %v: %d calls, want 201", hist, total)
	}
	var key uint32
	var start uint64
	if it := coll.Maps["starts"].Iterate(); it.Next(&key, &start) {
		t.Errorf("a start time left in starts: thread %d", key)
	}
	t.Logf("usecs histogram of strtol: %v", hist)
}
