package probe_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/probe"
)

// TestNewErrors: the declarations of testdata/declarations.txt are
// refused with their reasons.
func TestNewErrors(t *testing.T) {
	f, err := os.Open("testdata/declarations.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		decl, want, ok := strings.Cut(text, " => ")
		if !ok {
			t.Fatalf("testdata/declarations.txt:%d: no =>", line)
		}
		fields := strings.Fields(decl)
		name := strings.TrimPrefix(fields[0], "-")
		var args []probe.Arg
		for _, a := range fields[1:] {
			if a == "-" {
				args = append(args, probe.Arg{Type: probe.Int64})
				continue
			}
			an, at, _ := strings.Cut(a, ":")
			typ, err := strconv.Atoi(at)
			if err != nil {
				t.Fatalf("testdata/declarations.txt:%d: %v", line, err)
			}
			args = append(args, probe.Arg{Name: an, Type: probe.Type(typ)})
		}
		n++
		if _, err := probe.New(name, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("testdata/declarations.txt:%d: New(%q, %v): %v, want an error with %q", line, name, args, err, want)
		}
	}
	if n == 0 {
		t.Fatal("no case in testdata/declarations.txt")
	}
}

// TestSection: the sections that name a point.
func TestSection(t *testing.T) {
	for _, c := range []struct {
		section, name string
		ok            bool
	}{
		{"raw_tp/request", "request", true},
		{"raw_tracepoint/http_done", "http_done", true},
		{"raw_tp/", "", false},
		{"raw_tp/a/b", "", false},
		{"tp/syscalls/sys_enter_open", "", false},
		{"usdt/bin:prov:name", "", false},
		{"xdp", "", false},
	} {
		name, ok := probe.Section(c.section)
		if name != c.name || ok != c.ok {
			t.Errorf("Section(%q) = %q, %v; want %q, %v", c.section, name, ok, c.name, c.ok)
		}
	}
}

// TestBadFires: fires whose arguments do not fit the declaration run
// nothing and are counted.
func TestBadFires(t *testing.T) {
	m, prog := newCounter(t, ebpf.Array, waggle.EngineAuto)
	p := probe.MustNew("typed", probe.Arg{Name: "i8", Type: probe.Int8}, probe.Arg{Name: "u16", Type: probe.Uint16}, probe.Arg{Name: "b", Type: probe.Bool})
	l, err := link.AttachProbe(p, prog, link.ProbeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	neg := func(v int64) uint64 { return uint64(v) }
	for _, c := range []struct {
		args []uint64
		bad  string
	}{
		{[]uint64{neg(-128), 65535, 1}, ""},
		{[]uint64{127, 0, 0}, ""},
		{[]uint64{128, 0, 0}, "argument 0 (i8 int8) is 0x80, outside its type"},
		{[]uint64{neg(-129), 0, 0}, "argument 0 (i8 int8) is 0xffffffffffffff7f"},
		{[]uint64{0xff, 0, 0}, "argument 0 (i8 int8) is 0xff"}, // -1 not sign-extended
		{[]uint64{0, 65536, 0}, "argument 1 (u16 uint16) is 0x10000"},
		{[]uint64{0, 0, 2}, "argument 2 (b bool) is 0x2"},
		{[]uint64{0, 0}, "probe typed: fired with 2 arguments, declared 3"},
		{[]uint64{0, 0, 0, 0}, "fired with 4 arguments, declared 3"},
	} {
		before, runs := p.Stats().BadFires, count(t, m)
		p.Fire(c.args...)
		s := p.Stats()
		switch {
		case c.bad == "" && (s.BadFires != before || count(t, m) != runs+1):
			t.Errorf("Fire(%#x): bad (%v) or not run", c.args, s.LastBadFire)
		case c.bad != "" && (s.BadFires != before+1 || count(t, m) != runs):
			t.Errorf("Fire(%#x): not counted as bad, or run", c.args)
		case c.bad != "" && !strings.Contains(s.LastBadFire.Error(), c.bad):
			t.Errorf("Fire(%#x): %v, want %q", c.args, s.LastBadFire, c.bad)
		}
	}
}

// TestFailingRuns: a program that faults, exhausts its budget or passes
// its timeout fails every run; the runs are counted as errors with the reason, and the
// programs attached after it still run.
func TestFailingRuns(t *testing.T) {
	for _, eng := range engines() {
		t.Run(eng.String(), func(t *testing.T) {
			load := func(name, src string) *waggle.Program {
				prog, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: name, Type: ebpf.RawTracepoint, Instructions: mustAssemble(t, src)},
					waggle.ProgramOptions{Engine: eng, SkipVerification: true})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { prog.Close() })
				return prog
			}
			fault := load("fault", "mov %r1, 0x1000\nldxdw %r0, [%r1]\nexit")
			loop := load("loop", "mov %r0, 0\nja -1\nexit")
			m, counter := newCounter(t, ebpf.Array, eng)
			p := probe.MustNew("failing", probe.Arg{Name: "x", Type: probe.Uint64})
			lf, err := link.AttachProbe(p, fault, link.ProbeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer lf.Close()
			ll, err := link.AttachProbe(p, loop, link.ProbeOptions{Runs: link.Runs{Budget: 1000}})
			if err != nil {
				t.Fatal(err)
			}
			defer ll.Close()
			lt, err := link.AttachProbe(p, loop, link.ProbeOptions{Runs: link.Runs{Budget: 1 << 50, Timeout: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer lt.Close()
			lc, err := link.AttachProbe(p, counter, link.ProbeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer lc.Close()
			for i := range 10 {
				p.Fire(uint64(i))
			}
			var fe *waggle.MemoryFault
			if s := lf.Stats(); s.Runs != 0 || s.Errors != 10 || !errors.As(s.LastError, &fe) {
				t.Errorf("fault: %+v, want 10 errors with a memory fault", s)
			}
			if s := ll.Stats(); s.Runs != 0 || s.Errors != 10 || !errors.Is(s.LastError, waggle.ErrBudgetExhausted) {
				t.Errorf("loop: %+v, want 10 errors, the budget exhausted", s)
			}
			if s := lt.Stats(); s.Runs != 0 || s.Errors != 10 || !errors.Is(s.LastError, context.DeadlineExceeded) {
				t.Errorf("loop with a timeout: %+v, want 10 errors, the deadline exceeded", s)
			}
			if i := ll.Info(); i.RunErrors != 10 || i.Runs != 0 {
				t.Errorf("loop: Info %+v", i)
			}
			if s := lc.Stats(); s.Runs != 10 || s.Errors != 0 || count(t, m) != 10 {
				t.Errorf("counter: %+v, map %d; want 10 runs", s, count(t, m))
			}
		})
	}
}
