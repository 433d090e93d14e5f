//go:build linux

package waggle_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	cilink "github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/perf"
	ciringbuf "github.com/cilium/ebpf/ringbuf"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/ringbuf"
)

// TestLibbpfToolsUnderExec is the differential test of bcc's opensnoop,
// execsnoop and syscount: each object, compiled unchanged, runs once
// under waggle exec and once attached to the kernel's tracepoints (as
// root, through cilium/ebpf) for the same command, and both must report
// the same events for the command's processes — files opened with their
// flags and results, programs executed with their arguments and results,
// system calls counted per process. The command runs a copy of cat under
// a name of its own, so that the kernel's system-wide events can be told
// from other processes' by comm.
func TestLibbpfToolsUnderExec(t *testing.T) {
	bcc := bccDir(t)
	if err := kerneltest.Available(); err != nil {
		t.Skipf("skipped: the kernel side needs bpf() as root: %v", err)
	}
	needSyscallTracepoints(t)
	objDir := t.TempDir()

	dir := t.TempDir()
	comm := fmt.Sprintf("wgcat%d", os.Getpid()%1000000)
	bin := filepath.Join(dir, comm)
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("skipped: no cat in PATH")
	}
	b, err := os.ReadFile(cat)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	f1, f2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	for _, f := range []string{f1, f2} {
		if err := os.WriteFile(f, []byte(strings.Repeat("x", 5000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf("%[1]s %[2]s >/dev/null; %[1]s %[2]s %[3]s >/dev/null; %[1]s %[4]s 2>/dev/null; exit 0",
		bin, f1, f2, filepath.Join(dir, "missing"))

	for _, tc := range []struct {
		tool   string
		set    map[string]any
		events string // the perf event array, or "" for a map of counts
		typ    string // the records' type (declared in the tool's header)
		header string
		// key is what both sides must agree on in one record or map
		// element, "" for one of another command.
		key func(v map[string]any) string
	}{
		{tool: "opensnoop", events: "events", typ: "event", header: "opensnoop.h", key: func(v map[string]any) string {
			if v["comm"] != comm {
				return ""
			}
			return fmt.Sprintf("%v flags=%v ret=%v", cString([]byte(fmt.Sprint(v["fname.pathes"]))), v["flags"], v["ret"])
		}},
		{tool: "execsnoop", events: "events", typ: "event", header: "execsnoop.h", key: func(v map[string]any) string {
			if v["comm"] != comm {
				return ""
			}
			// The parent (sh) differs from run to run; that there is
			// one is what both must show.
			return fmt.Sprintf("ret=%v argc=%v args=%q parent=%v", v["retval"], v["args_count"], v["args"], v["ppid"] != "0")
		}},
		{tool: "syscount", set: map[string]any{"count_by_process": true}, typ: "data_t", header: "syscount.h", key: func(v map[string]any) string {
			if v["comm"] != comm {
				return ""
			}
			return fmt.Sprintf("%v calls", v["count"])
		}},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			obj := buildTool(t, bcc, tc.tool, objDir)
			typ := recordType(t, tc.header, tc.typ)
			underWaggle := toolUnderExec(t, obj, tc.set, tc.events, typ, script)
			underKernel := toolOnKernel(t, obj, tc.set, tc.events, typ, script)
			var got, want []string
			for _, v := range underWaggle {
				if k := tc.key(v); k != "" {
					got = append(got, k)
				}
			}
			for _, v := range underKernel {
				if k := tc.key(v); k != "" {
					want = append(want, k)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if len(want) == 0 {
				t.Fatalf("the kernel reported nothing of %s (%d records in all)", comm, len(underKernel))
			}
			if len(got) == 0 {
				for _, v := range underWaggle {
					t.Logf("under waggle exec: %v", v)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("under waggle exec (%d):\n  %s\non the kernel's tracepoints (%d):\n  %s",
					len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
			}
			t.Logf("%d records of %s agree, e.g. %s", len(got), comm, want[0])
		})
	}
}

// needSyscallTracepoints skips the test unless the kernel's syscall
// tracepoints can be attached to: it mounts tracefs where the system has
// not (as root), as tools that attach to tracepoints do.
func needSyscallTracepoints(t *testing.T) {
	const tracefs = "/sys/kernel/tracing"
	for _, dir := range []string{tracefs, "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(dir + "/events/syscalls/sys_enter_openat"); err == nil {
			return
		}
	}
	if err := unix.Mount("nodev", tracefs, "tracefs", 0, ""); err != nil {
		t.Skipf("skipped: tracefs is not mounted at %s and mounting it failed: %v", tracefs, err)
	}
	if _, err := os.Stat(tracefs + "/events/syscalls/sys_enter_openat"); err != nil {
		t.Skipf("skipped: this kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS): %v", err)
	}
}

// bigRing makes a ring buffer of events 16 MiB on both sides, so that
// neither drops records while its reader waits for the CPU.
func bigRing(spec *ebpf.CollectionSpec, events string) {
	if m := spec.Maps[events]; m != nil && m.Type == ebpf.RingBuf {
		m.MaxEntries = 16 << 20
	}
}

func recordType(t *testing.T, header, name string) *btf.Struct {
	t.Helper()
	var typ *btf.Struct
	if err := headerTypes(t, header, name).TypeByName(name, &typ); err != nil {
		t.Fatalf("struct %s of %s: %v", name, header, err)
	}
	return typ
}

// decodeRecords decodes raw records (perf samples or map values) by typ.
func decodeRecords(typ btf.Type, raw [][]byte) []map[string]any {
	var out []map[string]any
	for _, b := range raw {
		v := map[string]any{}
		decodeBTF(typ, b, "", v)
		if s, ok := v["args"].(string); ok { // execsnoop's NUL-separated arguments
			v["args"] = strings.ReplaceAll(s, "\x00", " ")
		}
		out = append(out, v)
	}
	return out
}

// toolUnderExec runs script under waggle exec with every program of the
// object as a trace and returns the records of the events map (or the
// values of the map "data" when events is "").
func toolUnderExec(t *testing.T, obj string, set map[string]any, events string, typ btf.Type, script string) []map[string]any {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	setVariables(t, spec, set)
	bigRing(spec, events)
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatalf("waggle refused %s: %v", obj, err)
	}
	defer coll.Close()
	// Records are read while the command runs, as the tools' user-space
	// halves read them: a ring of 256 KiB holds some 30 of opensnoop's.
	var raw [][]byte
	var collect func() // after the command: the records left
	switch {
	case events == "":
		collect = func() {
			entries, err := coll.Maps["data"].Dump()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				raw = append(raw, e.Value)
			}
		}
	case coll.Maps[events].Type() == ebpf.RingBuf:
		rd, err := ringbuf.NewReader(coll.Maps[events])
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		done := make(chan error, 1)
		go func() {
			for {
				rec, err := rd.Read()
				if err != nil {
					done <- err
					return
				}
				raw = append(raw, rec.RawSample)
			}
		}()
		collect = func() {
			if err := rd.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !errors.Is(err, ringbuf.ErrFlushed) {
				t.Fatal(err)
			}
		}
	default:
		m := coll.Maps[events]
		for i := range m.MaxEntries() {
			if err := m.Put(i, uint32(0)); err != nil { // open the slot, as a reader does
				t.Fatal(err)
			}
		}
		stop, done := make(chan struct{}), make(chan struct{})
		drain := func() {
			entries, err := m.Dump() // drains the records written since
			if err != nil {
				t.Error(err)
			}
			for _, e := range entries {
				raw = append(raw, e.Value)
			}
		}
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
					drain()
				}
			}
		}()
		collect = func() {
			close(stop)
			<-done
			drain()
		}
	}
	var traces []link.Trace
	for name, ps := range spec.Programs {
		traces = append(traces, link.Trace{Program: coll.Programs[name], Section: ps.SectionName})
	}
	var out bytes.Buffer
	l, err := link.AttachExec(nil, link.ExecOptions{Path: "sh", Args: []string{"sh", "-c", script}, Traces: traces, Stdout: &out, Stderr: &out})
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if l.ExitCode() != 0 {
		t.Fatalf("the command exited with %d under waggle exec: %s", l.ExitCode(), out.String())
	}
	collect()
	return decodeRecords(typ, raw)
}

