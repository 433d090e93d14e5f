package probe_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/probe"
)

// engines are the engines the end-to-end tests run on.
func engines() []waggle.Engine {
	if jit.Supported {
		return []waggle.Engine{waggle.EngineJIT, waggle.EngineInterpreter}
	}
	return []waggle.Engine{waggle.EngineInterpreter}
}

// buildObject compiles testdata/probe.c with clang, or skips the test.
func buildObject(t *testing.T) string {
	t.Helper()
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("skipped: clang is not installed; it builds testdata/probe.c")
	}
	obj := filepath.Join(t.TempDir(), "probe.o")
	cmd := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-c", "testdata/probe.c", "-o", obj)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang testdata/probe.c: %v\n%s", err, out)
	}
	return obj
}

// newRequest declares the point that testdata/probe.c's programs are for.
func newRequest(t *testing.T) *probe.Point {
	t.Helper()
	p, err := probe.New("request",
		probe.Arg{Name: "id", Type: probe.Uint64},
		probe.Arg{Name: "delta", Type: probe.Int64},
		probe.Arg{Name: "delta32", Type: probe.Int32},
		probe.Arg{Name: "flag", Type: probe.Bool})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loadObject loads testdata/probe.c's programs for an engine.
func loadObject(t *testing.T, obj string, eng waggle.Engine) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	for name, ps := range spec.Programs {
		if n, ok := probe.Section(ps.SectionName); !ok || n != "request" {
			t.Fatalf("program %s: section %s does not name the point request", name, ps.SectionName)
		}
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll
}

type seen struct {
	Delta, Delta32 int64
	Flag, Order    uint64
}

func fires(t *testing.T, coll *waggle.Collection) uint64 {
	t.Helper()
	var n uint64
	if err := coll.Maps["fires"].Lookup(uint32(0), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func attach(t *testing.T, p *probe.Point, prog *waggle.Program, opts link.ProbeOptions) *link.ProbeLink {
	t.Helper()
	l, err := link.AttachProbe(p, prog, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// readArguments reads testdata/arguments.txt.
func readArguments(t *testing.T) [][4]uint64 {
	t.Helper()
	f, err := os.Open("testdata/arguments.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][4]uint64
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 4 {
			t.Fatalf("testdata/arguments.txt:%d: %d fields, want 4", line, len(fields))
		}
		var a [4]uint64
		for i, s := range fields {
			if strings.HasPrefix(s, "-") {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					t.Fatalf("testdata/arguments.txt:%d: %v", line, err)
				}
				a[i] = uint64(v)
			} else {
				v, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					t.Fatalf("testdata/arguments.txt:%d: %v", line, err)
				}
				a[i] = v
			}
		}
		out = append(out, a)
	}
	return out
}

// TestFireArguments: the program sees each fire's arguments in its
// context, signed ones sign-extended, and counts the fires; the link's
// Stats and Info count the runs; two programs attached run in attach
// order.
func TestFireArguments(t *testing.T) {
	obj := buildObject(t)
	cases := readArguments(t)
	for _, eng := range engines() {
		t.Run(eng.String(), func(t *testing.T) {
			coll := loadObject(t, obj, eng)
			p := newRequest(t)
			if p.Enabled() {
				t.Fatal("Enabled before any attachment")
			}
			p.Fire(100, 0, 0, 0) // nothing attached: nothing happens
			l := attach(t, p, coll.Programs["on_request"], link.ProbeOptions{})
			attach(t, p, coll.Programs["first"], link.ProbeOptions{})
			attach(t, p, coll.Programs["second"], link.ProbeOptions{})
			if !p.Enabled() || p.Stats().Attached != 3 {
				t.Fatalf("Enabled %v, Stats %+v; want 3 attached", p.Enabled(), p.Stats())
			}
			for _, a := range cases {
				p.Fire(a[0], a[1], a[2], a[3])
			}
			if n := fires(t, coll); n != uint64(len(cases)) {
				t.Errorf("the map counts %d fires, want %d", n, len(cases))
			}
			for _, a := range cases {
				var s seen
				if err := coll.Maps["seen"].Lookup(a[0], &s); err != nil {
					t.Fatalf("id %d: %v", a[0], err)
				}
				want := seen{Delta: int64(a[1]), Delta32: int64(a[2]), Flag: a[3], Order: 12}
				if s != want {
					t.Errorf("id %d: the program saw %+v, want %+v", a[0], s, want)
				}
			}
			if err := coll.Maps["seen"].Lookup(uint64(100), new(seen)); err == nil {
				t.Error("the fire before attaching ran a program")
			}
			s := l.Stats()
			if s.Runs != uint64(len(cases)) || s.Errors != 0 || s.LastError != nil {
				t.Errorf("Stats %+v, want %d runs and no error", s, len(cases))
			}
			info := l.Info()
			if info.Hook != "probe" || info.Target != "request(id uint64, delta int64, delta32 int32, flag bool)" ||
				info.Runs != uint64(len(cases)) || len(info.Programs) != 1 || info.Programs[0] != coll.Programs["on_request"] {
				t.Errorf("Info %+v", info)
			}
		})
	}
}

// TestAttachDetachWhileFiring: 8 goroutines fire all along while programs
// are attached and detached; every run counts once in the map, and after
// the last detach the count stays.
func TestAttachDetachWhileFiring(t *testing.T) {
	obj := buildObject(t)
	for _, eng := range engines() {
		t.Run(eng.String(), func(t *testing.T) {
			coll := loadObject(t, obj, eng)
			p := newRequest(t)
			var stop atomic.Bool
			var fired atomic.Uint64
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := uint64(0); !stop.Load(); i++ {
						p.Fire(uint64(g)<<32|i%1024, uint64(i), 1, 1)
						fired.Add(1)
						if i%64 == 0 {
							runtime.Gosched() // 8 goroutines on few cores: let the test's run too
						}
					}
				}()
			}
			var runs uint64
			for round := range 10 {
				l, err := link.AttachProbe(p, coll.Programs["on_request"], link.ProbeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				// At most 8 fires that began before the attachment end after
				// this.
				before := fired.Load()
				for fired.Load() < before+200 {
					runtime.Gosched() // let the goroutines fire while attached
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				s := l.Stats()
				if s.Errors != 0 {
					t.Fatalf("round %d: %d errors: %v", round, s.Errors, s.LastError)
				}
				if s.Runs == 0 {
					t.Errorf("round %d: no run while attached", round)
				}
				runs += s.Runs
				if n := fires(t, coll); n != runs {
					t.Fatalf("round %d: the map counts %d fires, the links %d runs", round, n, runs)
				}
			}
			// Detached: the count does not move while the goroutines fire.
			after := fired.Load()
			for fired.Load() < after+1000 {
				runtime.Gosched()
			}
			stop.Store(true)
			wg.Wait()
			if n := fires(t, coll); n != runs {
				t.Errorf("after the last detach the map counts %d fires, want %d", n, runs)
			}
			if p.Enabled() {
				t.Error("Enabled after every link was closed")
			}
		})
	}
}

// TestProgramCloseWhileAttached: a program closed under its link fails
// its later runs, counted as errors matching os.ErrClosed; the service
// goes on, and the link still closes.
func TestProgramCloseWhileAttached(t *testing.T) {
	obj := buildObject(t)
	coll := loadObject(t, obj, waggle.EngineAuto)
	p := newRequest(t)
	prog := coll.DetachProgram("on_request")
	l := attach(t, p, prog, link.ProbeOptions{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				p.Fire(uint64(g*1000+i), 0, 0, 0)
			}
		}()
	}
	prog.Close()
	wg.Wait()
	n := fires(t, coll)
	s := l.Stats()
	if s.Runs != n {
		t.Errorf("%d runs, the map counts %d", s.Runs, n)
	}
	if s.Runs+s.Errors != 8*500 {
		t.Errorf("%d runs and %d errors, want %d in all", s.Runs, s.Errors, 8*500)
	}
	p.Fire(1, 0, 0, 0)
	s = l.Stats()
	if !errors.Is(s.LastError, os.ErrClosed) {
		t.Errorf("the last error %v does not match os.ErrClosed", s.LastError)
	}
	if fires(t, coll) != n {
		t.Error("the closed program ran")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestAttachErrors: programs that cannot run on a point are refused with
// the reason.
func TestAttachErrors(t *testing.T) {
	obj := buildObject(t)
	coll := loadObject(t, obj, waggle.EngineAuto)
	p := newRequest(t)
	xdp, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "xdp", Type: 6, Instructions: mustAssemble(t, "mov %r0, 2\nexit")})
	if err != nil {
		t.Fatal(err)
	}
	defer xdp.Close()
	for _, c := range []struct {
		prog *waggle.Program
		want string
	}{
		{coll.Programs["too_far"], `reads its arguments up to byte 48 (args[5]), and there are 4 arguments (32 bytes)`},
		{xdp, `program "xdp" is a XDP program: arguments are for raw tracepoint programs`},
		{nil, "attach to probe request: nil program"},
	} {
		if _, err := link.AttachProbe(p, c.prog, link.ProbeOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error with %q", err, c.want)
		}
	}
	if p.Enabled() {
		t.Error("a refused program is attached")
	}
}

// TestConcurrentCounts: 8 goroutines fire at once; the map read from Go
// counts every fire, as the link's Stats do, with an array (the C
// program's atomic add) and a per-CPU array (each slot's own value,
// summed).
func TestConcurrentCounts(t *testing.T) {
	obj := buildObject(t)
	const goroutines, each = 8, 2000
	fire := func(p *probe.Point) {
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					p.Fire(uint64(g*each+i), 0, 0, 0)
				}
			}()
		}
		wg.Wait()
	}
	for _, eng := range engines() {
		t.Run(eng.String(), func(t *testing.T) {
			coll := loadObject(t, obj, eng)
			p := newRequest(t)
			l := attach(t, p, coll.Programs["on_request"], link.ProbeOptions{})
			m, counter := newCounter(t, ebpf.PerCPUArray, eng)
			lc := attach(t, p, counter, link.ProbeOptions{})
			fire(p)
			if n := fires(t, coll); n != goroutines*each {
				t.Errorf("array: the map counts %d fires, want %d", n, goroutines*each)
			}
			if n := count(t, m); n != goroutines*each {
				t.Errorf("per-CPU array: the map counts %d fires, want %d", n, goroutines*each)
			}
			for _, s := range []probe.Stats{l.Stats(), lc.Stats()} {
				if s.Runs != goroutines*each || s.Errors != 0 {
					t.Errorf("Stats %+v, want %d runs", s, goroutines*each)
				}
			}
		})
	}
}
