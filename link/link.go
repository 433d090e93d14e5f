package link

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/waggle-ebpf/waggle"
)

// Link is one or more programs attached to a hook: they run on its events
// from the attach function's return until Close. Every hook's Link type
// (PacketLink, ...) implements it; the set of methods may grow, so only
// this package implements it.
type Link interface {
	// Close detaches the programs: it stops the hook, waits until its
	// goroutines have returned (no run is in progress after it) and
	// releases what the hook opened. It may be called several times and
	// from several goroutines at once; every call waits for the first and
	// returns its error. The link must be closed even when Wait has
	// returned.
	Close() error
	// Wait blocks until the hook ends: by itself (its event source is
	// exhausted), because it failed, or because Close stopped it. It
	// returns the hook's failure, or nil when the hook ended normally or
	// was closed. Any number of goroutines may wait, before or after the
	// end.
	Wait() error
	// Info describes the link and its counts so far. It is safe to call
	// at any time, also while the hook runs and after Close.
	Info() Info

	isLink()
}

// Info describes a link the same way whatever its hook, for a status
// line, metrics or a terminal view.
type Info struct {
	// Hook is the kind of hook: "packet".
	Hook string
	// Target is what the programs are attached to, as the hook names it:
	// "eth0", "wA <-> wB" (a bridge).
	Target string
	// Programs are the attached programs.
	Programs []*waggle.Program
	// Attached is when the hook started; Duration how long it has run
	// since: until now, or until it ended.
	Attached time.Time
	Duration time.Duration
	// Runs counts the runs of the programs that returned, whatever their
	// verdict; RunErrors those that failed (a fault, an exhausted budget,
	// a timeout).
	Runs, RunErrors uint64
	// Counts are the hook's own counts, the most telling first, as the
	// summary of one line shows them (the packet hook's: packets,
	// dropped, errors).
	Counts []Count
}

// Count is one of a hook's counts: 1234 "packets".
type Count struct {
	Name  string
	Value uint64
}

// String summarises the link on one line: the programs, the target, how
// long it has run (in whole seconds) and the counts, as in "firewall on
// wA <-> wB — 12s, 1234 packets, 5 dropped, 0 errors".
func (i Info) String() string {
	var b strings.Builder
	for n, p := range i.Programs {
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name())
	}
	fmt.Fprintf(&b, " on %s — %s", i.Target, i.Duration.Round(time.Second))
	for _, c := range i.Counts {
		fmt.Fprintf(&b, ", %d %s", c.Value, c.Name)
	}
	return b.String()
}

// Observer is told the outcome of every run of a link's program. The hook
// calls it from all its goroutines at once, on its hot path: it must be
// safe for concurrent use and quick. metrics.Program implements it.
type Observer interface {
	// ObserveRun is a run that returned the verdict named, after d. The
	// hook documents its verdicts' names (the packet hook:
	// packet.LiveVerdictNames).
	ObserveRun(verdict string, d time.Duration)
	// ObserveError is a run that failed after d.
	ObserveError(d time.Duration)
}

// Runs are the options of the runs of a link's program, which every
// hook's options embed.
type Runs struct {
	// Budget is the most instructions one run may execute (0:
	// waggle.DefaultBudget); a run that exhausts it fails.
	Budget uint64
	// Timeout, if not 0, is how long one run may take
	// (waggle.RunOptions.Timeout); a run that takes longer fails.
	Timeout time.Duration
	// Observer, if not nil, is told the outcome of every run.
	Observer Observer
}

// runner is what every Link shares: the hook's loop on a goroutine of its
// own, a context that Close cancels, and the bookkeeping of Close and
// Wait. An attach function opens what the hook needs, then calls start
// last; the Link's Close, Wait and Info delegate to it.
type runner struct {
	attached time.Time
	cancel   context.CancelFunc
	release  func() error

	done  chan struct{} // closed when the loop has returned
	err   error         // the loop's error, written before done is closed
	ended time.Time     // when the loop returned, written before done is closed

	closeOnce sync.Once
	closeErr  error
}

// start runs loop on a new goroutine until it returns by itself or Close
// cancels its context; Close then calls release, once. A loop that
// returns its context's error because Close cancelled it has ended
// normally.
func (r *runner) start(loop func(ctx context.Context) error, release func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	r.attached = time.Now()
	r.cancel, r.release, r.done = cancel, release, make(chan struct{})
	go func() {
		err := loop(ctx)
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			err = nil
		}
		r.err, r.ended = err, time.Now()
		close(r.done)
	}()
}

// startIdle is start for a hook without a loop of its own, whose events
// come from other goroutines (the probe hook's: the service's, which
// fire): it runs until Close, which then calls release, once, without
// waiting for a goroutine to be scheduled.
func (r *runner) startIdle(release func() error) {
	r.attached = time.Now()
	r.release, r.done = release, make(chan struct{})
	r.cancel = func() {
		r.ended = time.Now()
		close(r.done)
	}
}

// Close cancels the loop's context, waits for the loop to return and
// releases the hook's resources, the first time; later calls wait for the
// first and return its error.
func (r *runner) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		<-r.done
		if r.release != nil {
			r.closeErr = r.release()
		}
	})
	return r.closeErr
}

// Wait blocks until the loop has returned and returns its error.
func (r *runner) Wait() error {
	<-r.done
	return r.err
}

// duration is how long the loop has run: until now, or until it returned.
func (r *runner) duration() time.Duration {
	select {
	case <-r.done:
		return r.ended.Sub(r.attached)
	default:
		return time.Since(r.attached)
	}
}
