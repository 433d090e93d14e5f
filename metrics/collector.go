package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Type is the type of a metric family.
type Type uint8

// The types of metric families.
const (
	// Counter is a count that only goes up (or back to zero on a restart).
	Counter Type = iota + 1
	// Gauge is a value that goes up and down.
	Gauge
	// Histogram counts observations in buckets; its metrics carry a
	// Histogram instead of a Value.
	Histogram
)

// String is the type's name in the text exposition format: "counter",
// "gauge" or "histogram".
func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Family is a named metric with its help text, type, and the metrics of
// each of its label sets.
type Family struct {
	// Name is the family's name: letters, digits, underscores and colons,
	// not starting with a digit.
	Name string
	// Help says what the family counts.
	Help string
	Type Type
	// Metrics are the family's metrics, one per label set.
	Metrics []Metric
}

// Metric is one series of a family (or, for a histogram, its buckets, sum
// and count): its labels and value.
type Metric struct {
	// Labels are the metric's labels, in any order; the exposition sorts
	// them by name.
	Labels []Label
	// Value is the value of a Counter or Gauge.
	Value float64
	// Histogram is the value of a Histogram (nil for other types).
	Histogram *HistogramValue
}

// Label is a label's name and value.
type Label struct {
	Name, Value string
}

// HistogramValue is a histogram's state: its buckets, the number of
// observations and their sum.
type HistogramValue struct {
	// Buckets are the histogram's buckets by increasing upper bound, each
	// with the number of observations less than or equal to its bound
	// (cumulative). The +Inf bucket is implicit: its count is Count.
	Buckets []Bucket
	// Count is the number of observations.
	Count uint64
	// Sum is the sum of the observations.
	Sum float64
}

// Bucket is a histogram bucket: the observations less than or equal to
// UpperBound.
type Bucket struct {
	UpperBound float64
	Count      uint64
}

// Collector is a source of metrics, read at each scrape.
type Collector interface {
	// Collect appends the collector's families, as they are now, to fams
	// and returns the result, with an error naming what it could not read
	// (the families it returns are served nonetheless). It may be called
	// concurrently.
	Collect(fams []Family) ([]Family, error)
}

// Registry is a Collector of collectors: it collects all of them.
type Registry struct {
	mu         sync.Mutex
	collectors []Collector
}

// NewRegistry returns a registry holding the collectors (nil ones are
// left out).
func NewRegistry(collectors ...Collector) *Registry {
	r := &Registry{}
	for _, c := range collectors {
		r.Register(c)
	}
	return r
}

// Register adds c to the registry (nothing if c is nil). Clashes between
// collectors (two families of one name but different types or help texts,
// or one label set twice) are reported by Gather.
func (r *Registry) Register(c Collector) {
	if c == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collectors = append(r.collectors, c)
}

