package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// k8sObject is the part of a Kubernetes object that TestDeployManifest
// checks.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				HostNetwork bool `yaml:"hostNetwork"`
				Containers  []struct {
					Name  string   `yaml:"name"`
					Image string   `yaml:"image"`
					Args  []string `yaml:"args"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
						HostPort      int    `yaml:"hostPort"`
					} `yaml:"ports"`
					ReadinessProbe *struct {
						HTTPGet struct {
							Path string `yaml:"path"`
							Port string `yaml:"port"`
						} `yaml:"httpGet"`
					} `yaml:"readinessProbe"`
					SecurityContext *struct {
						Privileged               *bool `yaml:"privileged"`
						AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
						ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
						Capabilities             struct {
							Add  []string `yaml:"add"`
							Drop []string `yaml:"drop"`
						} `yaml:"capabilities"`
					} `yaml:"securityContext"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// documentedImage returns the image that docs/DEPLOY.md tells to build:
// the -t of its "docker build -t IMAGE ." line.
func documentedImage(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../docs/DEPLOY.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^docker build -t (\S+) \.$`).FindSubmatch(data)
	if m == nil {
		t.Fatal(`docs/DEPLOY.md has no line "docker build -t IMAGE ."`)
	}
	return string(m[1])
}

// TestDeployManifest checks deploy/daemonset.yaml: a DaemonSet of the
// image DEPLOY.md builds, running waggle attach on the node's network with
// NET_RAW as its only capability, not privileged, serving metrics on the
// port it declares and annotates for Prometheus, with the program from a
// ConfigMap; and deploy/prometheus.yaml's two scrape configurations.
func TestDeployManifest(t *testing.T) {
	f, err := os.Open("../../deploy/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ds *k8sObject
	dec := yaml.NewDecoder(f)
	for {
		var obj k8sObject
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("deploy/daemonset.yaml: %v", err)
		}
		if obj.Kind == "DaemonSet" {
			ds = &obj
		}
	}
	if ds == nil {
		t.Fatal("deploy/daemonset.yaml has no DaemonSet")
	}
	if ds.APIVersion != "apps/v1" {
		t.Errorf("apiVersion %q, want apps/v1", ds.APIVersion)
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostNetwork {
		t.Error("hostNetwork is not true: waggle would see the pod's veth, not the node's interfaces")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if want := documentedImage(t); c.Image != want {
		t.Errorf("image %q, but docs/DEPLOY.md builds %q", c.Image, want)
	}

	// The command line: waggle attach --iface=… --metrics=HOST:PORT PROG.
	if len(c.Args) == 0 || c.Args[0] != "attach" {
		t.Fatalf("args %q do not start with attach", c.Args)
	}
	flags := map[string]string{}
	var positional []string
	for _, a := range c.Args[1:] {
		if name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "="); ok && strings.HasPrefix(a, "-") {
			flags[name] = value
		} else {
			positional = append(positional, a)
		}
	}
	if flags["iface"] == "" {
		t.Errorf("args %q: no --iface=IFACE", c.Args)
	}
	_, portText, err := net.SplitHostPort(flags["metrics"])
	if err != nil {
		t.Fatalf("args %q: --metrics=%q: %v", c.Args, flags["metrics"], err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("--metrics port %q: %v", portText, err)
	}
	// The flags are attach's own.
	fs := flagSet(command{name: "attach", run: cmdAttach})
	for name := range flags {
		if fs.Lookup(name) == nil {
			t.Errorf("args: waggle attach has no flag --%s", name)
		}
	}

	// The port: declared, on the host, probed and annotated.
	i := slices.IndexFunc(c.Ports, func(p struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		HostPort      int    `yaml:"hostPort"`
	}) bool {
		return p.Name == "metrics"
	})
	if i < 0 {
		t.Fatal("no container port named metrics")
	}
	if p := c.Ports[i]; p.ContainerPort != port || p.HostPort != port {
		t.Errorf("metrics port: containerPort %d, hostPort %d, but --metrics serves %d", p.ContainerPort, p.HostPort, port)
	}
	ann := ds.Spec.Template.Metadata.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != portText || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("annotations %v: want prometheus.io/scrape \"true\", port %q, path /metrics", ann, portText)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/metrics" || c.ReadinessProbe.HTTPGet.Port != "metrics" {
		t.Errorf("readinessProbe %+v: want GET /metrics on port metrics", c.ReadinessProbe)
	}

	// Security: NET_RAW only, nothing privileged.
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("no securityContext")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged: true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []string{"NET_RAW"}) {
		t.Errorf("capabilities drop %q add %q, want drop [ALL] add [NET_RAW]", sc.Capabilities.Drop, sc.Capabilities.Add)
	}

	// The program: the one positional argument, in a ConfigMap's mount.
	if len(positional) != 1 {
		t.Fatalf("args %q: want one PROG.o", c.Args)
	}
	fromConfigMap := false
	for _, m := range c.VolumeMounts {
		if !strings.HasPrefix(positional[0], strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name != "" {
				fromConfigMap = true
			}
		}
	}
	if !fromConfigMap {
		t.Errorf("the program %s is not in a mounted ConfigMap", positional[0])
	}

	// Prometheus: one job by the pods' annotations, one with static
	// targets on the metrics port.
	var prom struct {
		ScrapeConfigs []struct {
			JobName             string `yaml:"job_name"`
			KubernetesSDConfigs []struct {
				Role string `yaml:"role"`
			} `yaml:"kubernetes_sd_configs"`
			RelabelConfigs []struct {
				SourceLabels []string `yaml:"source_labels"`
				Action       string   `yaml:"action"`
			} `yaml:"relabel_configs"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "deploy/prometheus.yaml", &prom)
	var byAnnotation, static bool
	for _, sc := range prom.ScrapeConfigs {
		if len(sc.KubernetesSDConfigs) > 0 && sc.KubernetesSDConfigs[0].Role == "pod" {
			for _, r := range sc.RelabelConfigs {
				if r.Action == "keep" && slices.Contains(r.SourceLabels, "__meta_kubernetes_pod_annotation_prometheus_io_scrape") {
					byAnnotation = true
				}
			}
		}
		for _, s := range sc.StaticConfigs {
			for _, target := range s.Targets {
				if !strings.HasSuffix(target, ":"+portText) {
					t.Errorf("static target %s is not on port %s", target, portText)
				}
				static = true
			}
		}
	}
	if !byAnnotation || !static {
		t.Errorf("deploy/prometheus.yaml: a job by annotation %v, with static targets %v; want both", byAnnotation, static)
	}
}