// toolOnKernel attaches the object's programs to the kernel's
// tracepoints, runs script and returns what toolUnderExec does.
func toolOnKernel(t *testing.T, obj string, set map[string]any, events string, typ btf.Type, script string) []map[string]any {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	setVariables(t, spec, set)
	bigRing(spec, events)
	var first string
	for name := range spec.Programs {
		first = name
		break
	}
	coll, err := kerneltest.LoadCollection(spec, ebpf.CollectionOptions{}, first)
	kerneltest.SkipIfUnsupported(t, err)
	if err != nil {
		t.Fatalf("the kernel refused %s: %v", obj, err)
	}
	defer coll.Close()
	for name, p := range coll.Programs {
		sec := spec.Programs[name].SectionName
		_, tp, _ := strings.Cut(sec, "/") // tracepoint/GROUP/NAME
		group, tpName, ok := strings.Cut(tp, "/")
		if !ok {
			t.Fatalf("program %s: section %s names no tracepoint", name, sec)
		}
		l, err := cilink.Tracepoint(group, tpName, p, nil)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // a system call this kernel has no tracepoint for (open on arm64)
			}
			t.Fatalf("attach %s to %s: %v", name, tp, err)
		}
		defer l.Close()
	}
	var rd recordReader
	switch {
	case events == "":
	case coll.Maps[events].Type() == ebpf.RingBuf:
		r, err := ciringbuf.NewReader(coll.Maps[events])
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rd = ringRecords{r}
	default:
		r, err := perf.NewReader(coll.Maps[events], 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rd = perfRecords{r}
	}
	var raw [][]byte
	done := make(chan error, 1)
	if rd != nil {
		go func() {
			for {
				rec, err := rd.next()
				if err != nil {
					done <- err
					return
				}
				raw = append(raw, rec)
			}
		}()
	}
	cmd := exec.Command("sh", "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the command: %v\n%s", err, out)
	}
	if rd == nil {
		var k, v []byte
		it := coll.Maps["data"].Iterate()
		for it.Next(&k, &v) {
			raw = append(raw, slices.Clone(v))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return decodeRecords(typ, raw)
	}
	// The command's records are in the buffers when it has exited (its
	// tracepoints ran in its own system calls): the reader returns them,
	// then ErrFlushed.
	if err := rd.flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ciringbuf.ErrFlushed) && !errors.Is(err, perf.ErrFlushed) {
		t.Fatal(err)
	}
	return decodeRecords(typ, raw)
}

// recordReader reads the kernel's ring or perf buffer records.
type recordReader interface {
	next() ([]byte, error)
	flush() error
}

type ringRecords struct{ r *ciringbuf.Reader }

func (rr ringRecords) flush() error { return rr.r.Flush() }

func (rr ringRecords) next() ([]byte, error) {
	rec, err := rr.r.Read()
	return rec.RawSample, err
}

type perfRecords struct{ r *perf.Reader }

func (pr perfRecords) flush() error { return pr.r.Flush() }

func (pr perfRecords) next() ([]byte, error) {
	rec, err := pr.r.Read()
	if err == nil && rec.LostSamples > 0 {
		err = fmt.Errorf("the kernel's perf buffer lost %d records", rec.LostSamples)
	}
	return rec.RawSample, err
}
