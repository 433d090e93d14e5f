// Package probe declares probe points in a Go program: named places on its
// hot paths, with typed integer arguments, where eBPF programs attached at
// run time see every passage, as the kernel's raw tracepoints do.
//
// A point is declared once (New, or MustNew for a package-level
// variable) and fired where the event happens:
//
//	var reqDone = probe.MustNew("http_request_done",
//		probe.Arg{Name: "status", Type: probe.Int32},
//		probe.Arg{Name: "bytes", Type: probe.Uint64})
//
//	reqDone.Fire(uint64(status), uint64(n))
//
// With nothing attached, Fire costs a load and a branch (see
// docs/BENCHMARKS.md). Programs are raw tracepoint programs:
// SEC("raw_tp/http_request_done") (or "raw_tracepoint/..."), whose context
// is the kernel's struct bpf_raw_tracepoint_args, __u64 args[], one slot
// per declared argument in the declared order: a signed argument
// sign-extended to 64 bits, an unsigned one zero-extended, as the kernel
// passes a tracepoint's arguments. They attach with link.AttachProbe and
// detach with the link's Close, while the service runs and fires from any
// number of goroutines; several programs attached to one point run in
// attach order, on the firing goroutine. A run that fails (a fault, an
// exhausted budget) is counted in the attachment's Stats and the service
// goes on.
//
// Only integer arguments exist in this version: a program never receives
// the address of Go memory. (libbpf's SEC("usdt/...") programs are not
// accepted: their context is the registers of a user-space probe, read
// through libbpf's argument specifications, which a Go call site does not
// have.)
package probe

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waggle-ebpf/waggle"
)

// MaxArgs is the most arguments a point may declare: the slots of the
// kernel's struct bpf_raw_tracepoint_args.
const MaxArgs = waggle.MaxArgs

// Type is the type of an argument: the values Fire accepts for it.
type Type uint8

// The argument types. A signed value is passed sign-extended to 64 bits
// (uint64(int64(v)), which is what Go's conversion uint64(v) of a signed
// integer does), an unsigned one zero-extended; Bool is 0 or 1.
const (
	Int64 Type = iota + 1
	Int32
	Int16
	Int8
	Uint64
	Uint32
	Uint16
	Uint8
	Bool
)

var typeNames = [...]string{Int64: "int64", Int32: "int32", Int16: "int16", Int8: "int8",
	Uint64: "uint64", Uint32: "uint32", Uint16: "uint16", Uint8: "uint8", Bool: "bool"}

// String is the type's Go name.
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// bits is the width of the type's values; signed says whether they are
// sign-extended.
func (t Type) bits() (bits uint, signed bool) {
	switch t {
	case Int64:
		return 64, true
	case Int32:
		return 32, true
	case Int16:
		return 16, true
	case Int8:
		return 8, true
	case Uint64:
		return 64, false
	case Uint32:
		return 32, false
	case Uint16:
		return 16, false
	case Uint8:
		return 8, false
	case Bool:
		return 1, false
	}
	return 0, false
}

// Arg is a declared argument: its name (for messages and listings) and
// type.
type Arg struct {
	Name string
	Type Type
}

// check is a narrow argument's range check: the slot holds a valid value
// when shifting it left then back (arithmetically if signed) gives it
// back.
type check struct {
	index  int
	shift  uint
	signed bool
}

// Point is a probe point. Fire it from any number of goroutines; attach
// programs with link.AttachProbe.
type Point struct {
	name   string
	args   []Arg
	checks []check

	// attached is the list of attachments in attach order, nil when there
	// is none; it is replaced, never changed, under mu.
	attached atomic.Pointer[[]*Attachment]
	mu       sync.Mutex

	badFires atomic.Uint64
	lastBad  atomic.Pointer[errBox]
}

type errBox struct{ err error }

// New declares a probe point. The name is what programs name in their
// section, SEC("raw_tp/NAME"): letters, digits and underscores, not
// starting with a digit (a C identifier, as the kernel's tracepoint
// names). At most MaxArgs arguments, each with a known type; their names
// must be distinct identifiers too.
func New(name string, args ...Arg) (*Point, error) {
	if err := checkIdent(name); err != nil {
		return nil, fmt.Errorf("probe %q: the name %w", name, err)
	}
	if len(args) > MaxArgs {
		return nil, fmt.Errorf("probe %s: %d arguments, at most %d", name, len(args), MaxArgs)
	}
	p := &Point{name: name, args: append([]Arg(nil), args...)}
	seen := make(map[string]bool)
	for i, a := range args {
		if err := checkIdent(a.Name); err != nil {
			return nil, fmt.Errorf("probe %s: argument %d: the name %q %w", name, i, a.Name, err)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("probe %s: argument %d: the name %s is used twice", name, i, a.Name)
		}
		seen[a.Name] = true
		bits, signed := a.Type.bits()
		if bits == 0 {
			return nil, fmt.Errorf("probe %s: argument %d (%s): unknown type %v", name, i, a.Name, a.Type)
		}
		if bits < 64 {
			p.checks = append(p.checks, check{index: i, shift: 64 - bits, signed: signed})
		}
	}
	return p, nil
}

