//go:build linux && amd64

package link_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"testing"

	"github.com/cilium/ebpf"
	cilink "github.com/cilium/ebpf/link"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/link"
)

// buildPrologues builds testdata/uprobe/prologues.c with gcc -O2 and
// flags into a temporary directory.
func buildPrologues(t *testing.T, flags ...string) string {
	t.Helper()
	return proctest.BuildC(t, "../testdata/uprobe/prologues.c", append([]string{"-O2"}, flags...)...)
}

// runPrologues runs target (prologues) with args under waggle with
// probes, to its end, and fails the test unless it exits 0 with the
// output plain of a run without probes and nothing on its standard
// error. The link is closed when the test ends.
func runPrologues(t *testing.T, target string, args []string, plain []byte, probes []link.Uprobe) *link.UprobeLink {
	t.Helper()
	var out, errOut bytes.Buffer
	l := runUprobes(t, link.UprobeOptions{Path: target, Args: append([]string{target}, args...), Stdout: &out, Stderr: &errOut, Probes: probes})
	if l.ExitCode() != 0 || out.String() != string(plain) || errOut.Len() != 0 {
		t.Fatalf("under waggle: exit %d, output %q, %q; without probes: exit 0, %q", l.ExitCode(), out.String(), errOut.String(), plain)
	}
	return l
}

// prologueProbes are the probes of TestUprobeOutOfLineKernel: each
// function of prologues.c, p_canary at +4 too (the stack protector's
// load alone); probe i has cookie i+1.
var prologueProbes = []struct {
	sym string
	off uint64
}{{"p_endbr", 0}, {"p_sub", 0}, {"p_canary", 0}, {"p_canary", 4}, {"p_lea", 0}, {"p_cmpjcc", 0}, {"p_xor", 0}, {"p_two8", 0}, {"p_two32", 0}}

// TestUprobeOutOfLineKernel is a differential test: prologues.c's
// functions (endbr64, sub $N,%rsp, the stack protector's mov
// %fs:0x28,%rax, lea sym(%rip), cmp then jbe, xor then test), PIE and
// not, each probed by the same program (cookie.o, runs counted by
// cookie): under waggle the sites run out of line, the program's
// output and exit status are those of a run without probes, and each
// probe runs 3N times — as many times as the kernel's uprobes on the
// same functions run it, where the kernel's bpf() is available (p_canary
// at +0 stays on an int3: the probe at +4 is inside its instructions;
// p_two8 and p_two32 too: other functions jump past their first
// instruction, rel8 and rel32).
func TestUprobeOutOfLineKernel(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	const n = 200
	for _, tc := range []struct {
		name  string
		flags []string
	}{{"pie", []string{"-pie", "-fpie"}}, {"no-pie", []string{"-no-pie", "-fno-pie"}}} {
		t.Run(tc.name, func(t *testing.T) {
			target := buildPrologues(t, tc.flags...)
			args := []string{"calls", strconv.Itoa(n)}
			plain, err := exec.Command(target, args...).Output()
			if err != nil {
				t.Fatalf("prologues without probes: %v", err)
			}
			want := map[uint64]uint64{}
			for i := range prologueProbes {
				want[uint64(i+1)] = 3 * n
			}

			coll := uprobeObject(t, "cookie.o")
			var probes []link.Uprobe
			for i, p := range prologueProbes {
				probes = append(probes, link.Uprobe{Program: coll.Programs["count_cookie"], Path: target, Symbol: p.sym, Offset: p.off, Cookie: uint64(i + 1)})
			}
			l := runPrologues(t, target, args, plain, probes)
			// p_canary+0 stays on an int3: the probe at +4 is inside the
			// instructions it would displace; so do p_two8 and p_two32,
			// which p_pre8 and p_pre32 enter past their first
			// instruction.
			if got := l.OutOfLine(); got != uint64(len(prologueProbes)-3) {
				t.Errorf("%d sites out of line, want %d", got, len(prologueProbes)-3)
			}
			got, err := dumpCookies(coll.Maps["by_cookie"].Dump)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("waggle: runs by cookie %v, want %v", got, want)
			}

			if err := kerneltest.Available(); err != nil {
				t.Logf("the kernel's side skipped: %v", err)
				return
			}
			kspec, err := ebpf.LoadCollectionSpec("../testdata/uprobe/cookie.o")
			if err != nil {
				t.Fatal(err)
			}
			kcoll, err := ebpf.NewCollection(kspec)
			if err != nil {
				t.Fatalf("load cookie.o into the kernel: %v", err)
			}
			defer kcoll.Close()
			ex, err := cilink.OpenExecutable(target)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range prologueProbes {
				up, err := ex.Uprobe(p.sym, kcoll.Programs["count_cookie"], &cilink.UprobeOptions{Offset: p.off, Cookie: uint64(i + 1)})
				if errors.Is(err, ebpf.ErrNotSupported) {
					t.Skipf("the kernel's uprobes with cookies: %v", err)
				}
				if err != nil {
					t.Fatalf("kernel uprobe at %s+%d: %v", p.sym, p.off, err)
				}
				defer up.Close()
			}
			kout, err := exec.Command(target, args...).Output()
			if err != nil || string(kout) != string(plain) {
				t.Fatalf("under the kernel's uprobes: %v, output %q", err, kout)
			}
			kgot, err := dumpCookies(func() ([]waggle.MapEntry, error) { return kernelEntries(kcoll.Maps["by_cookie"]) })
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(kgot) != fmt.Sprint(got) {
				t.Errorf("runs by cookie: kernel %v, waggle %v", kgot, got)
			}
		})
	}
}