// Collect appends the families of every registered collector to fams, in
// the order they were registered, and returns the result and the
// collectors' errors.
func (r *Registry) Collect(fams []Family) ([]Family, error) {
	r.mu.Lock()
	cs := slices.Clone(r.collectors)
	r.mu.Unlock()
	var errs []error
	for _, c := range cs {
		var err error
		fams, err = c.Collect(fams)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return fams, errors.Join(errs...)
}

// Gather collects the registry's families as Gather does.
func (r *Registry) Gather() ([]Family, error) { return Gather(r) }

// Gather collects c's families and makes them ready to expose: families of
// the same name merged, sorted by name, each metric's labels sorted by
// name and a family's metrics sorted by their label values, empty
// families left out. It checks them too; what is invalid — a bad family or
// label name, an unknown type, a histogram without buckets or with "le"
// among its labels, a label value that is not UTF-8, two families of one
// name with different types or help texts, one label set twice in a
// family, a family named like another's histogram series — is left out
// and named in the error, and the rest returned.
func Gather(c Collector) ([]Family, error) {
	fams, err := c.Collect(nil)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	byName := map[string]int{}
	var out []Family
	for _, f := range fams {
		if err := checkFamily(&f); err != nil {
			errs = append(errs, err)
			continue
		}
		if len(f.Metrics) == 0 {
			continue
		}
		i, ok := byName[f.Name]
		if !ok {
			byName[f.Name] = len(out)
			f.Metrics = slices.Clone(f.Metrics)
			out = append(out, f)
			continue
		}
		g := &out[i]
		if g.Type != f.Type || g.Help != f.Help {
			errs = append(errs, fmt.Errorf("metrics: family %s collected twice, as %s %q and as %s %q", f.Name, g.Type, g.Help, f.Type, f.Help))
			continue
		}
		g.Metrics = append(g.Metrics, f.Metrics...)
	}
	for i := range out {
		f := &out[i]
		for j := range f.Metrics {
			m := &f.Metrics[j]
			if !slices.IsSortedFunc(m.Labels, compareLabelNames) {
				m.Labels = slices.Clone(m.Labels)
				slices.SortFunc(m.Labels, compareLabelNames)
			}
		}
		slices.SortStableFunc(f.Metrics, compareMetrics)
		// One label set twice: keep the first.
		kept := f.Metrics[:1]
		for _, m := range f.Metrics[1:] {
			if compareMetrics(kept[len(kept)-1], m) == 0 {
				errs = append(errs, fmt.Errorf("metrics: family %s: label set %s collected twice", f.Name, formatLabels(m.Labels)))
				continue
			}
			kept = append(kept, m)
		}
		f.Metrics = kept
	}
	// A histogram's series must not clash with another family's name.
	for _, f := range out {
		if f.Type != Histogram {
			continue
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if i, ok := byName[f.Name+suffix]; ok && out[i].Name != "" {
				errs = append(errs, fmt.Errorf("metrics: family %s clashes with the series of histogram %s", out[i].Name, f.Name))
				out[i].Name = ""
			}
		}
	}
	out = slices.DeleteFunc(out, func(f Family) bool { return f.Name == "" })
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out, errors.Join(errs...)
}

// checkFamily checks f's name, type and metrics.
func checkFamily(f *Family) error {
	if !validMetricName(f.Name) {
		return fmt.Errorf("metrics: invalid family name %q (want letters, digits, '_' and ':', not starting with a digit)", f.Name)
	}
	switch f.Type {
	case Counter, Gauge, Histogram:
	default:
		return fmt.Errorf("metrics: family %s: unknown type %d", f.Name, f.Type)
	}
	if !utf8.ValidString(f.Help) {
		return fmt.Errorf("metrics: family %s: help text is not UTF-8", f.Name)
	}
	for _, m := range f.Metrics {
		for i, l := range m.Labels {
			switch {
			case !validLabelName(l.Name):
				return fmt.Errorf("metrics: family %s: invalid label name %q (want letters, digits and '_', not starting with a digit or \"__\")", f.Name, l.Name)
			case f.Type == Histogram && l.Name == "le":
				return fmt.Errorf("metrics: histogram %s: label \"le\" is the buckets'", f.Name)
			case !utf8.ValidString(l.Value):
				return fmt.Errorf("metrics: family %s: label %s: value %q is not UTF-8", f.Name, l.Name, l.Value)
			}
			for _, o := range m.Labels[:i] {
				if o.Name == l.Name {
					return fmt.Errorf("metrics: family %s: label %s given twice", f.Name, l.Name)
				}
			}
		}
		if (f.Type == Histogram) != (m.Histogram != nil) {
			return fmt.Errorf("metrics: %s %s: the metric with labels %s has %s", f.Type, f.Name, formatLabels(m.Labels), valueKind(m))
		}
		if h := m.Histogram; h != nil {
			for i, b := range h.Buckets {
				switch {
				case math.IsNaN(b.UpperBound):
					return fmt.Errorf("metrics: histogram %s: bucket %d has bound NaN", f.Name, i)
				case i > 0 && b.UpperBound <= h.Buckets[i-1].UpperBound:
					return fmt.Errorf("metrics: histogram %s: bucket bounds not increasing (%g after %g)", f.Name, b.UpperBound, h.Buckets[i-1].UpperBound)
				case i > 0 && b.Count < h.Buckets[i-1].Count, b.Count > h.Count:
					return fmt.Errorf("metrics: histogram %s: bucket counts not cumulative (bucket le=%g: %d of %d)", f.Name, b.UpperBound, b.Count, h.Count)
				}
			}
		}
	}
	return nil
}

func valueKind(m Metric) string {
	if m.Histogram != nil {
		return "a histogram value"
	}
	return "no histogram value"
}

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

func compareLabelNames(a, b Label) int { return strings.Compare(a.Name, b.Name) }

// compareMetrics orders the metrics of a family (labels sorted) as
// Prometheus' client does: by their number of labels, then by their label
// values in order.
func compareMetrics(a, b Metric) int {
	if c := cmp.Compare(len(a.Labels), len(b.Labels)); c != 0 {
		return c
	}
	for i := range a.Labels {
		if c := strings.Compare(a.Labels[i].Value, b.Labels[i].Value); c != 0 {
			return c
		}
		if c := strings.Compare(a.Labels[i].Name, b.Labels[i].Name); c != 0 {
			return c
		}
	}
	return 0
}

func formatLabels(ls []Label) string {
	b := []byte{'{'}
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabel(b, l.Name, l.Value)
	}
	return string(append(b, '}'))
}
