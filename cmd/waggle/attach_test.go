package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/internal/netnstest"
)

func TestAttachUsage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{name: "help", args: []string{"attach", "--help"},
			wantOut: []string{"usage: waggle attach", "-iface", "-peer", "-workers", "-metrics", "-watch", "-event-type", "-hist"}},
		{name: "listed", args: []string{"--help"}, wantOut: []string{"waggle attach [options] PROG.o"}},
		{name: "no object", args: []string{"attach", "--iface", "lo"}, wantCode: 2, wantErr: []string{"expected one PROG.o"}},
		{name: "no iface", args: []string{"attach", "../../testdata/live/live.o"}, wantCode: 2, wantErr: []string{"--iface is required"}},
		{name: "missing object", args: []string{"attach", "--iface", "lo", "nope.o"}, wantCode: 1, wantErr: []string{"nope.o"}},
		{name: "several programs", args: []string{"attach", "--iface", "lo", "../../testdata/live/live.o"}, wantCode: 1,
			wantErr: []string{"choose one with -p"}},
		{name: "not a packet program", args: []string{"attach", "--iface", "lo", "../../testdata/progs/hash_maps.o"}, wantCode: 1,
			wantErr: []string{"packets run through XDP, tc"}},
		{name: "bad update", args: []string{"attach", "--iface", "lo", "--update", "x", "../../examples/firewall/firewall.o"}, wantCode: 2,
			wantErr: []string{"MAP:KEY:VALUE"}},
		{name: "update unknown map", args: []string{"attach", "--iface", "lo", "--update", "nope:00:00", "../../examples/firewall/firewall.o"}, wantCode: 2,
			wantErr: []string{`no map "nope"`}},
		{name: "update bad hex", args: []string{"attach", "--iface", "lo", "--update", "blocked_addrs:zz:00", "../../examples/firewall/firewall.o"}, wantCode: 2,
			wantErr: []string{"key"}},
		{name: "update wrong size", args: []string{"attach", "--iface", "lo", "--update", "blocked_addrs:00:00", "../../examples/firewall/firewall.o"}, wantCode: 1,
			wantErr: []string{"map blocked_addrs"}},
		{name: "hist unknown map", args: []string{"attach", "--iface", "lo", "--watch", "--hist", "nope", "../../examples/firewall/firewall.o"}, wantCode: 2,
			wantErr: []string{`--hist: the object has no map "nope"`}},
		{name: "event type unknown", args: []string{"attach", "--iface", "lo", "--event-type", "nope", "-p", "xdp_observe", "../../testdata/live/live.o"}, wantCode: 2,
			wantErr: []string{`no type "nope"`}},
		{name: "no such interface", args: []string{"attach", "--iface", "waggle-nope0", "../../examples/firewall/firewall.o"}, wantCode: 1,
			wantErr: []string{"waggle-nope0"}},
		{name: "bad interval", args: []string{"attach", "--iface", "lo", "--watch-interval", "0s", "../../examples/firewall/firewall.o"}, wantCode: 2,
			wantErr: []string{"--watch-interval"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			wantContains(t, "stdout", stdout, tc.wantOut)
			wantContains(t, "stderr", stderr, tc.wantErr)
		})
	}
}