// dumpCookies reads by_cookie's entries.
func dumpCookies(dump func() ([]waggle.MapEntry, error)) (map[uint64]uint64, error) {
	entries, err := dump()
	if err != nil {
		return nil, err
	}
	got := map[uint64]uint64{}
	for _, e := range entries {
		got[binary.NativeEndian.Uint64(e.Key)] = binary.NativeEndian.Uint64(e.Value)
	}
	return got, nil
}

// kernelEntries reads a kernel map of u64 keys and values.
func kernelEntries(m *ebpf.Map) ([]waggle.MapEntry, error) {
	var out []waggle.MapEntry
	var k, v uint64
	it := m.Iterate()
	for it.Next(&k, &v) {
		out = append(out, waggle.MapEntry{Key: binary.NativeEndian.AppendUint64(nil, k), Value: binary.NativeEndian.AppendUint64(nil, v)})
	}
	return out, it.Err()
}

// TestUprobeOutOfLineSignals: a SIGALRM handler (every 50 microseconds)
// calls the probed function while the main program calls it too, so
// that a thread inside the slot is interrupted and enters the slot
// again: every call is counted once (the program's N and its handler's,
// which it prints), every result is right, and the exit status is 0.
func TestUprobeOutOfLineSignals(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildPrologues(t)
	const n = 3000
	coll := uprobeObject(t, "cookie.o")
	var out bytes.Buffer
	l := runUprobes(t, link.UprobeOptions{Path: target, Args: []string{target, "signals", strconv.Itoa(n)}, Stdout: &out, Stderr: &out,
		Probes: []link.Uprobe{{Program: coll.Programs["count_cookie"], Path: target, Symbol: "p_xor", Cookie: 1}}})
	var handled uint64
	if _, err := fmt.Sscanf(out.String(), "handler %d\n", &handled); err != nil || l.ExitCode() != 0 {
		t.Fatalf("exit %d, output %q", l.ExitCode(), out.String())
	}
	got, err := dumpCookies(coll.Maps["by_cookie"].Dump)
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != n+handled || l.OutOfLine() != 1 {
		t.Errorf("%d runs, %d sites out of line; want %d (%d calls and the handler's %d), out of line", got[1], l.OutOfLine(), n+handled, n, handled)
	}
	if handled == 0 {
		t.Logf("the handler never ran during the calls")
	}
}

// TestUprobeOutOfLineVfork: a child that shares its parent's memory
// (clone with CLONE_VM and CLONE_VFORK, as posix_spawn) calls p_xor
// through the parent's slot, then executes a new image (prologues calls
// N), whose probes go in again, out of line; then the parent calls
// p_xor. Every call is counted once, every result is right, the output
// and exit status are those of a run without probes.
func TestUprobeOutOfLineVfork(t *testing.T) {
	needOutOfLine(t)
	needPtrace(t)
	target := buildPrologues(t)
	const n = 100
	args := []string{"vfork", strconv.Itoa(n)}
	plain, err := exec.Command(target, args...).Output()
	if err != nil {
		t.Fatalf("prologues without probes: %v", err)
	}
	coll := uprobeObject(t, "cookie.o")
	var probes []link.Uprobe
	want := map[uint64]uint64{}
	for i, p := range prologueProbes {
		probes = append(probes, link.Uprobe{Program: coll.Programs["count_cookie"], Path: target, Symbol: p.sym, Offset: p.off, Cookie: uint64(i + 1)})
		want[uint64(i+1)] = 3 * n // the executed image's calls
		if p.sym == "p_xor" {
			want[uint64(i+1)] += 2 * n // the child's before its exec, the parent's
		}
	}
	l := runPrologues(t, target, args, plain, probes)
	// Both images: every site but the three that stay on int3s.
	if got := l.OutOfLine(); got != 2*uint64(len(prologueProbes)-3) {
		t.Errorf("%d sites out of line, want %d", got, 2*(len(prologueProbes)-3))
	}
	got, err := dumpCookies(coll.Maps["by_cookie"].Dump)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runs by cookie %v, want %v", got, want)
	}
}