// dockerInstruction is one instruction of a Dockerfile.
type dockerInstruction struct {
	op   string // FROM, RUN, …, upper case
	args string
}

// parseDockerfile splits a Dockerfile into instructions: comments and
// blank lines dropped, continuation lines joined.
func parseDockerfile(data []byte) []dockerInstruction {
	var out []dockerInstruction
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if l, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(l + " ")
			continue
		}
		cur.WriteString(line)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstruction{strings.ToUpper(op), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// TestDockerfile checks that the Dockerfile builds ./cmd/waggle with
// CGO_ENABLED=0 and copies that binary onto a distroless static or
// scratch base, run as a non-root user, with waggle as the entry point;
// and that its header builds the image docs/DEPLOY.md and the DaemonSet
// name.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("docker build -t "+documentedImage(t)+" .")) {
		t.Errorf("the Dockerfile's header does not build %s, the image docs/DEPLOY.md names", documentedImage(t))
	}
	type stage struct {
		base, name string
		insns      []dockerInstruction
	}
	var stages []*stage
	for _, in := range parseDockerfile(data) {
		if in.op == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--platform=") })
			st := &stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.op != "ARG" {
				t.Fatalf("%s before FROM", in.op)
			}
			continue
		}
		stages[len(stages)-1].insns = append(stages[len(stages)-1].insns, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and the image", len(stages))
	}

	// The build stage: go build ./cmd/waggle -o BIN with CGO_ENABLED=0.
	var build *stage
	var binary string
	for _, st := range stages[:len(stages)-1] {
		cgoOff := false
		for _, in := range st.insns {
			if in.op == "ENV" && strings.Contains(in.args, "CGO_ENABLED=0") {
				cgoOff = true
			}
			if in.op != "RUN" || !strings.Contains(in.args, "go build") || !strings.Contains(in.args, "./cmd/waggle") {
				continue
			}
			if !cgoOff && !strings.Contains(in.args, "CGO_ENABLED=0") {
				t.Errorf("RUN %s: CGO_ENABLED is not 0", in.args)
			}
			f := strings.Fields(in.args)
			if i := slices.Index(f, "-o"); i >= 0 && i+1 < len(f) {
				build, binary = st, f[i+1]
			}
		}
	}
	if build == nil {
		t.Fatal("no stage runs go build -o BIN ./cmd/waggle")
	}
	if !strings.HasPrefix(build.base, "golang:") {
		t.Errorf("the build stage is FROM %s, want golang:…", build.base)
	}

	// The image: distroless static or scratch, the binary, non-root,
	// waggle as the entry point.
	final := stages[len(stages)-1]
	if final.base != "scratch" && !strings.HasPrefix(final.base, "gcr.io/distroless/static") {
		t.Errorf("the image is FROM %s, want gcr.io/distroless/static… or scratch", final.base)
	}
	var installed, user, entrypoint string
	for _, in := range final.insns {
		switch in.op {
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from="+build.name && f[1] == binary {
				installed = f[2]
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		}
	}
	if installed == "" {
		t.Fatalf("the image does not COPY --from=%s %s", build.name, binary)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if entrypoint != `["`+installed+`"]` || filepath.Base(installed) != "waggle" {
		t.Errorf("ENTRYPOINT %s, want [%q]", entrypoint, installed)
	}
}
