//go:build linux && amd64

package link_test

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/internal/symtab"
	"github.com/waggle-ebpf/waggle/internal/usdt"
	"github.com/waggle-ebpf/waggle/link"
)

// usdtObject loads testdata/usdt/usdt.o (BPF_USDT programs of libbpf's
// usdt.bpf.h).
func usdtObject(t testing.TB) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("../testdata/usdt/usdt.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll
}

// usdtProbes are the two probes of testdata/usdt/target.c with their
// programs, the maps of usdt.bpf.h filled.
func usdtProbes(coll *waggle.Collection, target string) []link.USDT {
	specs, ips := coll.Maps[link.USDTSpecsMap], coll.Maps[link.USDTIPsMap]
	return []link.USDT{
		{Program: coll.Programs["tick"], Path: target, Provider: "waggle", Name: "tick", Cookie: 77, Specs: specs, IPs: ips},
		{Program: coll.Programs["gated_probe"], Path: target, Provider: "waggle", Name: "gated", Cookie: 78, Specs: specs, IPs: ips},
	}
}

// tickEntry is struct tick_val of usdt.c.
type tickEntry struct {
	count, value uint64
	tid          uint32
	argc         int32
	cookie       uint64
	err          int64
}

// readTicks reads the ticks map: (thread index, round) → entry.
func readTicks(t testing.TB, m *waggle.Map) map[[2]uint32]tickEntry {
	t.Helper()
	entries, err := m.Dump()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]uint32]tickEntry{}
	for _, e := range entries {
		out[[2]uint32{le32(e.Key), le32(e.Key[4:])}] = decodeTick(e.Value)
	}
	return out
}

func le32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }

// decodeTick reads a struct tick_val.
func decodeTick(v []byte) tickEntry {
	return tickEntry{
		count: binary.NativeEndian.Uint64(v), value: binary.NativeEndian.Uint64(v[8:]), tid: binary.NativeEndian.Uint32(v[16:]),
		argc: int32(binary.NativeEndian.Uint32(v[20:])), cookie: binary.NativeEndian.Uint64(v[24:]), err: int64(binary.NativeEndian.Uint64(v[32:])),
	}
}

// checkTicks checks that each of threads threads fired waggle:tick once
// per round with its index, the round and index*1000+round behind the
// pointer, each thread from one thread ID of its own (thread 0: main,
// whose ID is pid).
func checkTicks(t *testing.T, coll *waggle.Collection, threads, rounds int, pid uint32) {
	t.Helper()
	ticks := readTicks(t, coll.Maps["ticks"])
	if len(ticks) != threads*rounds {
		t.Errorf("%d (thread, round) entries, want %d", len(ticks), threads*rounds)
	}
	tids := map[uint32]uint32{} // tid → thread index
	for idx := range threads {
		var tid uint32
		for r := range rounds {
			e, ok := ticks[[2]uint32{uint32(idx), uint32(r)}]
			if !ok {
				t.Errorf("thread %d round %d: not seen", idx, r)
				continue
			}
			want := tickEntry{count: 1, value: uint64(idx*1000 + r), tid: e.tid, argc: 3, cookie: 77, err: -2}
			if e != want {
				t.Errorf("thread %d round %d: %+v, want %+v (-2: -ENOENT for a fourth argument)", idx, r, e, want)
			}
			if r == 0 {
				tid = e.tid
			} else if e.tid != tid {
				t.Errorf("thread %d round %d: thread ID %d, round 0 had %d", idx, r, e.tid, tid)
			}
		}
		if other, ok := tids[tid]; ok {
			t.Errorf("threads %d and %d both ran on thread ID %d", other, idx, tid)
		}
		tids[tid] = uint32(idx)
		if idx == 0 && tid != pid {
			t.Errorf("thread 0 (main) ran on thread ID %d, not the process's %d", tid, pid)
		}
	}
}

