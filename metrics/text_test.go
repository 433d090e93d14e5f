package metrics_test

import (
	"flag"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/metrics/internal/metricstest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/text")

// serve returns what Handler serves for c: the body and its Content-Type.
func serve(t *testing.T, c metrics.Collector) (string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(c).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String(), rec.Header().Get("Content-Type")
}

// TestText checks the exposition of each case of testdata/text/cases.json
// against its golden file, testdata/text/NAME.prom (go test -update
// rewrites them), and that Prometheus' text parser reads it.
func TestText(t *testing.T) {
	cases, err := metricstest.Load("testdata/text/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			reg := metrics.NewRegistry(tc.Collectors...)
			_, gerr := reg.Gather()
			switch {
			case tc.Err == "" && gerr != nil:
				t.Errorf("Gather: %v", gerr)
			case tc.Err != "" && (gerr == nil || !strings.Contains(gerr.Error(), tc.Err)):
				t.Errorf("Gather: error %v, want one containing %q", gerr, tc.Err)
			}
			body, ct := serve(t, reg)
			if ct != "text/plain; version=0.0.4; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			golden := filepath.Join("testdata", "text", tc.Name+".prom")
			if *update {
				if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if body != string(want) {
				t.Errorf("exposition:\n%s\nwant (%s):\n%s", body, golden, want)
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := p.TextToMetricFamilies(strings.NewReader(body))
			if err != nil {
				t.Fatalf("Prometheus' parser: %v", err)
			}
			if n := strings.Count(body, "# TYPE "); len(fams) != n {
				t.Errorf("Prometheus' parser read %d families, the exposition has %d", len(fams), n)
			}
		})
	}
}

// TestGatherErrors checks what Gather refuses and names beyond the cases
// of cases.json: text that is not UTF-8, a nil collector, a collector's
// own error.
func TestGatherErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fams metricstest.Static
		want string
	}{
		{"label value not UTF-8", metricstest.Static{{Name: "g", Type: metrics.Gauge,
			Metrics: []metrics.Metric{{Labels: []metrics.Label{{Name: "a", Value: "\xff"}}}}}},
			`metrics: family g: label a: value "\xff" is not UTF-8`},
		{"help not UTF-8", metricstest.Static{{Name: "g", Help: "\xfe", Type: metrics.Gauge,
			Metrics: []metrics.Metric{{}}}}, "metrics: family g: help text is not UTF-8"},
		{"empty name", metricstest.Static{{Type: metrics.Gauge, Metrics: []metrics.Metric{{}}}},
			`metrics: invalid family name ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fams, err := metrics.NewRegistry(tc.fams, nil).Gather()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if len(fams) != 0 {
				t.Errorf("families %+v, want none", fams)
			}
		})
	}
	// A collector's error is passed on, with the families it gave.
	body, _ := serve(t, failing{})
	if want := "# HELP up Half up.\n# TYPE up gauge\nup 0.5\n# waggle: map m: cannot read\\nit\n"; body != want {
		t.Errorf("body:\n%q\nwant\n%q", body, want)
	}
}

type failing struct{}

func (failing) Collect(fams []metrics.Family) ([]metrics.Family, error) {
	return append(fams, metrics.Family{Name: "up", Help: "Half up.", Type: metrics.Gauge, Metrics: []metrics.Metric{{Value: 0.5}}}),
		errString("map m: cannot read\nit")
}

type errString string

func (e errString) Error() string { return string(e) }

// FuzzText checks that any help text, label value and value is written so
// that Prometheus' parser reads them back unchanged.
func FuzzText(f *testing.F) {
	f.Add("help", "value", 1.5)
	f.Add("a \\ b\nc \"d\"", "\\\"\n", math.Inf(-1))
	f.Add("", "", math.NaN())
	f.Fuzz(func(t *testing.T, help, value string, v float64) {
		reg := metrics.NewRegistry(metricstest.Static{{Name: "fuzz_total", Help: help, Type: metrics.Counter,
			Metrics: []metrics.Metric{{Labels: []metrics.Label{{Name: "l", Value: value}}, Value: v}}}})
		fams, err := reg.Gather()
		if err != nil {
			return // not UTF-8: refused
		}
		text := string(metrics.AppendText(nil, fams))
		p := expfmt.NewTextParser(model.LegacyValidation)
		parsed, err := p.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		pf := parsed["fuzz_total"]
		if pf == nil || len(pf.Metric) != 1 || len(pf.Metric[0].Label) != 1 {
			t.Fatalf("%q parsed as %v", text, parsed)
		}
		got := pf.Metric[0].GetCounter().GetValue()
		// The parser drops the blanks that start a help text, as it reads
		// the blanks between "# HELP NAME" and the text.
		if pf.GetHelp() != strings.TrimLeft(help, " \t") || pf.Metric[0].Label[0].GetValue() != value ||
			!(got == v || math.IsNaN(got) && math.IsNaN(v)) {
			t.Errorf("%q parsed as help %q, label %q, value %v", text, pf.GetHelp(), pf.Metric[0].Label[0].GetValue(), got)
		}
	})
}