// TestAttachHelperProcess is waggle itself when the end-to-end tests run
// this test binary as a child process (in a network namespace, where
// signals can stop it): the arguments after "--" are waggle's.
func TestAttachHelperProcess(t *testing.T) {
	if os.Getenv("WAGGLE_ATTACH_HELPER") != "1" {
		t.Skip("skipped: the waggle child process of the attach end-to-end tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(runMain(args, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

// The end-to-end tests run `waggle attach` in namespace W of package
// netnstest's topology and send UDP from A to B through it.
type attachNet struct{ *netnstest.Net }

func newAttachNet(t *testing.T) *attachNet { return &attachNet{netnstest.New(t, "wga")} }

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waggleProc is waggle attach running in namespace W.
type waggleProc struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	exited         chan error
}

// startAttach runs "waggle ARGS" in namespace W and waits (at most 10s)
// until it says it is attached.
func (n *attachNet) startAttach(t *testing.T, args ...string) *waggleProc {
	t.Helper()
	cmdArgs := append([]string{"netns", "exec", n.W, os.Args[0], "-test.run=^TestAttachHelperProcess$", "--"}, args...)
	p := &waggleProc{cmd: exec.Command("ip", cmdArgs...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "WAGGLE_ATTACH_HELPER=1")
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	if !p.waitFor(t, p.stderr, "SIGTERM stops", 10*time.Second) {
		t.Fatalf("waggle attach did not start:\nstdout: %s\nstderr: %s", p.stdout, p.stderr)
	}
	return p
}

// waitFor waits until buf contains s, the process exits, or timeout
// passes.
func (p *waggleProc) waitFor(t *testing.T, buf *lockedBuffer, s string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(buf.String(), s) {
			return true
		}
		if p.cmd.ProcessState != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return strings.Contains(buf.String(), s)
}

// stop sends sig and waits (at most 10s) for a clean exit.
func (p *waggleProc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("waggle attach exited with %v after %v\nstdout: %s\nstderr: %s", err, sig, p.stdout, p.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("waggle attach did not stop within 10s of %v\nstdout: %s\nstderr: %s", sig, p.stdout, p.stderr)
	}
}

// scrape fetches the metrics that waggle serves in namespace W.
func (n *attachNet) scrape(t *testing.T, addr string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			var c net.Conn
			var err error
			n.In(t, n.W, func() { c, err = (&net.Dialer{}).DialContext(ctx, network, address) })
			return c, err
		},
	}}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestAttachBridgeFirewall runs "waggle attach firewall.o --iface wA
// --peer wB" with 10.77.0.3 blocked (--update) and --metrics: allowed
// packets reach B, blocked ones do not, the metrics count them, and
// SIGINT stops waggle, which prints the counts.
func TestAttachBridgeFirewall(t *testing.T) {
	n := newAttachNet(t)
	p := n.startAttach(t, "attach", "../../examples/firewall/firewall.o", "--iface", "wA", "--peer", "wB", "--workers", "2",
		"--update", "blocked_addrs:0a4d0003:01000000", "--metrics", "127.0.0.1:0")
	m := regexp.MustCompile(`metrics at http://([0-9.:]+)/metrics`).FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in:\n%s", p.stderr)
	}

	recvB := n.UDP(t, n.B, "10.77.0.2:9000")
	allowed := n.UDP(t, n.A, "10.77.0.1:4000")
	blocked := n.UDP(t, n.A, "10.77.0.3:4000")
	const nAllowed, nBlocked = 12, 5
	netnstest.SendUDP(t, blocked, "10.77.0.2:9000", netnstest.Payloads("blocked", nBlocked)...)
	netnstest.SendUDP(t, allowed, "10.77.0.2:9000", netnstest.Payloads("allowed", nAllowed)...)
	got := netnstest.RecvUDP(recvB, nAllowed, 5*time.Second)
	got = append(got, netnstest.RecvUDP(recvB, 1, 300*time.Millisecond)...)
	if len(got) != nAllowed {
		t.Errorf("B received %d packets, want the %d allowed: %q", len(got), nAllowed, got)
	}
	for _, g := range got {
		if strings.HasPrefix(g, "blocked") {
			t.Errorf("B received blocked packet %q", g)
		}
	}

	// The metrics: the verdicts, the map, the live counts (polled: the
	// counters trail the packets by a little).
	want := []string{
		fmt.Sprintf(`waggle_program_verdicts_total{program="firewall",verdict="drop"} %d`, nBlocked),
		fmt.Sprintf(`waggle_program_verdicts_total{program="firewall",verdict="pass"} %d`, nAllowed),
		fmt.Sprintf(`waggle_program_runs_total{program="firewall"} %d`, nAllowed+nBlocked),
		fmt.Sprintf(`waggle_map_drop_counts{key="0",map="drop_counts"} %d`, nAllowed),
		fmt.Sprintf(`waggle_map_drop_counts{key="1",map="drop_counts"} %d`, nBlocked),
		`waggle_map_blocked_addrs{key="50351370",map="blocked_addrs"} 1`, // 10.77.0.3 as a host-order u32
		fmt.Sprintf(`waggle_attach_actions_total{action="forwarded"} %d`, nAllowed),
		fmt.Sprintf(`waggle_attach_actions_total{action="dropped"} %d`, nBlocked),
		fmt.Sprintf(`waggle_attach_packets_total %d`, nAllowed+nBlocked),
		`waggle_attach_errors_total{kind="run"} 0`,
		`waggle_program_run_duration_seconds_count{program="firewall"}`,
	}
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for {
		body = n.scrape(t, m[1])
		missing := 0
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}

	p.stop(t, os.Interrupt)
	out := p.stdout.String()
	for _, w := range []string{
		"waggle attach: stopped after",
		fmt.Sprintf("packets %d (", nAllowed+nBlocked),
		fmt.Sprintf("verdicts: drop %d, pass %d", nBlocked, nAllowed),
		fmt.Sprintf("actions: passed 0, forwarded %d, transmitted 0, redirected 0, dropped %d", nAllowed, nBlocked),
		"errors: run 0, transmit 0, truncated 0, bad redirect 0",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the final counts lack %q:\n%s", w, out)
		}
	}
}

// TestAttachWatch runs "waggle attach live.o -p xdp_observe --iface wA
// --watch" in monitor mode: the frames show the maps, the histogram and
// the ring buffer's records as JSON; SIGTERM stops it.
func TestAttachWatch(t *testing.T) {
	n := newAttachNet(t)
	p := n.startAttach(t, "attach", "../../testdata/live/live.o", "-p", "xdp_observe", "--iface", "wA", "--workers", "1",
		"--watch", "--watch-interval", "100ms")
	a := n.UDP(t, n.A, "10.77.0.1:4000")
	const count = 4
	netnstest.SendUDP(t, a, "10.77.0.2:9000", netnstest.Payloads("watch", count)...)
	ok := p.waitFor(t, p.stdout, `ring buffer events: 4 records`, 5*time.Second)
	p.stop(t, syscall.SIGTERM)
	out := p.stdout.String()
	if !ok {
		t.Fatalf("no frame with the 4 records:\n%s", out)
	}
	for _, w := range []string{
		"waggle attach: xdp_observe on wA",
		`{"saddr":"10.77.0.1","daddr":"10.77.0.2","sport":0,"dport":9000,"len":49,"tag":"ipv4"}`,
		"map len_hist (Array, log2 histogram)",
		"        32 -> 63         : 4        |****************************************|",
		"map flows (Hash, 1 entry, max 4096)",
		"10.77.0.1 10.77.0.2 9000  17       0         4   196",
		fmt.Sprintf("verdicts: pass %d", count),
		fmt.Sprintf("actions: passed %d,", count),
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
	// Not a terminal: frames follow each other, no escape sequences.
	if strings.Contains(out, "\x1b[") {
		t.Error("escape sequences on a pipe")
	}
}
