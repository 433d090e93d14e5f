// Package promcollector adapts waggle's metrics (package metrics) to
// Prometheus' Go client, github.com/prometheus/client_golang, for Go
// services that serve their metrics with that client:
//
//	prog := metrics.NewProgram("firewall", []string{"drop", "pass"})
//	prometheus.MustRegister(promcollector.New(
//		metrics.NewRegistry(prog, metrics.NewMaps(coll, spec, metrics.MapOptions{}))))
//
// It is the only package of waggle that imports the client (package
// metrics and the waggle command do not, to spare every process the
// client's initialisation).
package promcollector

import (
	"math"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waggle-ebpf/waggle/metrics"
)

// New returns a prometheus.Collector of c's metrics. At each Collect it
// gathers c (metrics.Gather) and sends its families as constant metrics
// of the same names, help texts, types, labels and values; what Gather
// reports as invalid is sent as an invalid metric carrying its error,
// which a prometheus.Registry reports from its Gather.
//
// The collector is unchecked (its Describe sends nothing), as the families
// of metrics.Maps depend on the maps' contents: a prometheus.Registry
// checks its metrics when it gathers them.
func New(c metrics.Collector) prometheus.Collector { return collector{c} }

type collector struct{ c metrics.Collector }

// Describe sends nothing: the collector is unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

// Collect sends c's metrics.
func (x collector) Collect(ch chan<- prometheus.Metric) {
	fams, err := metrics.Gather(x.c)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewInvalidDesc(err), err)
	}
	descs := map[string]*prometheus.Desc{}
	var names, values []string
	for _, f := range fams {
		for _, m := range f.Metrics {
			names, values = names[:0], values[:0]
			for _, l := range m.Labels {
				names = append(names, l.Name)
				values = append(values, l.Value)
			}
			key := f.Name + "\x00" + strings.Join(names, "\x00")
			d := descs[key]
			if d == nil {
				d = prometheus.NewDesc(f.Name, f.Help, names, nil)
				descs[key] = d
			}
			pm, err := constMetric(d, f.Type, m, values)
			if err != nil {
				pm = prometheus.NewInvalidMetric(d, err)
			}
			ch <- pm
		}
	}
}

func constMetric(d *prometheus.Desc, t metrics.Type, m metrics.Metric, values []string) (prometheus.Metric, error) {
	switch t {
	case metrics.Counter:
		return prometheus.NewConstMetric(d, prometheus.CounterValue, m.Value, values...)
	case metrics.Gauge:
		return prometheus.NewConstMetric(d, prometheus.GaugeValue, m.Value, values...)
	}
	h := m.Histogram
	buckets := make(map[float64]uint64, len(h.Buckets))
	for _, b := range h.Buckets {
		if !math.IsInf(b.UpperBound, +1) { // +Inf is the count
			buckets[b.UpperBound] = b.Count
		}
	}
	return prometheus.NewConstHistogram(d, h.Count, h.Sum, buckets, values...)
}
