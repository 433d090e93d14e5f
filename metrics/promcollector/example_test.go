package promcollector_test

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/metrics/promcollector"
)

// A Go service that serves its metrics with Prometheus' client registers
// waggle's collectors in its registry (here a new one; often
// prometheus.DefaultRegisterer, served by promhttp.Handler).
func Example() {
	prog := metrics.NewProgram("firewall", []string{"drop", "pass"})
	prog.ObserveRun("pass", time.Microsecond)

	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollector.New(metrics.NewRegistry(prog)))

	fams, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fams {
		fmt.Println(f.GetName(), f.GetType(), len(f.GetMetric()))
	}
	// Output:
	// waggle_program_run_duration_seconds HISTOGRAM 1
	// waggle_program_run_errors_total COUNTER 1
	// waggle_program_runs_total COUNTER 1
	// waggle_program_verdicts_total COUNTER 2
}
