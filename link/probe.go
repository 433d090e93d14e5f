package link

import (
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/probe"
)

// ProbeOptions are the options of AttachProbe.
type ProbeOptions struct {
	// Runs bound the program's runs and observe them: the Observer is
	// told every run with the verdict "ran" (a raw tracepoint's return
	// value means nothing), or its failure. It is called on the firing
	// goroutines, and timing each run costs two clock reads.
	Runs
}

// ProbeLink is a raw tracepoint program attached to a probe point of the
// Go program itself (package probe); see AttachProbe.
type ProbeLink struct {
	att *probe.Attachment
	r   runner
}

var _ Link = (*ProbeLink)(nil)

// AttachProbe attaches prog, a raw tracepoint program written for the
// point (SEC("raw_tp/NAME"), NAME being p.Name(): probe.Section reads it),
// to p: from its return, every p.Fire runs it on the goroutine that fires,
// on the point's arguments (ctx->args[0], ...), after the programs
// attached before it, until Close. The error names the program whose type
// is not raw tracepoint, or that reads more arguments than p declares.
// A run that fails (a fault, an exhausted budget, the program closed) is
// counted (Stats, Info.RunErrors), and the firing goes on.
func AttachProbe(p *probe.Point, prog *waggle.Program, opts ProbeOptions) (*ProbeLink, error) {
	po := probe.Options{Budget: opts.Budget, Timeout: opts.Timeout}
	if obs := opts.Observer; obs != nil {
		po.Observe = func(_ uint64, d time.Duration, err error) {
			if err != nil {
				obs.ObserveError(d)
				return
			}
			obs.ObserveRun("ran", d)
		}
	}
	att, err := p.Attach(prog, po)
	if err != nil {
		return nil, err
	}
	l := &ProbeLink{att: att}
	l.r.startIdle(func() error {
		att.Detach()
		return nil
	})
	return l, nil
}

// Close detaches the program: when it returns, no run of it from the
// point is in progress and none starts. Later calls return the first
// one's result.
func (l *ProbeLink) Close() error { return l.r.Close() }

// Wait blocks until the link is closed; a probe link does not end by
// itself.
func (l *ProbeLink) Wait() error { return l.r.Wait() }

// Info describes the link: hook "probe", the target the point's
// declaration ("NAME(ARG TYPE, ...)"), the program's runs and errors, and
// the counts runs and errors.
func (l *ProbeLink) Info() Info {
	s := l.att.Stats()
	return Info{
		Hook:      "probe",
		Target:    l.att.Point().String(),
		Programs:  []*waggle.Program{l.att.Program()},
		Attached:  l.r.attached,
		Duration:  l.r.duration(),
		Runs:      s.Runs,
		RunErrors: s.Errors,
		Counts:    []Count{{"runs", s.Runs}, {"errors", s.Errors}},
	}
}

// Stats returns the program's runs from the point so far, its failures
// and the last failure. It is safe to call at any time, also after Close.
func (l *ProbeLink) Stats() probe.Stats { return l.att.Stats() }

func (l *ProbeLink) isLink() {}
