package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/packet"
)

const (
	firewallObj     = "../../examples/firewall/firewall.o"
	firewallTraffic = "../../examples/firewall/traffic.pcap"
	flowObj         = "../../examples/flow_stats/flow_stats.o"
	flowTraffic     = "../../examples/flow_stats/traffic.pcap"
)

// TestRunPcap runs the examples over their committed captures. The
// firewall's maps are empty: it drops the 10 malformed IPv4 packets of the
// 64 and passes the rest.
func TestRunPcap(t *testing.T) {
	tmp := t.TempDir()
	traffic, err := os.ReadFile(firewallTraffic)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(tmp, "truncated.pcap")
	if err := os.WriteFile(truncated, traffic[:len(traffic)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	sll := filepath.Join(tmp, "sll.pcap")
	if err := os.WriteFile(sll, append(append(bytes.Clone(traffic[:20]), 113), traffic[21:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	passed := filepath.Join(tmp, "passed.pcap")
	for _, tc := range []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
		written  int // packets in passed.pcap, if > 0
	}{
		{name: "firewall", args: []string{"run", firewallObj, "--pcap", firewallTraffic, "--pcap-out", passed},
			wantOut: []string{"Return value: 2 (the last packet's), duration (average): ", "ns per packet\n",
				"Packets: 64 (7499 bytes) in ", " with 1 worker: ", " packets/s, ", " ns/packet\n",
				"Verdicts: drop 10, pass 54\n", "Written: 54 packets to " + passed + "\n"},
			written: 54},
		{name: "firewall workers", args: []string{"run", "--workers", "3", "--pcap", firewallTraffic, "--pcap-out", passed, firewallObj},
			wantOut: []string{" with 3 workers: ", "Verdicts: drop 10, pass 54\n"}, written: 54},
		{name: "dump maps", args: []string{"run", firewallObj, "--pcap", firewallTraffic, "--dump-maps"},
			wantOut: []string{"Verdicts: drop 10, pass 54\n", "map drop_counts: 4 entries", "key 0 value 38", "key 3 value 10"}},
		{name: "stdin", stdin: string(traffic), args: []string{"run", flowObj, "--pcap", "-"},
			wantOut: []string{"Packets: 64 (7499 bytes)", "Verdicts: pass 64\n"}},
		{name: "pcap-out needs pcap", args: []string{"run", firewallObj, "--pcap-out", passed}, wantCode: 2,
			wantErr: []string{"--pcap-out needs --pcap"}},
		{name: "workers needs pcap", args: []string{"run", firewallObj, "--workers", "2"}, wantCode: 2,
			wantErr: []string{"--workers needs --pcap"}},
		{name: "no data with pcap", args: []string{"run", firewallObj, "--pcap", firewallTraffic, "--data", "00"}, wantCode: 2,
			wantErr: []string{"--data cannot be used with --pcap"}},
		{name: "no repeat with pcap", args: []string{"run", firewallObj, "--pcap", firewallTraffic, "--repeat", "3"}, wantCode: 2,
			wantErr: []string{"--repeat cannot be used with --pcap"}},
		{name: "workers zero", args: []string{"run", firewallObj, "--pcap", firewallTraffic, "--workers", "0"}, wantCode: 2,
			wantErr: []string{"--workers 0 must be at least 1"}},
		{name: "both stdin", args: []string{"run", "-", "--pcap", "-"}, wantCode: 2,
			wantErr: []string{"FILE and --pcap cannot both be standard input"}},
		{name: "missing capture", args: []string{"run", firewallObj, "--pcap", filepath.Join(tmp, "nope.pcap")}, wantCode: 1,
			wantErr: []string{"nope.pcap: no such file"}},
		{name: "not a packet program", args: []string{"run", "testdata/ret7.s", "--pcap", firewallTraffic}, wantCode: 1,
			wantErr: []string{"is of type RawMemory: packets run through XDP, tc (sched_cls, sched_act) and socket filter programs"}},
		{name: "link type", args: []string{"run", firewallObj, "--pcap", sll}, wantCode: 1,
			wantErr: []string{"sll.pcap: pcap header: link type 113 (LINUX_SLL (Linux cooked capture)) is not Ethernet (1)"}},
		{name: "truncated", args: []string{"run", firewallObj, "--pcap", truncated, "--pcap-out", passed}, wantCode: 1,
			wantOut: []string{"Packets: 63 ("},
			wantErr: []string{"truncated.pcap: record 64 at byte ", ": the file ends after "}},
		{name: "not a capture", args: []string{"run", firewallObj, "--pcap", firewallObj}, wantCode: 1,
			wantErr: []string{"not a pcap or pcapng file: it starts with 7f 45 4c 46"}},
		{name: "help", args: []string{"run", "--help"}, wantOut: []string{"-pcap FILE", "-pcap-out FILE", "-workers N", "With --pcap the program"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(passed)
			code, stdout, stderr := runCLI(t, tc.stdin, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			wantContains(t, "stdout", stdout, tc.wantOut)
			wantContains(t, "stderr", stderr, tc.wantErr)
			if tc.written > 0 {
				if n := countPackets(t, passed); n != tc.written {
					t.Errorf("%s holds %d packets, want %d", passed, n, tc.written)
				}
			}
		})
	}
}

func countPackets(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := packet.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := rd.Next(); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// TestRunPcapJSON: --json gives plain run's object with the capture's
// counts.
func TestRunPcapJSON(t *testing.T) {
	passed := filepath.Join(t.TempDir(), "passed.pcap")
	for _, tc := range []struct {
		name     string
		args     []string
		verdicts map[string]uint64
		written  bool
		maps     []string
	}{
		{"firewall", []string{"run", "--json", firewallObj, "--pcap", firewallTraffic}, map[string]uint64{"drop": 10, "pass": 54}, false, nil},
		{"firewall out", []string{"run", "--json", firewallObj, "--pcap", firewallTraffic, "--pcap-out", passed, "--workers", "2"}, map[string]uint64{"drop": 10, "pass": 54}, true, nil},
		{"flow_stats maps", []string{"run", "--json", "--dump-maps", flowObj, "--pcap", flowTraffic}, map[string]uint64{"pass": 64}, false, []string{"flows", "flow_misc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.HasPrefix(stdout, `{"program":`) || !strings.Contains(stdout, `,"retval":2,"duration_ns":`) {
				t.Errorf("the object does not start as plain run's: %s", stdout)
			}
			var got struct {
				Program          string            `json:"program"`
				Retval           uint64            `json:"retval"`
				DurationNS       int64             `json:"duration_ns"`
				Packets          uint64            `json:"packets"`
				Bytes            uint64            `json:"bytes"`
				Verdicts         map[string]uint64 `json:"verdicts"`
				NsPerPacket      float64           `json:"ns_per_packet"`
				PacketsPerSecond float64           `json:"packets_per_second"`
				Written          *uint64           `json:"written"`
				Maps             map[string][]any  `json:"maps"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			if got.Packets != 64 || got.Bytes != 7499 || got.Retval != 2 || got.NsPerPacket <= 0 || got.PacketsPerSecond <= 0 {
				t.Errorf("%+v", got)
			}
			if d := got.NsPerPacket - float64(got.DurationNS); d < -0.5 || d > 0.5 {
				t.Errorf("duration_ns %d is not ns_per_packet %f rounded", got.DurationNS, got.NsPerPacket)
			}
			if len(got.Verdicts) != len(tc.verdicts) {
				t.Errorf("verdicts %v, want %v", got.Verdicts, tc.verdicts)
			}
			for k, v := range tc.verdicts {
				if got.Verdicts[k] != v {
					t.Errorf("verdicts %v, want %v", got.Verdicts, tc.verdicts)
				}
			}
			if (got.Written != nil) != tc.written || (tc.written && *got.Written != 54) {
				t.Errorf("written: %v", got.Written)
			}
			if len(got.Maps) != len(tc.maps) {
				t.Errorf("maps: %v", got.Maps)
			}
			for _, m := range tc.maps {
				if len(got.Maps[m]) == 0 {
					t.Errorf("map %s is missing or empty", m)
				}
			}
		})
	}
}

// TestRunPcapWorkersSameOutput: the output capture is the same with one
// worker and with four.
func TestRunPcapWorkersSameOutput(t *testing.T) {
	tmp := t.TempDir()
	var outs [][]byte
	for _, w := range []string{"1", "4"} {
		out := filepath.Join(tmp, w+".pcap")
		if code, _, stderr := runCLI(t, "", "run", firewallObj, "--pcap", firewallTraffic, "--pcap-out", out, "--workers", w); code != 0 {
			t.Fatal(stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("the outputs of 1 and 4 workers differ")
	}
}

// TestProgressBar: the bar shows for large inputs only, at most 10 times
// a second, always at the end, and is erased.
func TestProgressBar(t *testing.T) {
	const mb = 1 << 20
	type call struct {
		at          time.Duration // since the start
		done, total int64
	}
	for _, tc := range []struct {
		name  string
		calls []call
		want  []string // the frames drawn, without the "\r\033[K" prefix
	}{
		{"small input", []call{{0, 1 * mb, 5 * mb}, {time.Second, 5 * mb, 5 * mb}}, nil},
		{"large input", []call{
			{0, 0, 20 * mb},
			{50 * time.Millisecond, 2 * mb, 20 * mb}, // too soon
			{150 * time.Millisecond, 5 * mb, 20 * mb},
			{200 * time.Millisecond, 6 * mb, 20 * mb}, // too soon
			{1200 * time.Millisecond, 20 * mb, 20 * mb},
			{1300 * time.Millisecond, 20 * mb, 20 * mb}, // nothing new
		}, []string{
			"[..............................]   0% 0.0/20.0 MB, 0s",
			"[#######.......................]  25% 5.0/20.0 MB, 100ms",
			"[##############################] 100% 20.0/20.0 MB, 1.2s",
		}},
		{"unknown size", []call{
			{0, 4 * mb, 0},
			{time.Second, 11 * mb, 0},
			{1010 * time.Millisecond, 12 * mb, 0}, // too soon
			{3 * time.Second, 30 * mb, 0},
		}, []string{"11.0 MB read, 0s", "30.0 MB read, 2s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			var now time.Time
			bar := &progressBar{w: &buf, now: func() time.Time { return now }}
			for _, c := range tc.calls {
				now = start.Add(c.at)
				bar.update(c.done, c.total)
			}
			bar.clear()
			var frames []string
			for _, f := range strings.Split(buf.String(), "\r\033[K") {
				if f != "" {
					frames = append(frames, f)
				}
			}
			if strings.Join(frames, "|") != strings.Join(tc.want, "|") {
				t.Errorf("frames:\n%q\nwant\n%q", frames, tc.want)
			}
			if len(tc.want) > 0 && !strings.HasSuffix(buf.String(), "\r\033[K") {
				t.Errorf("the bar is not erased at the end: %q", buf.String())
			}
		})
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file is a terminal")
	}
}
