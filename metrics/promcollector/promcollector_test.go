package promcollector_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/metrics/internal/metricstest"
	"github.com/waggle-ebpf/waggle/metrics/promcollector"
)

// flat is a metric family in a form that compares: one line per sample.
func flat(mf *dto.MetricFamily) []string {
	typ := mf.GetType()
	out := []string{fmt.Sprintf("family %s %s %q", mf.GetName(), typ, mf.GetHelp())}
	num := func(v float64) string {
		switch {
		case math.IsNaN(v):
			return "NaN"
		case v == 0:
			return "0" // -0 too: the text format writes it 0
		}
		return fmt.Sprint(v)
	}
	for _, m := range mf.Metric {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		slices.Sort(ls)
		labels := strings.Join(ls, ",")
		switch typ {
		case dto.MetricType_COUNTER:
			out = append(out, labels+" "+num(m.GetCounter().GetValue()))
		case dto.MetricType_GAUGE:
			out = append(out, labels+" "+num(m.GetGauge().GetValue()))
		case dto.MetricType_HISTOGRAM:
			h := m.GetHistogram()
			out = append(out, fmt.Sprintf("%s count %d sum %s", labels, h.GetSampleCount(), num(h.GetSampleSum())))
			for _, b := range h.Bucket {
				if !math.IsInf(b.GetUpperBound(), +1) { // the parser keeps the +Inf line as a bucket
					out = append(out, fmt.Sprintf("%s le %s %d", labels, num(b.GetUpperBound()), b.GetCumulativeCount()))
				}
			}
		default:
			out = append(out, labels+" unexpected type")
		}
	}
	return out
}

// compare checks that metrics' exposition of c, read by Prometheus' text
// parser, holds the same families, types, help texts, labels and values
// as a client_golang registry gathers from promcollector.New(c), and
// that the client writes the same text.
func compare(t *testing.T, c metrics.Collector) {
	t.Helper()
	fams, gerr := metrics.Gather(c)
	text := metrics.AppendText(nil, fams)
	p := expfmt.NewTextParser(model.LegacyValidation)
	parsed, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("Prometheus' parser: %v\n%s", err, text)
	}
	var ours []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range parsed {
			if !yield(n) {
				return
			}
		}
	}) {
		ours = append(ours, flat(parsed[name])...)
	}

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(promcollector.New(c)); err != nil {
		t.Fatal(err)
	}
	gathered, err := reg.Gather()
	switch {
	case gerr == nil && err != nil:
		t.Errorf("client_golang's Gather: %v", err)
	case gerr != nil && err == nil:
		t.Errorf("client_golang's Gather: no error; metrics.Gather: %v", gerr)
	}
	var theirs []string
	var theirText bytes.Buffer
	for _, mf := range gathered {
		theirs = append(theirs, flat(mf)...)
		if _, err := expfmt.MetricFamilyToText(&theirText, mf); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Errorf("metrics' exposition, parsed:\n%s\nclient_golang through promcollector:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	if theirText.String() != string(text) {
		t.Errorf("metrics' text:\n%s\nclient_golang's text:\n%s", text, theirText.String())
	}
}

// TestCases compares the two for each case of metrics'
// testdata/text/cases.json. client_golang's Gather fails for the cases
// that metrics.Gather finds invalid, as it does for invalid metrics.
func TestCases(t *testing.T) {
	cases, err := metricstest.Load("../testdata/text/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { compare(t, metrics.NewRegistry(tc.Collectors...)) })
	}
}

// TestWaggleCollectors compares the two for a program's metrics and a
// per-CPU map's.
func TestWaggleCollectors(t *testing.T) {
	prog := metrics.NewProgram("fw", []string{"drop", "pass"})
	for _, d := range []time.Duration{50, 150, 300, 900, 5000, 4 * time.Millisecond} {
		prog.ObserveRun("pass", d)
	}
	prog.ObserveRun("other", time.Microsecond)
	prog.ObserveError(time.Second)
	m, err := waggle.NewMapWithOptions(&ebpf.MapSpec{Name: "pc", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 3},
		waggle.MapOptions{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Put(uint32(2), []uint64{5, 7}); err != nil {
		t.Fatal(err)
	}
	maps := metrics.NewMaps(&waggle.Collection{Maps: map[string]*waggle.Map{"pc": m}}, nil, metrics.MapOptions{})
	compare(t, metrics.NewRegistry(prog, maps))
}

// TestErrorReported checks that what metrics.Gather refuses reaches
// client_golang's Gather as an error naming it, and the rest is gathered.
func TestErrorReported(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollector.New(metricstest.Static{
		{Name: "bad-name", Type: metrics.Gauge, Metrics: []metrics.Metric{{}}},
		{Name: "good", Help: "Kept.", Type: metrics.Gauge, Metrics: []metrics.Metric{{Value: 2}}},
	}))
	fams, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), `invalid family name "bad-name"`) {
		t.Errorf("error %v, want one naming bad-name", err)
	}
	if len(fams) != 1 || fams[0].GetName() != "good" || fams[0].Metric[0].GetGauge().GetValue() != 2 {
		t.Errorf("families %v, want good 2", fams)
	}
}