// checkGated checks the gated probe's map: count runs, with the
// arguments gated_value (-7, read from memory relative to rip) and -3.
func checkGated(t *testing.T, coll *waggle.Collection, count uint64) {
	t.Helper()
	var g struct {
		Count           uint64
		Value, Constant int64
	}
	if err := coll.Maps["gated"].Lookup(uint32(0), &g); err != nil {
		t.Fatal(err)
	}
	if g.Count != count || (count > 0 && (g.Value != -7 || g.Constant != -3)) {
		t.Errorf("gated: %+v, want %d runs with -7 and -3", g, count)
	}
}

// TestUSDTCommand runs testdata/usdt/target.c, built by gcc at -O0
// (arguments in memory at %rbp) and -O2 (in registers, and gated_value
// relative to %rip), under BPF_USDT programs: 4 threads fire waggle:tick
// 50 times each, and waggle:gated fires only because its semaphore is
// set while the probe is attached.
func TestUSDTCommand(t *testing.T) {
	needPtrace(t)
	const threads, rounds = 4, 50
	for _, opt := range []string{"-O0", "-O2"} {
		t.Run(opt, func(t *testing.T) {
			target := proctest.BuildSDT(t, "../testdata/usdt/target.c", opt, "-pthread")
			coll := usdtObject(t)
			var out strings.Builder
			l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", fmt.Sprint(threads), fmt.Sprint(rounds)},
				Stdout: &out, Stderr: &out, USDT: usdtProbes(coll, target)})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.Wait(); err != nil {
				t.Fatal(err)
			}
			if l.ExitCode() != 0 || out.String() != "gated 5\n" {
				t.Fatalf("exit %d, output %q; want gated 5 (the semaphore set)", l.ExitCode(), out.String())
			}
			checkTicks(t, coll, threads, rounds, uint32(l.Pid()))
			checkGated(t, coll, 5)
			st := l.Stats()
			if st.Hits != threads*rounds+5 || st.Stepped != 0 {
				t.Errorf("hits %d, stepped %d; want %d hits, none stepped (a site's nop is emulated)", st.Hits, st.Stepped, threads*rounds+5)
			}
			want := map[string]uint64{"usdt/" + target + ":waggle:tick": threads * rounds, "usdt/" + target + ":waggle:gated": 5}
			if len(st.Programs) != 2 {
				t.Errorf("programs %+v, want one entry per probe", st.Programs)
			}
			for _, p := range st.Programs {
				if n, ok := want[p.Attach]; !ok || p.Runs != n || p.Errors != 0 {
					t.Errorf("program %s at %s: %d runs, %d errors; want %d runs", p.Name, p.Attach, p.Runs, p.Errors, n)
				}
			}
			// The IP map holds each site's address in the process, with
			// the ID of the spec whose cookie is the probe's.
			sites, err := usdt.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			ips, err := coll.Maps[link.USDTIPsMap].Dump()
			if err != nil {
				t.Fatal(err)
			}
			if len(ips) != len(sites) {
				t.Errorf("%d addresses in %s, the file has %d sites", len(ips), link.USDTIPsMap, len(sites))
			}
			for _, e := range ips {
				id := binary.NativeEndian.Uint32(e.Value)
				var spec []byte
				if err := coll.Maps[link.USDTSpecsMap].Lookup(id, &spec); err != nil {
					t.Fatal(err)
				}
				if c := binary.NativeEndian.Uint64(spec[192:]); c != 77 && c != 78 {
					t.Errorf("address %#x: spec %d with cookie %d", binary.NativeEndian.Uint64(e.Key), id, c)
				}
			}
		})
	}
}

// semaphoreValue reads a semaphore of target.c in process pid.
func semaphoreValue(t *testing.T, pid int, target, name string) uint16 {
	t.Helper()
	f, err := elf.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var addr uint64
	for _, s := range syms {
		if s.Name == name {
			addr = s.Value
		}
	}
	maps, err := symtab.ReadMaps(pid)
	if err != nil {
		t.Fatal(err)
	}
	// A PIE's first segment is at 0: its mapping at offset 0 is the bias.
	for _, m := range maps {
		if m.Offset == 0 && strings.HasSuffix(m.Path, "/target") {
			if f.Type == elf.ET_DYN {
				addr += m.Start
			}
			break
		}
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	var b [2]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		t.Fatalf("read %s at %#x: %v", name, addr, err)
	}
	return binary.NativeEndian.Uint16(b[:])
}

