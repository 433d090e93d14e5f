package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/waggle-ebpf/waggle/metrics"
)

// A program's metrics, written in the text exposition format (Listen and
// Handler serve the same over HTTP).
func Example() {
	prog := metrics.NewProgram("firewall", []string{"drop", "pass"})
	prog.ObserveRun("pass", 250*time.Nanosecond)
	prog.ObserveRun("drop", 2*time.Microsecond)

	reg := metrics.NewRegistry(prog)
	fams, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fams {
		if f.Type != metrics.Histogram { // the histogram has 18 lines
			_ = metrics.WriteText(os.Stdout, []metrics.Family{f})
		}
	}
	// Output:
	// # HELP waggle_program_run_errors_total Runs of the program that failed.
	// # TYPE waggle_program_run_errors_total counter
	// waggle_program_run_errors_total{program="firewall"} 0
	// # HELP waggle_program_runs_total Runs of the program that ended normally.
	// # TYPE waggle_program_runs_total counter
	// waggle_program_runs_total{program="firewall"} 2
	// # HELP waggle_program_verdicts_total Runs of the program by verdict.
	// # TYPE waggle_program_verdicts_total counter
	// waggle_program_verdicts_total{program="firewall",verdict="drop"} 1
	// waggle_program_verdicts_total{program="firewall",verdict="pass"} 1
}

// queueDepth is a Collector of one gauge.
type queueDepth struct{ depth func() int }

func (q queueDepth) Collect(fams []metrics.Family) ([]metrics.Family, error) {
	return append(fams, metrics.Family{
		Name: "myapp_queue_depth", Help: "Requests waiting.", Type: metrics.Gauge,
		Metrics: []metrics.Metric{{Labels: []metrics.Label{{Name: "queue", Value: "in"}}, Value: float64(q.depth())}},
	}), nil
}

// A collector of one's own, served beside waggle's.
func ExampleCollector() {
	reg := metrics.NewRegistry(queueDepth{func() int { return 3 }})
	srv := httptest.NewServer(metrics.Handler(reg)) // or metrics.Listen(addr, reg)
	defer srv.Close()

	fams, _ := reg.Gather()
	fmt.Print(string(metrics.AppendText(nil, fams)))
	// Output:
	// # HELP myapp_queue_depth Requests waiting.
	// # TYPE myapp_queue_depth gauge
	// myapp_queue_depth{queue="in"} 3
}