// MustNew is New for package-level declarations with constant arguments:
// it panics where New returns an error.
func MustNew(name string, args ...Arg) *Point {
	p, err := New(name, args...)
	if err != nil {
		panic(err)
	}
	return p
}

func checkIdent(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return fmt.Errorf("has %q at byte %d: use letters, digits and underscores, not starting with a digit", c, i)
		}
	}
	return nil
}

// Name is the point's name.
func (p *Point) Name() string { return p.name }

// Args are the point's declared arguments.
func (p *Point) Args() []Arg { return append([]Arg(nil), p.args...) }

// String describes the point as a declaration: "http_request_done(status
// int32, bytes uint64)".
func (p *Point) String() string {
	var b strings.Builder
	b.WriteString(p.name)
	b.WriteByte('(')
	for i, a := range p.args {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %v", a.Name, a.Type)
	}
	b.WriteByte(')')
	return b.String()
}

// Enabled says whether any program is attached: a caller may skip
// computing costly arguments when it is false.
func (p *Point) Enabled() bool { return p.attached.Load() != nil }

// Fire passes the point with its arguments, one per declared argument, in
// order: every attached program runs on them, in attach order, before
// Fire returns. With nothing attached it only loads a pointer. Fire never
// fails: a run that fails is counted in its attachment's Stats; a fire
// with the wrong number of arguments, or a value outside its type (a
// uint8 of 300, a negative int32 not sign-extended), runs nothing and is
// counted in Stats.BadFires.
func (p *Point) Fire(args ...uint64) {
	if a := p.attached.Load(); a != nil {
		p.fire(*a, args)
	}
}

func (p *Point) fire(atts []*Attachment, args []uint64) {
	if len(args) != len(p.args) {
		p.badCount(len(args))
		return
	}
	if p.checks != nil && !p.valid(args) {
		return // counted
	}
	for _, a := range atts {
		if a.observe != nil {
			a.runObserved(args)
		} else if _, err := a.runner.Run(args); err != nil {
			a.failed(err)
		}
	}
}

// valid checks the values of the narrow arguments (p.checks), counting a
// bad fire; a point with only 64-bit arguments has none to check.
func (p *Point) valid(args []uint64) bool {
	for _, c := range p.checks {
		v := args[c.index]
		ok := v<<c.shift>>c.shift == v
		if c.signed {
			ok = int64(v)<<c.shift>>c.shift == int64(v)
		}
		if !ok {
			p.badValue(c.index, v)
			return false
		}
	}
	return true
}

// badCount and badValue count a bad fire, out of fire's line (which
// keeps its registers for the runs).
//
//go:noinline
func (p *Point) badCount(n int) {
	p.bad(fmt.Errorf("probe %s: fired with %d arguments, declared %d", p.name, n, len(p.args)))
}

//go:noinline
func (p *Point) badValue(i int, v uint64) {
	a := p.args[i]
	p.bad(fmt.Errorf("probe %s: argument %d (%s %v) is %#x, outside its type", p.name, i, a.Name, a.Type, v))
}

func (p *Point) bad(err error) {
	p.badFires.Add(1)
	p.lastBad.Store(&errBox{err})
}

// PointStats are a point's own counts.
type PointStats struct {
	// BadFires counts the fires that ran nothing because their
	// arguments did not match the declaration; LastBadFire says why the
	// last one did not.
	BadFires    uint64
	LastBadFire error
	// Attached is the number of programs attached now.
	Attached int
}

// Stats returns the point's counts.
func (p *Point) Stats() PointStats {
	s := PointStats{BadFires: p.badFires.Load()}
	if b := p.lastBad.Load(); b != nil {
		s.LastBadFire = b.err
	}
	if a := p.attached.Load(); a != nil {
		s.Attached = len(*a)
	}
	return s
}

