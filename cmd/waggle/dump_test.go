package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/packet"
)

var update = flag.Bool("update", false, "rewrite testdata/dump/* with the output of the examples' map dumps")

// dumpExamples are the examples run as their READMEs run them, on their
// packets or captures, with the program to run.
var dumpExamples = []struct {
	name, prog, data, pcap string
}{
	{name: "firewall", data: "packet.bin"},
	{name: "firewall_pcap", pcap: "traffic.pcap"},
	{name: "proto_count", pcap: "traffic.pcap"},
	{name: "flow_stats", pcap: "traffic.pcap"},
	{name: "ringbuf_events", data: "packet.bin"},
	{name: "tail_calls", prog: "dispatcher", data: "packet.bin"},
}

// exampleObject is the object of an example named name (firewall_pcap:
// firewall).
func exampleObject(name string) (dir, obj string) {
	base, _, _ := strings.Cut(name, "_pcap")
	dir = filepath.Join("..", "..", "examples", base)
	return dir, filepath.Join(dir, base+".o")
}

// checkDumpGolden compares got with testdata/dump/FILE, or with -update
// writes it.
func checkDumpGolden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", "dump", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", path, got, want)
	}
}

// TestDumpMapsExamples runs each example with --dump-maps, as text and
// as JSON, and compares the maps (without the run's timings) with
// testdata/dump/NAME.txt and NAME.json.
func TestDumpMapsExamples(t *testing.T) {
	for _, ex := range dumpExamples {
		t.Run(ex.name, func(t *testing.T) {
			dir, obj := exampleObject(ex.name)
			args := []string{"run", "--dump-maps", "--cpus", "2"}
			if ex.prog != "" {
				args = append(args, "-p", ex.prog)
			}
			if ex.data != "" {
				args = append(args, "--data-in", filepath.Join(dir, ex.data))
			} else {
				args = append(args, "--pcap", filepath.Join(dir, ex.pcap))
			}
			args = append(args, obj)

			code, stdout, stderr := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			// The maps: from the first "map " line on.
			i := strings.Index(stdout, "\nmap ")
			if i < 0 {
				t.Fatalf("no maps in\n%s", stdout)
			}
			checkDumpGolden(t, ex.name+".txt", stdout[i+1:])

			code, stdout, stderr = runCLI(t, "", append([]string{"run", "--json"}, args[1:]...)...)
			if code != 0 {
				t.Fatalf("--json: exit %d: %s", code, stderr)
			}
			var out struct {
				Maps json.RawMessage `json:"maps"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("--json: %v\n%s", err, stdout)
			}
			var b bytes.Buffer
			if err := json.Indent(&b, out.Maps, "", "  "); err != nil {
				t.Fatal(err)
			}
			b.WriteByte('\n')
			checkDumpGolden(t, ex.name+".json", b.String())
		})
	}
}

// TestWatchExamples draws the --watch tables of each example's listable
// maps and prog arrays after running it on its packets, and compares them with
// testdata/dump/NAME.watch.
func TestWatchExamples(t *testing.T) {
	for _, ex := range dumpExamples {
		t.Run(ex.name, func(t *testing.T) {
			dir, obj := exampleObject(ex.name)
			spec, err := waggle.LoadCollectionSpec(obj)
			if err != nil {
				t.Fatal(err)
			}
			coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()
			prog, err := pickProgram(coll, ex.prog)
			if err != nil {
				t.Fatal(err)
			}
			if ex.data != "" {
				data, err := os.ReadFile(filepath.Join(dir, ex.data))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := prog.Run(&waggle.RunOptions{Data: data}); err != nil {
					t.Fatal(err)
				}
			} else {
				f, err := os.Open(filepath.Join(dir, ex.pcap))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := packet.ProcessPcap(prog, f, nil, packet.Options{Workers: 1}); err != nil {
					t.Fatal(err)
				}
			}
			var b bytes.Buffer
			for _, name := range sortedMapNames(coll) {
				v := metrics.NewMapView(name, coll.Maps[name], spec.Maps[name])
				if v.Map.Type() == ebpf.ProgramArray || v.Map.Type() == ebpf.ArrayOfMaps || v.Map.Type() == ebpf.HashOfMaps {
					objs, err := v.Map.Objects()
					if err != nil {
						t.Fatal(err)
					}
					renderObjectMap(&b, v, objs, 10)
					continue
				}
				if !v.Listable() {
					continue
				}
				b.WriteString(renderMap(t, v, false, 10))
			}
			checkDumpGolden(t, ex.name+".watch", b.String())
		})
	}
}

func sortedMapNames(coll *waggle.Collection) []string {
	var names []string
	for n := range coll.Maps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestRingbufEventsDecodes checks that the ringbuf_events example's
// struct event is in its BTF, so --watch (and --dump-maps) decode its
// records.
func TestRingbufEventsDecodes(t *testing.T) {
	_, obj := exampleObject("ringbuf_events")
	spec, err := waggle.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	types, err := watchEventTypes("", coll, spec)
	if err != nil {
		t.Fatal(err)
	}
	if types["events"] == nil || types["events"].TypeName() != "event" {
		t.Fatalf("ring buffer events: type %v, want struct event", types["events"])
	}
	rec := []byte{10, 1, 9, 9, 10, 0, 0, 1, 0xe9, 0x14, 53, 0, 17, 0, 0, 0, 50, 0, 0, 0}
	if got, want := watchEventLine(types["events"], rec), `{"saddr":"10.1.9.9","daddr":"10.0.0.1","sport":5353,"dport":53,"protocol":17,"pad":"000000","len":50}`; got != want {
		t.Errorf("record:\n%s\nwant\n%s", got, want)
	}
}
