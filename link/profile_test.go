//go:build linux

package link_test

import (
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/internal/symtab"
	"github.com/waggle-ebpf/waggle/link"
)

// busyFlags build testdata/profile/busy.c as the profiler wants C: frame
// pointers, leaf functions' too.
var busyFlags = []string{"-O1", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-pthread"}

// profileObject is waggle profile's default program.
const profileObject = "../cmd/waggle/bpf/profile.o"

// needProfiling skips a test where perf events cannot be opened.
func needProfiling(t *testing.T) {
	t.Helper()
	if err := link.ProfilingAvailable(); err != nil {
		t.Skipf("skipped: perf events are not permitted here: %v", err)
	}
}

func loadProfile(t *testing.T) *waggle.Collection {
	t.Helper()
	coll, err := loadObject(profileObject)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coll.Close() })
	return coll
}

// sampleKey is the default program's struct sample_key.
type sampleKey struct {
	pid, user, kernel int32
	name              string
}

func readCounts(t *testing.T, coll *waggle.Collection) map[sampleKey]uint64 {
	t.Helper()
	out := map[sampleKey]uint64{}
	it := coll.Maps["counts"].Iterate()
	var k []byte
	var v uint64
	for it.Next(&k, &v) {
		key := sampleKey{
			pid: int32(binary.NativeEndian.Uint32(k[0:])), user: int32(binary.NativeEndian.Uint32(k[4:])),
			kernel: int32(binary.NativeEndian.Uint32(k[8:])), name: strings.TrimRight(string(k[12:28]), "\x00"),
		}
		out[key] += v
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAttachProfile profiles busy.c in its three shapes (one thread,
// two threads, a child process) and checks that every thread and process
// was sampled, that the program ran on each sample with the thread as its
// task, and that nearly every sample has a user stack whose first frame
// is in busy's code.
func TestAttachProfile(t *testing.T) {
	needProfiling(t)
	busy := proctest.BuildC(t, "../testdata/profile/busy.c", busyFlags...)
	cases := []struct {
		mode       string
		processes  int
		minThreads int
	}{
		{"", 1, 1},
		{"thread", 1, 2},
		{"fork", 2, 2},
	}
	for _, c := range cases {
		t.Run("mode="+c.mode, func(t *testing.T) {
			coll := loadProfile(t)
			var mu sync.Mutex
			tgids, tids := map[uint32]int{}, map[uint32]int{}
			args := []string{busy, "150000000"}
			if c.mode != "" {
				args = append(args, c.mode)
			}
			var stdout strings.Builder
			l, err := link.AttachProfile(coll.Programs["sample"], link.ProfileOptions{
				Path: busy, Args: args, Frequency: 499, Stdout: &stdout,
				Sampled: func(tgid, tid uint32, ip uint64) {
					mu.Lock()
					tgids[tgid]++
					tids[tid]++
					mu.Unlock()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Wait(); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if code := l.ExitCode(); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			st := l.Stats()
			if st.Samples < 20 || st.RunErrors != 0 {
				t.Fatalf("stats %+v: want at least 20 samples and no failed run", st)
			}
			if st.Processes != c.processes || len(tgids) != c.processes || st.Threads < c.minThreads || len(tids) < c.minThreads {
				t.Errorf("sampled processes %v (stats %d), threads %v (stats %d); want %d processes and at least %d threads",
					tgids, st.Processes, tids, st.Threads, c.processes, c.minThreads)
			}
			counts := readCounts(t, coll)
			var total, stacked uint64
			for k, n := range counts {
				total += n
				if _, ok := tgids[uint32(k.pid)]; !ok {
					t.Errorf("a count of process %d, which was not sampled", k.pid)
				}
				if k.name != "busy" {
					t.Errorf("a count of thread name %q, want busy", k.name)
				}
				if k.kernel >= 0 {
					t.Errorf("a kernel stack %d: waggle has none", k.kernel)
				}
				if k.user >= 0 {
					stacked += n
				}
			}
			if total != st.Samples {
				t.Errorf("the counts add up to %d, the samples are %d", total, st.Samples)
			}
			if stacked*10 < total*9 {
				t.Errorf("%d of %d samples have a user stack; want at least 90 %%", stacked, total)
			}
			if got := strings.Count(stdout.String(), "\n"); got != max(1, c.processes, c.minThreads) {
				t.Errorf("busy printed %q", stdout.String())
			}
		})
	}
}

// TestAttachProfilePID profiles a running process until it exits.
func TestAttachProfilePID(t *testing.T) {
	needProfiling(t)
	busy := proctest.BuildC(t, "../testdata/profile/busy.c", busyFlags...)
	cmd := exec.Command(busy, "150000000", "thread")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	coll := loadProfile(t)
	l, err := link.AttachProfile(coll.Programs["sample"], link.ProfileOptions{PID: cmd.Process.Pid, Frequency: 499})
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	st := l.Stats()
	if st.Samples < 5 || st.Processes != 1 || l.ExitCode() != -1 {
		t.Errorf("stats %+v, exit code %d: want samples of one process, no exit code", st, l.ExitCode())
	}
	if !strings.Contains(l.Info().Target, "process "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("target %q", l.Info().Target)
	}
}

// TestAttachProfileClose checks that closing a profile kills the command
// it started, and returns.
func TestAttachProfileClose(t *testing.T) {
	needProfiling(t)
	coll := loadProfile(t)
	l, err := link.AttachProfile(coll.Programs["sample"], link.ProfileOptions{Path: "/bin/sleep", Args: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if code := l.ExitCode(); code != 128+9 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", code)
	}
}

// TestAttachProfileErrors checks that bad options are refused with an
// error that names what is wrong.
func TestAttachProfileErrors(t *testing.T) {
	coll := loadProfile(t)
	prog := coll.Programs["sample"]
	other, err := loadObject("../testdata/progs/xdp_parse.o")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var xdp *waggle.Program
	for _, p := range other.Programs {
		xdp = p
	}
	cases := []struct {
		name string
		prog *waggle.Program
		opts link.ProfileOptions
		want string
	}{
		{"no program", nil, link.ProfileOptions{Path: "/bin/true"}, "no program"},
		{"not perf_event", xdp, link.ProfileOptions{Path: "/bin/true"}, "not a perf_event program"},
		{"frequency", prog, link.ProfileOptions{Path: "/bin/true", Frequency: -3}, "frequency -3 Hz"},
		{"stack", prog, link.ProfileOptions{Path: "/bin/true", StackBytes: 100}, "stack copy of 100 bytes"},
		{"no target", prog, link.ProfileOptions{}, "no process (PID) and no command"},
		{"both", prog, link.ProfileOptions{PID: 1, Path: "/bin/true"}, "choose one"},
		{"negative pid", prog, link.ProfileOptions{PID: -2}, "PID -2"},
		{"no such process", prog, link.ProfileOptions{PID: 1 << 30}, "no process"},
		{"no such command", prog, link.ProfileOptions{Path: "/nonexistent/cmd"}, "/nonexistent/cmd"},
	}
	// The options are checked before anything is opened; a process or a
	// command, only where profiles can run.
	available := link.ProfilingAvailable()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strings.HasPrefix(c.name, "no such") && available != nil {
				t.Skipf("skipped: perf events are not permitted here: %v", available)
			}
			if c.prog == nil && c.name != "no program" {
				t.Fatalf("no program for the case")
			}
			l, err := link.AttachProfile(c.prog, c.opts)
			if err == nil {
				_ = l.Close()
				t.Fatalf("AttachProfile succeeded, want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want one containing %q", err, c.want)
			}
		})
	}
}

func loadObject(path string) (*waggle.Collection, error) {
	spec, err := waggle.LoadCollectionSpec(path)
	if err != nil {
		return nil, err
	}
	return waggle.NewCollection(spec)
}

// TestAttachProfileGetStack profiles busy.c with testdata/profile/stack.c
// (built with clang here), whose program copies each sample's four
// innermost user frames with bpf_get_stack into its map's keys, and
// symbolises them (internal/symtab, from the process's mappings read at
// its first sample): hot, warm, spin and main in at least 90 % of the
// samples.
func TestAttachProfileGetStack(t *testing.T) {
	needProfiling(t)
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("skipped: clang is not installed; it builds testdata/profile/stack.c")
	}
	machine, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Skipf("skipped: uname -m: %v", err)
	}
	include := "/usr/include/" + strings.TrimSpace(string(machine)) + "-linux-gnu"
	obj := filepath.Join(t.TempDir(), "stack.o")
	if out, err := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-I"+include,
		"-c", "../testdata/profile/stack.c", "-o", obj).CombinedOutput(); err != nil {
		t.Skipf("skipped: clang could not build stack.c here (libbpf headers?): %v\n%s", err, out)
	}
	busy := proctest.BuildC(t, "../testdata/profile/busy.c", busyFlags...)
	coll, err := loadObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	var sym *symtab.Symbolizer
	l, err := link.AttachProfile(coll.Programs["stack"], link.ProfileOptions{
		Path: busy, Args: []string{busy, "150000000"}, Frequency: 499,
		Sampled: func(tgid, _ uint32, _ uint64) {
			if sym == nil {
				ms, err := symtab.ReadMaps(int(tgid))
				if err != nil {
					t.Errorf("maps of %d: %v", tgid, err)
				}
				sym = symtab.NewSymbolizer(ms, nil)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if sym == nil {
		t.Fatal("no sample")
	}
	var total, want uint64
	it := coll.Maps["leaves"].Iterate()
	var key [4]uint64
	var count uint64
	stacks := map[string]uint64{}
	for it.Next(&key, &count) {
		var names []string
		for i, ip := range key {
			if i > 0 {
				ip-- // a return address: the call is before it
			}
			names = append(names, sym.Symbolize(ip).String())
		}
		s := strings.Join(names, " < ")
		stacks[s] += count
		total += count
		if s == "hot < warm < spin < main" {
			want += count
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); total != st.Samples || total == 0 {
		t.Errorf("%d samples counted, %d taken", total, st.Samples)
	}
	if want*10 < total*9 {
		t.Errorf("hot < warm < spin < main in %d of %d samples; want at least 90 %%: %v", want, total, stacks)
	}
}