// TestUSDTAttachPID attaches to a running target: the semaphores are 1
// while attached and 0 again after the detach, and the probes fire
// between.
func TestUSDTAttachPID(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	coll := usdtObject(t)
	cmd, stdin, lines := proctest.StartReady(t, "ready", target, "2", "10", "wait")
	readLine := func() string {
		s, err := lines.ReadString('\n')
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		return s
	}
	pid := cmd.Process.Pid
	for _, sem := range []string{"waggle_tick_semaphore", "waggle_gated_semaphore"} {
		if v := semaphoreValue(t, pid, target, sem); v != 0 {
			t.Fatalf("%s is %d before attaching", sem, v)
		}
	}
	l, err := link.AttachUprobe(link.UprobeOptions{PID: pid, USDT: usdtProbes(coll, target)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, sem := range []string{"waggle_tick_semaphore", "waggle_gated_semaphore"} {
		if v := semaphoreValue(t, pid, target, sem); v != 1 {
			t.Errorf("%s is %d while attached, want 1", sem, v)
		}
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	if s := readLine(); s != "gated 5\n" {
		t.Errorf("target said %q, want gated 5", s)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, sem := range []string{"waggle_tick_semaphore", "waggle_gated_semaphore"} {
		if v := semaphoreValue(t, pid, target, sem); v != 0 {
			t.Errorf("%s is %d after the detach, want 0", sem, v)
		}
	}
	checkTicks(t, coll, 2, 10, uint32(pid))
	checkGated(t, coll, 5)
	if _, err := io.WriteString(stdin, "end\n"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the target after the detach: %v", err)
	}
}

// TestUSDTErrors: what cannot be attached is refused before anything
// starts, naming the program and what is wrong.
func TestUSDTErrors(t *testing.T) {
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	coll := usdtObject(t)
	good := usdtProbes(coll, target)[0]
	for _, c := range []struct {
		name string
		u    func(u link.USDT) link.USDT
		err  string
	}{
		{"missing probe", func(u link.USDT) link.USDT { u.Name = "tock"; return u }, "program tick: " + target + ": no USDT probe waggle:tock (the file has waggle:tick, waggle:gated)"},
		{"no USDT notes", func(u link.USDT) link.USDT { u.Path = "/bin/true"; return u }, "no USDT probe waggle:tick: the file has no USDT probes"},
		{"missing file", func(u link.USDT) link.USDT { u.Path = "/nonexistent/x"; return u }, "read the USDT notes of /nonexistent/x"},
		{"no provider", func(u link.USDT) link.USDT { u.Provider = ""; return u }, "a USDT probe needs a path, a provider and a name"},
		{"specs map of another shape", func(u link.USDT) link.USDT { u.Specs = coll.Maps["gated"]; return u }, "__bpf_usdt_specs: want an array of 208-byte values"},
		{"IPs map of another shape", func(u link.USDT) link.USDT { u.IPs = coll.Maps["ticks"]; return u }, "__bpf_usdt_ip_to_spec_id: want a hash of 8-byte keys and 4-byte values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "1", "1"}, USDT: []link.USDT{c.u(good)}})
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("AttachUprobe: %v; want an error with %q", err, c.err)
			}
		})
	}
}

// TestUSDTForkExec: a forked child (its memory a copy: breakpoints and
// incremented semaphores too) and an executed one (a new image: the
// probes and semaphores put in again at its entry point) fire the probes
// as the parent does.
func TestUSDTForkExec(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	const threads, rounds = 2, 10
	for _, c := range []struct{ mode, out string }{
		{"fork", "child gated 5\ngated 5\n"},
		{"exec", "gated 5\ngated 5\n"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			coll := usdtObject(t)
			var out strings.Builder
			l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{target, fmt.Sprint(threads), fmt.Sprint(rounds), c.mode}, // argv[0]: what exec executes
				Stdout: &out, Stderr: &out, USDT: usdtProbes(coll, target)})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.Wait(); err != nil {
				t.Fatal(err)
			}
			if l.ExitCode() != 0 || out.String() != c.out {
				t.Fatalf("exit %d, output %q; want %q", l.ExitCode(), out.String(), c.out)
			}
			// The child is thread number threads.
			checkTicks(t, coll, threads+1, rounds, uint32(l.Pid()))
			checkGated(t, coll, 10)
		})
	}
}

