package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoPrometheusClient checks that waggle, for each target of
// .goreleaser.yaml, links neither Prometheus' Go client nor protobuf: every
// package linked into a binary runs its initialisation in every process,
// and theirs cost about a millisecond of CPU per command (docs/BENCHMARKS.md,
// "Third round: a CLI without Prometheus' client"). Package metrics writes
// the exposition itself; metrics/promcollector, which imports the client,
// is for Go services.
func TestNoPrometheusClient(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH: cannot list waggle's dependencies")
	}
	var cfg goreleaserConfig
	readYAML(t, ".goreleaser.yaml", &cfg)
	b := cfg.Builds[0]
	for _, goos := range b.Goos {
		for _, goarch := range b.Goarch {
			t.Run(goos+"/"+goarch, func(t *testing.T) {
				cmd := exec.Command(goTool, "list", "-deps", ".")
				cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("go list -deps: %v", err)
				}
				deps := strings.Fields(string(out))
				if len(deps) < 50 || !strings.Contains(string(out), "github.com/waggle-ebpf/waggle/metrics\n") {
					t.Fatalf("go list -deps listed %d packages, without package metrics:\n%s", len(deps), out)
				}
				for _, p := range deps {
					for _, banned := range []string{"github.com/prometheus/", "google.golang.org/protobuf"} {
						if strings.HasPrefix(p, banned) {
							t.Errorf("waggle links %s (for %s/%s): Prometheus' client and protobuf are for metrics/promcollector only", p, goos, goarch)
						}
					}
				}
			})
		}
	}
}
