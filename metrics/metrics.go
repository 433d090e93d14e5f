// Package metrics exports what waggle's programs do as Prometheus metrics:
// per program, its runs, their durations and verdicts (Program); per map,
// its entries, labelled with the fields of the map's BTF key type (Maps);
// and serves them over HTTP in Prometheus' text exposition format
// (Listen, Handler).
//
// A Collector gives its metric families at each scrape; a Registry
// collects several. The package does not use Prometheus' Go client
// (github.com/prometheus/client_golang), whose initialisation costs every
// process that links it about a millisecond of CPU: Go services that use
// that client register waggle's collectors in their own registry through
// package metrics/promcollector.
//
// It also reads maps and ring buffer records with their BTF types
// (MapView, Layout, AppendJSON), which waggle's terminal view uses too.
//
//	reg := metrics.NewRegistry(
//		metrics.NewProgram("firewall", []string{"drop", "pass"}),
//		metrics.NewMaps(coll, spec, metrics.MapOptions{}))
//	srv, err := metrics.Listen("127.0.0.1:9090", reg)
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Program counts the runs of one program:
//
//	waggle_program_runs_total{program}               runs that ended normally
//	waggle_program_run_errors_total{program}         runs that failed
//	waggle_program_run_duration_seconds{program}     histogram of run times
//	waggle_program_verdicts_total{program,verdict}   runs by verdict
//
// Its Observe methods are safe for concurrent use and do not allocate for
// the verdicts given to NewProgram; it implements link.Observer, which
// every hook takes (and packet.LiveObserver), and Collector.
type Program struct {
	name   string
	runs   atomic.Uint64
	errors atomic.Uint64
	// buckets[i] counts the runs of at most bounds[i] seconds (and more
	// than the bound before); the last one counts the rest.
	buckets []atomic.Uint64
	sumNs   atomic.Int64              // the runs' total time, in nanoseconds
	bounds  []float64                 // DurationBuckets when NewProgram ran
	known   map[string]*atomic.Uint64 // read-only after NewProgram

	mu    sync.Mutex
	other map[string]*atomic.Uint64 // verdicts not given to NewProgram
}

// DurationBuckets are the buckets of the run time histogram, in seconds:
// 100ns to about 3ms, doubling.
var DurationBuckets = exponentialBuckets(100e-9, 2, 16)

// exponentialBuckets returns n bounds, the first start, each factor times
// the one before.
func exponentialBuckets(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

// NewProgram makes the metrics of the program named name, whose verdicts
// are named verdicts (their counters start at 0).
func NewProgram(name string, verdicts []string) *Program {
	p := &Program{
		name:    name,
		buckets: make([]atomic.Uint64, len(DurationBuckets)+1),
		bounds:  append([]float64(nil), DurationBuckets...),
		known:   map[string]*atomic.Uint64{},
		other:   map[string]*atomic.Uint64{},
	}
	for _, v := range verdicts {
		p.known[v] = new(atomic.Uint64)
	}
	return p
}

// ObserveRun counts a run that returned verdict after d.
func (p *Program) ObserveRun(verdict string, d time.Duration) {
	p.runs.Add(1)
	p.observe(d)
	if c, ok := p.known[verdict]; ok {
		c.Add(1)
		return
	}
	p.mu.Lock()
	c := p.other[verdict]
	if c == nil {
		c = new(atomic.Uint64)
		p.other[verdict] = c
	}
	p.mu.Unlock()
	c.Add(1)
}

// ObserveError counts a run that failed after d.
func (p *Program) ObserveError(d time.Duration) {
	p.errors.Add(1)
	p.observe(d)
}

// observe adds d to the run time histogram.
func (p *Program) observe(d time.Duration) {
	s, i := d.Seconds(), 0
	for i < len(p.bounds) && s > p.bounds[i] {
		i++
	}
	p.buckets[i].Add(1)
	p.sumNs.Add(int64(d))
}

// Collect appends the program's families to fams.
func (p *Program) Collect(fams []Family) ([]Family, error) {
	prog := Label{Name: "program", Value: p.name}
	one := func(v uint64) []Metric { return []Metric{{Labels: []Label{prog}, Value: float64(v)}} }
	h := &HistogramValue{Buckets: make([]Bucket, len(p.bounds))}
	for i, bound := range p.bounds {
		h.Count += p.buckets[i].Load()
		h.Buckets[i] = Bucket{UpperBound: bound, Count: h.Count}
	}
	h.Count += p.buckets[len(p.bounds)].Load()
	h.Sum = float64(p.sumNs.Load()) / 1e9

	verdicts := make([]Metric, 0, len(p.known))
	add := func(v string, c *atomic.Uint64) {
		verdicts = append(verdicts, Metric{Labels: []Label{prog, {Name: "verdict", Value: v}}, Value: float64(c.Load())})
	}
	for v, c := range p.known {
		add(v, c)
	}
	p.mu.Lock()
	for v, c := range p.other {
		add(v, c)
	}
	p.mu.Unlock()
	return append(fams,
		Family{Name: "waggle_program_runs_total", Help: "Runs of the program that ended normally.", Type: Counter, Metrics: one(p.runs.Load())},
		Family{Name: "waggle_program_run_errors_total", Help: "Runs of the program that failed.", Type: Counter, Metrics: one(p.errors.Load())},
		Family{Name: "waggle_program_run_duration_seconds", Help: "How long runs of the program took.", Type: Histogram,
			Metrics: []Metric{{Labels: []Label{prog}, Histogram: h}}},
		Family{Name: "waggle_program_verdicts_total", Help: "Runs of the program by verdict.", Type: Counter, Metrics: verdicts},
	), nil
}

// Handler serves c's metrics in the text exposition format (ContentType)
// to any GET or HEAD request. What Gather could not collect is left out;
// its error follows the metrics as a comment line ("# waggle: ...").
func Handler(c Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "metrics: method "+r.Method+" not allowed (GET or HEAD)", http.StatusMethodNotAllowed)
			return
		}
		fams, err := Gather(c)
		b := AppendText(nil, fams)
		if err != nil {
			b = append(b, "# waggle: "...)
			b = appendEscaped(b, err.Error(), false)
			b = append(b, '\n')
		}
		w.Header().Set("Content-Type", ContentType)
		_, _ = w.Write(b)
	})
}

// Server serves metrics over HTTP; see Listen.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen serves the metrics of c (a Registry, most often) at
// http://ADDR/metrics (and at /) until Close, as Handler does. addr is
// host:port; port 0 picks a free port (see Addr).
func Listen(addr string, c Collector) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := Handler(c)
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.Handle("/{$}", h)
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting requests in progress finish for up to a
// second.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