// TestUSDTLibrary: a probe of a shared library (USDT.Path the library)
// fires in a program that maps it, its semaphore in the library's
// writable mapping set while attached.
func TestUSDTLibrary(t *testing.T) {
	needPtrace(t)
	lib := proctest.BuildSDT(t, "../testdata/usdt/usdtlib.c", "-O2", "-shared", "-fPIC")
	// BuildC puts the flags before the source: --no-as-needed keeps the
	// library, named before what needs it.
	main := proctest.BuildC(t, "../testdata/usdt/libmain.c", "-O2", "-Wl,--no-as-needed", lib)
	coll := usdtObject(t)
	var out strings.Builder
	l, err := link.AttachUprobe(link.UprobeOptions{Path: main, Stdout: &out, Stderr: &out, USDT: []link.USDT{{
		Program: coll.Programs["gated_probe"], Path: lib, Provider: "waggle", Name: "libtick",
		Specs: coll.Maps[link.USDTSpecsMap], IPs: coll.Maps[link.USDTIPsMap],
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if l.ExitCode() != 0 || out.String() != "fired 4\n" {
		t.Fatalf("exit %d, output %q; want fired 4 (the semaphore set)", l.ExitCode(), out.String())
	}
	// gated_probe(long value, int constant) on libtick(i, n): the last
	// run saw i = 3, n = 4.
	var g struct {
		Count           uint64
		Value, Constant int64
	}
	if err := coll.Maps["gated"].Lookup(uint32(0), &g); err != nil {
		t.Fatal(err)
	}
	if g.Count != 4 || g.Value != 3 || g.Constant != 4 {
		t.Errorf("gated: %+v, want 4 runs, the last with 3 and 4", g)
	}
}

// TestUSDTAttachPIDFails: an attach that fails once some probes are
// placed (a probe of a library the process does not map) leaves the
// process as it was: its semaphores back at 0, and it runs on.
func TestUSDTAttachPIDFails(t *testing.T) {
	needPtrace(t)
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	lib := proctest.BuildSDT(t, "../testdata/usdt/usdtlib.c", "-O2", "-shared", "-fPIC")
	coll := usdtObject(t)
	cmd, stdin, lines := proctest.StartReady(t, "ready", target, "1", "3", "wait")
	probes := append(usdtProbes(coll, target), link.USDT{Program: coll.Programs["gated_probe"], Path: lib, Provider: "waggle", Name: "libtick"})
	_, err := link.AttachUprobe(link.UprobeOptions{PID: cmd.Process.Pid, USDT: probes})
	if err == nil || !strings.Contains(err.Error(), "program gated_probe: "+lib+" is not mapped in the process") {
		t.Fatalf("AttachUprobe: %v; want the library not mapped", err)
	}
	for _, sem := range []string{"waggle_tick_semaphore", "waggle_gated_semaphore"} {
		if v := semaphoreValue(t, cmd.Process.Pid, target, sem); v != 0 {
			t.Errorf("%s is %d after the failed attach, want 0", sem, v)
		}
	}
	if _, err := io.WriteString(stdin, "go\nend\n"); err != nil {
		t.Fatal(err)
	}
	if s, _ := lines.ReadString('\n'); s != "gated 0\n" {
		t.Errorf("target said %q, want gated 0", s)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the target after the failed attach: %v", err)
	}
}
