// Package metricstest reads the test cases of package metrics' text
// exposition (metrics/testdata/text/cases.json), which the tests of
// metrics and of metrics/promcollector share.
package metricstest

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/waggle-ebpf/waggle/metrics"
)

// Case is one test case: the families that each of its collectors gives.
type Case struct {
	Name       string
	Collectors []metrics.Collector
	// Err, if not "", is a part of the error Gather must return.
	Err string
}

// Static is a Collector of fixed families.
type Static []metrics.Family

// Collect appends the families to fams.
func (s Static) Collect(fams []metrics.Family) ([]metrics.Family, error) {
	return append(fams, s...), nil
}

// The JSON of a case. Numbers are strings, so that they can be NaN,
// +Inf and -Inf; labels are [name, value] pairs, in the order given to
// the collector.
type jsonCase struct {
	Name       string         `json:"name"`
	Collectors [][]jsonFamily `json:"collectors"`
	Err        string         `json:"err"`
}

type jsonFamily struct {
	Name    string       `json:"name"`
	Help    string       `json:"help"`
	Type    string       `json:"type"`
	Metrics []jsonMetric `json:"metrics"`
}

type jsonMetric struct {
	Labels    [][2]string    `json:"labels"`
	Value     string         `json:"value"`
	Histogram *jsonHistogram `json:"histogram"`
}

type jsonHistogram struct {
	Buckets [][2]string `json:"buckets"` // [upper bound, cumulative count]
	Count   uint64      `json:"count"`
	Sum     string      `json:"sum"`
}

// Load reads the cases of file.
func Load(file string) ([]Case, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var jcs []jsonCase
	if err := json.Unmarshal(b, &jcs); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var cases []Case
	for _, jc := range jcs {
		c := Case{Name: jc.Name, Err: jc.Err}
		for _, jfs := range jc.Collectors {
			var s Static
			for _, jf := range jfs {
				f, err := family(jf)
				if err != nil {
					return nil, fmt.Errorf("%s: case %s: family %s: %w", file, jc.Name, jf.Name, err)
				}
				s = append(s, f)
			}
			c.Collectors = append(c.Collectors, s)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func family(jf jsonFamily) (metrics.Family, error) {
	f := metrics.Family{Name: jf.Name, Help: jf.Help}
	switch jf.Type {
	case "counter":
		f.Type = metrics.Counter
	case "gauge":
		f.Type = metrics.Gauge
	case "histogram":
		f.Type = metrics.Histogram
	case "invalid":
		f.Type = 99
	default:
		return f, fmt.Errorf("type %q", jf.Type)
	}
	for _, jm := range jf.Metrics {
		var m metrics.Metric
		for _, l := range jm.Labels {
			m.Labels = append(m.Labels, metrics.Label{Name: l[0], Value: l[1]})
		}
		var err error
		if jm.Value != "" {
			if m.Value, err = strconv.ParseFloat(jm.Value, 64); err != nil {
				return f, err
			}
		}
		if jh := jm.Histogram; jh != nil {
			h := &metrics.HistogramValue{Count: jh.Count}
			if h.Sum, err = strconv.ParseFloat(jh.Sum, 64); err != nil {
				return f, err
			}
			for _, jb := range jh.Buckets {
				var b metrics.Bucket
				if b.UpperBound, err = strconv.ParseFloat(jb[0], 64); err != nil {
					return f, err
				}
				if b.Count, err = strconv.ParseUint(jb[1], 10, 64); err != nil {
					return f, err
				}
				h.Buckets = append(h.Buckets, b)
			}
			m.Histogram = h
		}
		f.Metrics = append(f.Metrics, m)
	}
	return f, nil
}
