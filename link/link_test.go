package link

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/metrics"
)

// The program metrics observe any hook's runs.
var _ Observer = (*metrics.Program)(nil)

// fakeLoop is a hook's loop for the runner's tests: it records that it
// ended, and its release records how often it ran and whether the loop
// had ended by then.
type fakeLoop struct {
	loopEnded     atomic.Bool
	releases      atomic.Int32
	releasedEarly atomic.Bool
	releaseErr    error
}

func (f *fakeLoop) release() error {
	f.releases.Add(1)
	if !f.loopEnded.Load() {
		f.releasedEarly.Store(true)
	}
	return f.releaseErr
}

// TestRunner: how the runner every Link shares reports the ends of its
// loop, and releases the hook's resources once, after the loop.
func TestRunner(t *testing.T) {
	boom := errors.New("boom")
	released := errors.New("release failed")
	for _, tc := range []struct {
		name       string
		loop       func(ctx context.Context) error // the hook's loop
		byItself   bool                            // the loop ends by itself: Wait before Close
		releaseErr error
		wantWait   error
		wantClose  error
	}{
		{name: "closed", loop: func(ctx context.Context) error { <-ctx.Done(); return nil }},
		{name: "closed, returns the context's error",
			loop: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		{name: "closed, wraps the context's error",
			loop: func(ctx context.Context) error { <-ctx.Done(); return fmt.Errorf("poll: %w", ctx.Err()) }},
		{name: "closed, fails on the way out",
			loop:     func(ctx context.Context) error { <-ctx.Done(); return boom },
			wantWait: boom},
		{name: "ends by itself", loop: func(context.Context) error { return nil }, byItself: true},
		{name: "fails by itself", loop: func(context.Context) error { return boom }, byItself: true, wantWait: boom},
		{name: "fails with context.Canceled of its own",
			loop: func(context.Context) error { return context.Canceled }, byItself: true, wantWait: context.Canceled},
		{name: "release fails", loop: func(ctx context.Context) error { <-ctx.Done(); return nil },
			releaseErr: released, wantClose: released},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLoop{releaseErr: tc.releaseErr}
			var r runner
			r.start(func(ctx context.Context) error {
				defer f.loopEnded.Store(true)
				return tc.loop(ctx)
			}, f.release)
			if tc.byItself {
				if err := r.Wait(); err != tc.wantWait {
					t.Errorf("Wait before Close: %v, want %v", err, tc.wantWait)
				}
				if f.releases.Load() != 0 {
					t.Error("the hook's resources were released before Close")
				}
			}
			for i := range 3 {
				if err := r.Close(); err != tc.wantClose {
					t.Errorf("Close #%d: %v, want %v", i+1, err, tc.wantClose)
				}
			}
			if !f.loopEnded.Load() {
				t.Error("Close returned before the loop")
			}
			if err := r.Wait(); err != tc.wantWait {
				t.Errorf("Wait after Close: %v, want %v", err, tc.wantWait)
			}
			if n := f.releases.Load(); n != 1 || f.releasedEarly.Load() {
				t.Errorf("released %d times (before the loop ended: %v), want once after", n, f.releasedEarly.Load())
			}
			if d1, d2 := r.duration(), r.duration(); d1 != d2 || d1 < 0 {
				t.Errorf("the duration of an ended loop moves: %v, then %v", d1, d2)
			}
		})
	}
}

// TestRunnerCloseRacesWait: Wait and Close from many goroutines at once,
// while the loop runs. Run with -race.
func TestRunnerCloseRacesWait(t *testing.T) {
	f := &fakeLoop{}
	started := make(chan struct{})
	var r runner
	r.start(func(ctx context.Context) error {
		defer f.loopEnded.Store(true)
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, f.release)
	<-started
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- r.Wait()
		}()
		go func() {
			defer wg.Done()
			err := r.Close()
			if !f.loopEnded.Load() {
				err = errors.New("Close returned before the loop")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.releases.Load(); got != 1 {
		t.Errorf("released %d times, want once", got)
	}
}

func TestInfoString(t *testing.T) {
	live := loadPrograms(t, "../testdata/live/live.o")
	fw := loadPrograms(t, "../examples/firewall/firewall.o")
	for _, tc := range []struct {
		name string
		info Info
		want string
	}{
		{"bridge",
			Info{Hook: "packet", Target: "wA <-> wB", Programs: []*waggle.Program{fw["firewall"]}, Duration: 12400 * time.Millisecond,
				Counts: []Count{{"packets", 1234}, {"dropped", 5}, {"errors", 0}}},
			"firewall on wA <-> wB — 12s, 1234 packets, 5 dropped, 0 errors"},
		{"two programs, no counts",
			Info{Hook: "packet", Target: "eth0", Programs: []*waggle.Program{live["xdp_observe"], live["xdp_reflect"]}, Duration: 90 * time.Second},
			"xdp_observe, xdp_reflect on eth0 — 1m30s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.info.String(); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}

// loadPrograms loads an object's programs for the test.
func loadPrograms(t *testing.T, path string) map[string]*waggle.Program {
	t.Helper()
	return loadCollection(t, path).Programs
}

// loadCollection loads an object for the test.
func loadCollection(t *testing.T, path string) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec(path)
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
