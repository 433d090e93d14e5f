// Package metrics exports what waggle's programs do as Prometheus metrics
// (github.com/prometheus/client_golang): per program, its runs, their
// durations and verdicts (Program); per map, its entries, labelled with
// the fields of the map's BTF key type (Maps); and serves them over HTTP
// (Listen).
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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
// every hook takes (and packet.LiveObserver).
type Program struct {
	runs     prometheus.Counter
	errors   prometheus.Counter
	duration prometheus.Histogram
	verdicts *prometheus.CounterVec
	known    map[string]prometheus.Counter // read-only after NewProgram
}

// DurationBuckets are the buckets of the run time histogram, in seconds:
// 100ns to about 3ms, doubling.
var DurationBuckets = prometheus.ExponentialBuckets(100e-9, 2, 16)

// NewProgram makes the metrics of the program named name, whose verdicts
// are named verdicts (their counters start at 0).
func NewProgram(name string, verdicts []string) *Program {
	labels := prometheus.Labels{"program": name}
	p := &Program{
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waggle_program_runs_total", Help: "Runs of the program that ended normally.", ConstLabels: labels}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waggle_program_run_errors_total", Help: "Runs of the program that failed.", ConstLabels: labels}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "waggle_program_run_duration_seconds", Help: "How long runs of the program took.",
			ConstLabels: labels, Buckets: DurationBuckets}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waggle_program_verdicts_total", Help: "Runs of the program by verdict.", ConstLabels: labels},
			[]string{"verdict"}),
		known: map[string]prometheus.Counter{},
	}
	for _, v := range verdicts {
		p.known[v] = p.verdicts.WithLabelValues(v)
	}
	return p
}

// ObserveRun counts a run that returned verdict after d.
func (p *Program) ObserveRun(verdict string, d time.Duration) {
	p.runs.Inc()
	p.duration.Observe(d.Seconds())
	if c, ok := p.known[verdict]; ok {
		c.Inc()
		return
	}
	p.verdicts.WithLabelValues(verdict).Inc()
}

// ObserveError counts a run that failed after d.
func (p *Program) ObserveError(d time.Duration) {
	p.errors.Inc()
	p.duration.Observe(d.Seconds())
}

// Describe sends the descriptions of the program's metrics.
func (p *Program) Describe(ch chan<- *prometheus.Desc) {
	p.runs.Describe(ch)
	p.errors.Describe(ch)
	p.duration.Describe(ch)
	p.verdicts.Describe(ch)
}

// Collect sends the program's metrics.
func (p *Program) Collect(ch chan<- prometheus.Metric) {
	p.runs.Collect(ch)
	p.errors.Collect(ch)
	p.duration.Collect(ch)
	p.verdicts.Collect(ch)
}

// NewRegistry returns a registry holding the collectors (nil ones are
// left out). It panics if two collectors clash, as
// prometheus.Registry.MustRegister does.
func NewRegistry(collectors ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	for _, c := range collectors {
		if c != nil {
			reg.MustRegister(c)
		}
	}
	return reg
}

// Server serves metrics over HTTP; see Listen.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen serves the metrics of g at http://ADDR/metrics (and at /) until
// Close. addr is host:port; port 0 picks a free port (see Addr).
func Listen(addr string, g prometheus.Gatherer) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
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
