//go:build linux && amd64

package link_test

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// waitingTarget starts target.c in wait mode with threads threads and
// rounds rounds, and returns it once it said "ready": the command (a
// shell that waits for it, with its status), its process ID, its stdin
// and its output's lines. The shell is its parent, not this process:
// these tests probe processes of someone else's, as --pid does (a child
// of this process probed beside another link is
// TestUprobeOwnChildBesideAnotherLink's).
func waitingTarget(t *testing.T, target, threads, rounds string) (*exec.Cmd, int, io.Writer, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `exec 3<&0; "$0" "$@" <&3 3<&- & echo $!; wait $!`, target, threads, rounds, "wait")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	t.Cleanup(func() {
		if pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := bufio.NewReader(stdout)
	ready := false
	for pid == 0 || !ready { // the shell's "$!" and the target's "ready", in either order
		s, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("target: %v", err)
		}
		if s == "ready\n" {
			ready = true
		} else if pid, err = strconv.Atoi(strings.TrimSpace(s)); err != nil {
			t.Fatalf("target said %q", s)
		}
	}
	return cmd, pid, stdin, lines
}

// TestUSDTSpecsTwoLinks: two links of one object's programs (each its
// own process and probe) share the object's __bpf_usdt_specs, so each
// needs spec IDs of its own, as libbpf's per-object ID allocator gives:
// the second attach must not overwrite the first one's specs (it did:
// each AttachUprobe numbered its specs from 0, so the tick probe of the
// first process read the gated probe's arguments and cookie). The IDs
// are free again once a link is closed.
func TestUSDTSpecsTwoLinks(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	coll := usdtObject(t)
	probes := usdtProbes(coll, target)
	_, aPid, aIn, aOut := waitingTarget(t, target, "1", "3")
	_, bPid, bIn, bOut := waitingTarget(t, target, "1", "0")
	la, err := link.AttachUprobe(link.UprobeOptions{PID: aPid, USDT: probes[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	lb, err := link.AttachUprobe(link.UprobeOptions{PID: bPid, USDT: probes[1:]})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	for _, in := range []io.Writer{aIn, bIn} {
		if _, err := io.WriteString(in, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := aOut.ReadString('\n'); s != "gated 0\n" {
		t.Errorf("first target said %q, want gated 0 (its gated probe not attached)", s)
	}
	if s, _ := bOut.ReadString('\n'); s != "gated 5\n" {
		t.Errorf("second target said %q, want gated 5", s)
	}
	if err := la.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	checkTicks(t, coll, 1, 3, uint32(aPid))
	checkGated(t, coll, 5)
	// Both links closed: their IDs are free again, so that more links
	// one after the other than the map has IDs for (two specs each)
	// attach (a long-running tracer does not run out of specs).
	for i := range coll.Maps[link.USDTSpecsMap].MaxEntries()/2 + 1 {
		l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "1", "0"}, USDT: probes})
		if err != nil {
			t.Fatalf("attach %d after the others were closed: %v", i, err)
		}
		if err := l.Wait(); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	for _, in := range []io.Writer{aIn, bIn} {
		_, _ = io.WriteString(in, "end\n")
	}
}

// TestUSDTAttachPIDReplaced: the target's executable was replaced on
// disk after it started (/proc/PID/exe deleted, the mapping "PATH
// (deleted)"), so PATH now names another file than the process runs:
// the attach fails saying so (it said only that PATH is not mapped), and
// the process runs on untouched.
func TestUSDTAttachPIDReplaced(t *testing.T) {
	needPtrace(t)
	built := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	target := filepath.Join(t.TempDir(), "target")
	copyFile := func() {
		b, err := os.ReadFile(built)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile()
	coll := usdtObject(t)
	cmd, pid, in, out := waitingTarget(t, target, "1", "1")
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	copyFile() // the same contents, another file
	_, err := link.AttachUprobe(link.UprobeOptions{PID: pid, USDT: usdtProbes(coll, target)})
	want := target + " was deleted or replaced on disk after the process mapped it"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("AttachUprobe: %v; want an error with %q", err, want)
	}
	if _, err := io.WriteString(in, "go\nend\n"); err != nil {
		t.Fatal(err)
	}
	if s, _ := out.ReadString('\n'); s != "gated 0\n" {
		t.Errorf("target said %q, want gated 0", s)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the target after the failed attach: %v", err)
	}
}

// TestUSDTAttachPIDExited: a process that exited before the attach (a
// zombie, not yet reaped; then reaped) is refused with an error that
// says so (PTRACE_SEIZE's EPERM was reported as another user's or an
// already traced process), without hanging.
func TestUSDTAttachPIDExited(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	coll := usdtObject(t)
	cmd := exec.Command(target, "1", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Wait for the exit without reaping it.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	_, err := link.AttachUprobe(link.UprobeOptions{PID: pid, USDT: usdtProbes(coll, target)})
	if want := fmt.Sprintf("process %d has exited", pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("AttachUprobe of a zombie: %v; want an error with %q", err, want)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	_, err = link.AttachUprobe(link.UprobeOptions{PID: pid, USDT: usdtProbes(coll, target)})
	if want := fmt.Sprintf("process %d: ", pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("AttachUprobe of a reaped process: %v; want an error with %q", err, want)
	}
}

// patchNote rewrites, in a copy of the ELF file bin, the note of probe
// waggle:NAME with edit (given the note's description: location, base
// and semaphore, then the strings), and returns the copy's path.
func patchNote(t *testing.T, bin, name string, edit func(f *elf.File, desc []byte)) string {
	t.Helper()
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sec := f.Section(".note.stapsdt")
	data := raw[sec.Offset : sec.Offset+sec.Size]
	patched := false
	for off := 0; off+12 <= len(data); {
		nameSz, descSz := binary.NativeEndian.Uint32(data[off:]), binary.NativeEndian.Uint32(data[off+4:])
		desc := data[off+12+int((nameSz+3)&^3):][:descSz]
		if strs := strings.SplitN(string(desc[24:]), "\x00", 3); strs[1] == name {
			edit(f, desc)
			patched = true
		}
		off += 12 + int((nameSz+3)&^3) + int((descSz+3)&^3)
	}
	if !patched {
		t.Fatalf("no note of waggle:%s", name)
	}
	out := filepath.Join(t.TempDir(), "patched")
	if err := os.WriteFile(out, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUSDTBadNotes: notes that cannot be probed fail the attach of
// their probe with an error naming the probe and what is wrong, before
// or when the probes go in, and leave the target to run; the file's
// other probes still attach.
func TestUSDTBadNotes(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	for _, c := range []struct {
		name string
		edit func(f *elf.File, desc []byte)
		err  string
	}{
		{"semaphore in a read-only mapping", func(f *elf.File, desc []byte) {
			binary.NativeEndian.PutUint64(desc[16:], f.Section(".rodata").Addr)
		}, "the semaphore of waggle:gated at "},
		{"site outside any segment", func(f *elf.File, desc []byte) {
			binary.NativeEndian.PutUint64(desc, 0x7fff_0000_0000)
		}, "its address: 0x7fff00000000 is in no loaded segment of the file"},
		{"site in data", func(f *elf.File, desc []byte) {
			binary.NativeEndian.PutUint64(desc, f.Section(".rodata").Addr)
		}, "is in a segment that is not executable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := patchNote(t, target, "gated", c.edit)
			coll := usdtObject(t)
			_, err := link.AttachUprobe(link.UprobeOptions{Path: bad, Args: []string{"target", "1", "1"}, USDT: usdtProbes(coll, bad)})
			if err == nil || !strings.Contains(err.Error(), "program gated_probe: ") || !strings.Contains(err.Error(), c.err) {
				t.Errorf("AttachUprobe: %v; want an error of gated_probe with %q", err, c.err)
			}
			var out strings.Builder
			l, err := link.AttachUprobe(link.UprobeOptions{Path: bad, Args: []string{"target", "1", "2"}, Stdout: &out, USDT: usdtProbes(coll, bad)[:1]})
			if err != nil {
				t.Fatalf("AttachUprobe of the file's good probe: %v", err)
			}
			defer l.Close()
			if err := l.Wait(); err != nil {
				t.Fatal(err)
			}
			if l.ExitCode() != 0 || out.String() != "gated 0\n" {
				t.Errorf("exit %d, output %q", l.ExitCode(), out.String())
			}
			checkTicks(t, coll, 1, 2, uint32(l.Pid()))
		})
	}
}

// TestUSDTTwoProgramsOneProbe: two programs of one object on the same
// probe, with different cookies, both run at every site, each with its
// own spec (its own bpf_usdt_cookie) and the same arguments, and the
// probe's semaphore is set once.
func TestUSDTTwoProgramsOneProbe(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	coll := usdtObject(t)
	probes := usdtProbes(coll, target)
	second := probes[1] // gated_probe(long value, int constant), cookie 78
	second.Name = "tick"
	var out strings.Builder
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "2", "3"}, Stdout: &out,
		USDT: []link.USDT{probes[0], second}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if l.ExitCode() != 0 || out.String() != "gated 0\n" {
		t.Fatalf("exit %d, output %q; want gated 0 (its semaphore not set)", l.ExitCode(), out.String())
	}
	checkTicks(t, coll, 2, 3, uint32(l.Pid())) // cookie 77 in every tick
	var g struct {
		Count           uint64
		Value, Constant int64
	}
	if err := coll.Maps["gated"].Lookup(uint32(0), &g); err != nil {
		t.Fatal(err)
	}
	if g.Count != 6 || g.Value < 0 || g.Value > 1 || g.Constant < 0 || g.Constant > 2 {
		t.Errorf("gated_probe on waggle:tick: %+v; want 6 runs with a thread index and a round", g)
	}
	st := l.Stats()
	if st.Hits != 6 || len(st.Programs) != 2 {
		t.Errorf("stats %+v; want 6 hits, an entry per program", st)
	}
	for _, p := range st.Programs {
		if p.Runs != 6 || p.Errors != 0 || p.Attach != "usdt/"+target+":waggle:tick" {
			t.Errorf("program %+v; want 6 runs at waggle:tick", p)
		}
	}
}

// TestUSDTDetachWhileFiring: a detach while four threads fire a probe
// as fast as they can leaves the process as it was: no breakpoint's trap
// reaches it (it exits 0), its semaphores are 0 again, and the runs
// before the detach were counted.
func TestUSDTDetachWhileFiring(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	coll := usdtObject(t)
	cmd, pid, in, out := waitingTarget(t, target, "4", "1000000")
	l, err := link.AttachUprobe(link.UprobeOptions{PID: pid, USDT: usdtProbes(coll, target)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	// Detach once the probes have fired a while on every thread.
	for deadline := time.Now().Add(time.Minute); l.Stats().Hits < 200; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d hits in a minute", l.Stats().Hits)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, sem := range []string{"waggle_tick_semaphore", "waggle_gated_semaphore"} {
		if v := semaphoreValue(t, pid, target, sem); v != 0 {
			t.Errorf("%s is %d after the detach, want 0", sem, v)
		}
	}
	if s, _ := out.ReadString('\n'); s != "gated 0\n" {
		t.Errorf("target said %q, want gated 0 (detached before)", s)
	}
	if _, err := io.WriteString(in, "end\n"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the target after the detach: %v", err)
	}
	if st := l.Stats(); st.Hits < 200 || st.Programs[0].Errors != 0 {
		t.Errorf("stats %+v; want at least 200 hits, no errors", st)
	}
}

// TestUSDTIPsFreed: a link's entries of __bpf_usdt_ip_to_spec_id go
// when it ends, as libbpf deletes them on detach: a tracer that attaches
// to one process after another (each PIE at another address) does not
// fill the map (usdt.c's holds 64) and fail its attaches.
func TestUSDTIPsFreed(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	coll := usdtObject(t)
	ips := coll.Maps[link.USDTIPsMap]
	for i := range 40 {
		l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "1", "1"}, USDT: usdtProbes(coll, target)})
		if err != nil {
			t.Fatalf("attach %d: %v", i, err)
		}
		if err := l.Wait(); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	entries, err := ips.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%d entries left in %s after every link ended", len(entries), link.USDTIPsMap)
	}
}