// Options bound the runs of an attached program.
type Options struct {
	// Budget is the most instructions one run may execute (0:
	// waggle.DefaultBudget); a run that exhausts it fails.
	Budget uint64
	// Timeout, if not 0, is how long one run may take; each run then
	// reads the clock.
	Timeout time.Duration
	// Observe, if not nil, is told the outcome of every run: the program's
	// return value and the run's duration, or the run's error. It is
	// called on the firing goroutine, from every goroutine that fires:
	// it must be safe for concurrent use and quick. Runs are timed only
	// when it is set.
	Observe func(ret uint64, d time.Duration, err error)
}

// Attachment is a program attached to a point, from Attach to Detach.
// link.AttachProbe wraps it in a link.Link; use that.
type Attachment struct {
	point   *Point
	prog    *waggle.Program
	runner  *waggle.ArgsRunner
	observe func(uint64, time.Duration, error)

	errs     atomic.Uint64
	lastErr  atomic.Pointer[errBox]
	detached atomic.Bool
	once     sync.Once
}

// Attach attaches prog, a raw tracepoint program, to the point: from its
// return, every Fire runs it after the programs attached before it. It
// refuses a program of another type, and a verified program that reads
// more arguments than the point declares, naming both. It is what
// link.AttachProbe builds on.
func (p *Point) Attach(prog *waggle.Program, opts Options) (*Attachment, error) {
	if prog == nil {
		return nil, fmt.Errorf("attach to probe %s: nil program", p.name)
	}
	r, err := prog.NewArgsRunner(len(p.args), waggle.ArgsOptions{Budget: opts.Budget, Timeout: opts.Timeout})
	if err != nil {
		return nil, fmt.Errorf("attach to probe %s: %w", p, err)
	}
	a := &Attachment{point: p, prog: prog, runner: r, observe: opts.Observe}
	p.mu.Lock()
	defer p.mu.Unlock()
	var list []*Attachment
	if old := p.attached.Load(); old != nil {
		list = append(list, *old...)
	}
	list = append(list, a)
	p.attached.Store(&list)
	return a, nil
}

func (a *Attachment) runObserved(args []uint64) {
	start := time.Now()
	v, err := a.runner.Run(args)
	d := time.Since(start)
	if err != nil {
		a.failed(err)
	}
	a.observe(v, d, err)
}

func (a *Attachment) failed(err error) {
	if a.detached.Load() {
		return // a fire that raced Detach: refused, not run
	}
	a.errs.Add(1)
	a.lastErr.Store(&errBox{err})
}

// Detach removes the program from the point: when Detach returns, no run
// of it from this point is in progress and none starts. It waits for the
// runs in progress of the programs that share the program's CPU slots
// (its collection's). It may be called more than once.
func (a *Attachment) Detach() {
	a.once.Do(func() {
		a.detached.Store(true)
		p := a.point
		p.mu.Lock()
		var list []*Attachment
		for _, b := range *p.attached.Load() {
			if b != a {
				list = append(list, b)
			}
		}
		if len(list) == 0 {
			p.attached.Store(nil)
		} else {
			p.attached.Store(&list)
		}
		p.mu.Unlock()
		// A fire that loaded the old list may still reach the runner:
		// the closed runner refuses it (not a run, not counted as one).
		_ = a.runner.Close()
	})
}

// Point is the point the program is attached to.
func (a *Attachment) Point() *Point { return a.point }

// Program is the attached program.
func (a *Attachment) Program() *waggle.Program { return a.prog }

// Stats are the counts of an attached program's runs.
type Stats struct {
	// Runs counts the runs that returned; Errors those that failed (a
	// fault, an exhausted budget, a timeout, the program closed while
	// attached), and LastError is the last failure.
	Runs, Errors uint64
	LastError    error
}

// Stats returns the attachment's counts. It waits for the runs in
// progress on each CPU slot in turn.
func (a *Attachment) Stats() Stats {
	runs, _ := a.runner.Counts()
	s := Stats{Runs: runs, Errors: a.errs.Load()}
	if b := a.lastErr.Load(); b != nil {
		s.LastError = b.err
	}
	return s
}

// Section returns the probe point a program's ELF section names:
// "raw_tp/NAME" and "raw_tracepoint/NAME" name the point NAME.
func Section(section string) (name string, ok bool) {
	for _, prefix := range []string{"raw_tp/", "raw_tracepoint/"} {
		if n, found := strings.CutPrefix(section, prefix); found && checkIdent(n) == nil {
			return n, true
		}
	}
	return "", false
}
