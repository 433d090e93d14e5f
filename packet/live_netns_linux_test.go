package packet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/internal/netnstest"
)

// The end-to-end tests run in the namespaces of package netnstest and
// send UDP from A to B through waggle in W.

// liveNet is the namespaces of one test.
type liveNet struct{ *netnstest.Net }

func newLiveNet(t *testing.T) *liveNet { return &liveNet{netnstest.New(t, "wgl")} }

// startLive opens a Live in namespace W and runs it until the test ends.
func (n *liveNet) startLive(t *testing.T, cfg LiveConfig) *Live {
	t.Helper()
	var l *Live
	var err error
	n.In(t, n.W, func() { l, err = NewLive(cfg) })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of its context's end")
		}
		l.Close()
	})
	return l
}

// waitStats polls l's counts until ok says they are complete, for at most
// 5 seconds.
func waitStats(l *Live, ok func(LiveStats) bool) LiveStats {
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := l.Stats()
		if ok(s) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveBridgeFirewall: the firewall example in bridge mode between A
// and B, blocking 10.77.0.3. Packets from 10.77.0.1 arrive in B, packets
// from 10.77.0.3 do not; B's answers reach A; the counts match.
func TestLiveBridgeFirewall(t *testing.T) {
	n := newLiveNet(t)
	coll, _ := loadLive(t, "../examples/firewall/firewall.o")
	blocked := netip.MustParseAddr("10.77.0.3").As4()
	if err := coll.Maps["blocked_addrs"].Put(blocked[:], uint32(1)); err != nil {
		t.Fatal(err)
	}
	obs := &netnstest.Observer{}
	l := n.startLive(t, LiveConfig{Program: coll.Programs["firewall"], Iface: "wA", Peer: "wB", Workers: 1, Observer: obs})

	recvB := n.UDP(t, n.B, "10.77.0.2:9000")
	allowed := n.UDP(t, n.A, "10.77.0.1:4000")
	denied := n.UDP(t, n.A, "10.77.0.3:4000")
	const nAllowed, nBlocked, nBack = 20, 7, 5
	// The blocked ones first: with one worker, packets are handled in
	// order, so once the allowed ones are in, the blocked ones are decided.
	netnstest.SendUDP(t, denied, "10.77.0.2:9000", netnstest.Payloads("blocked", nBlocked)...)
	netnstest.SendUDP(t, allowed, "10.77.0.2:9000", netnstest.Payloads("allowed", nAllowed)...)
	got := netnstest.RecvUDP(recvB, nAllowed, 3*time.Second)
	got = append(got, netnstest.RecvUDP(recvB, 1, 200*time.Millisecond)...) // anything more is a blocked packet
	if strings.Join(got, " ") != strings.Join(netnstest.Payloads("allowed", nAllowed), " ") {
		t.Errorf("B received %q, want the %d allowed packets in order", got, nAllowed)
	}

	// B answers A through the bridge.
	netnstest.SendUDP(t, recvB, "10.77.0.1:4000", netnstest.Payloads("back", nBack)...)
	if got := netnstest.RecvUDP(allowed, nBack, 3*time.Second); len(got) != nBack {
		t.Errorf("A received %q, want %d answers", got, nBack)
	}

	s := waitStats(l, func(s LiveStats) bool { return s.Forwarded+s.Dropped >= nAllowed+nBlocked+nBack })
	want := fmt.Sprintf("verdicts: drop %d, pass %d", nBlocked, nAllowed+nBack)
	if s.Packets != nAllowed+nBlocked+nBack || !strings.Contains(s.String(), want) ||
		s.Forwarded != nAllowed+nBack || s.Dropped != nBlocked || s.Errors() != 0 {
		t.Errorf("stats:\n%swant %d packets, %q, %d forwarded, %d dropped, no errors", s, nAllowed+nBlocked+nBack, want, nAllowed+nBack, nBlocked)
	}
	var dropped, passed uint64
	if err := coll.Maps["drop_counts"].Lookup(uint32(1), &dropped); err != nil {
		t.Fatal(err)
	}
	if err := coll.Maps["drop_counts"].Lookup(uint32(0), &passed); err != nil {
		t.Fatal(err)
	}
	if dropped != nBlocked || passed != nAllowed+nBack {
		t.Errorf("the firewall's drop_counts: %d blocked, %d passed; want %d, %d", dropped, passed, nBlocked, nAllowed+nBack)
	}
	if r, e := obs.Counts(); r["drop"] != nBlocked || r["pass"] != nAllowed+nBack || e != 0 {
		t.Errorf("observer: %v, %d errors", r, e)
	}
}

// TestLiveReflect: an XDP program that swaps addresses and ports and
// returns XDP_TX, in monitor mode on wA: A's packets to B come back to A,
// from B's address and port.
func TestLiveReflect(t *testing.T) {
	n := newLiveNet(t)
	coll, _ := loadLive(t, "../testdata/live/live.o")
	l := n.startLive(t, LiveConfig{Program: coll.Programs["xdp_reflect"], Iface: "wA", Workers: 2})

	recvB := n.UDP(t, n.B, "10.77.0.2:9000")
	a := n.UDP(t, n.A, "10.77.0.1:4000")
	const count = 16
	netnstest.SendUDP(t, a, "10.77.0.2:9000", netnstest.Payloads("echo", count)...)
	var got []string
	deadline := time.Now().Add(3 * time.Second)
	buf := make([]byte, 2048)
	for len(got) < count {
		_ = a.SetReadDeadline(deadline)
		n, from, err := a.ReadFromUDP(buf)
		if err != nil {
			break
		}
		if from.AddrPort() != netip.MustParseAddrPort("10.77.0.2:9000") {
			t.Errorf("reflected packet from %s", from)
		}
		got = append(got, string(buf[:n]))
	}
	if strings.Join(got, " ") != strings.Join(netnstest.Payloads("echo", count), " ") {
		t.Errorf("A got back %q, want %d echoes", got, count)
	}
	if got := netnstest.RecvUDP(recvB, 1, 200*time.Millisecond); len(got) != 0 {
		t.Errorf("B received %q: nothing bridges to B", got)
	}
	s := waitStats(l, func(s LiveStats) bool { return s.Transmitted >= count })
	var reflected uint64
	if err := coll.Maps["reflected"].Lookup(uint32(0), &reflected); err != nil {
		t.Fatal(err)
	}
	if s.Transmitted != count || s.Packets != count || reflected != count || s.Errors() != 0 {
		t.Errorf("stats:\n%sreflected[0] = %d; want %d transmitted", s, reflected, count)
	}
}

// TestLiveRedirect: bpf_redirect_map through a devmap whose slot 0 holds
// wB's ifindex: A's UDP packets are redirected out of wB to B; with the
// slot empty they are dropped (the program's fallback, XDP_DROP).
func TestLiveRedirect(t *testing.T) {
	n := newLiveNet(t)
	coll, _ := loadLive(t, "../testdata/live/live.o")
	var wB *net.Interface
	var err error
	n.In(t, n.W, func() { wB, err = net.InterfaceByName("wB") })
	if err != nil {
		t.Fatal(err)
	}
	if err := coll.Maps["tx_port"].Put(uint32(0), uint32(wB.Index)); err != nil {
		t.Fatal(err)
	}
	l := n.startLive(t, LiveConfig{Program: coll.Programs["xdp_redirect_port"], Iface: "wA", Peer: "wB", Workers: 3})

	recvB := n.UDP(t, n.B, "10.77.0.2:9000")
	// Several source ports: flows spread over the workers.
	const perPort, ports = 4, 5
	var want []string
	for p := range ports {
		c := n.UDP(t, n.A, fmt.Sprintf("10.77.0.1:%d", 4000+p))
		msgs := netnstest.Payloads(fmt.Sprintf("port%d", p), perPort)
		want = append(want, msgs...)
		netnstest.SendUDP(t, c, "10.77.0.2:9000", msgs...)
	}
	got := netnstest.RecvUDP(recvB, len(want), 3*time.Second)
	if len(got) != len(want) {
		t.Errorf("B received %d of %d packets: %q", len(got), len(want), got)
	}
	s := waitStats(l, func(s LiveStats) bool { return s.Redirected >= perPort*ports })
	if s.Redirected != perPort*ports || s.Errors() != 0 {
		t.Errorf("stats:\n%s", s)
	}

	if err := coll.Maps["tx_port"].Delete(uint32(0)); err != nil {
		t.Fatal(err)
	}
	c := n.UDP(t, n.A, "10.77.0.1:5000")
	netnstest.SendUDP(t, c, "10.77.0.2:9000", netnstest.Payloads("nowhere", 3)...)
	if got := netnstest.RecvUDP(recvB, 1, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("B received %q with the devmap slot empty", got)
	}
	s = waitStats(l, func(s LiveStats) bool { return s.Dropped >= 3 })
	if s.Dropped != 3 || !strings.Contains(s.String(), "drop 3") {
		t.Errorf("stats:\n%s", s)
	}
}

// TestLiveStopsOnCancel: Run returns promptly when its context ends, with
// no traffic at all.
func TestLiveStopsOnCancel(t *testing.T) {
	n := newLiveNet(t)
	coll, _ := loadLive(t, "../testdata/live/live.o")
	var l *Live
	var err error
	n.In(t, n.W, func() {
		l, err = NewLive(LiveConfig{Program: coll.Programs["xdp_reflect"], Iface: "wA", Peer: "wB", Workers: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := strings.Join(l.Interfaces(), ","); got != "wA,wB" {
		t.Errorf("interfaces %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if err := l.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("context not done")
	}
}

// TestLiveInterfaceRemoved: Run fails, naming the interface, when an
// attached interface is deleted; it keeps running when one goes down.
func TestLiveInterfaceRemoved(t *testing.T) {
	n := newLiveNet(t)
	coll, _ := loadLive(t, "../testdata/live/live.o")
	var l *Live
	var err error
	n.In(t, n.W, func() {
		l, err = NewLive(LiveConfig{Program: coll.Programs["xdp_reflect"], Iface: "wA", Peer: "wB", Workers: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("-n", n.W, "link", "set", "wB", "down")
	select {
	case err := <-done:
		t.Fatalf("Run returned when wB went down: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	ip("-n", n.W, "link", "set", "wB", "up")
	ip("-n", n.W, "link", "del", "wB")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "wB was removed") {
			t.Errorf("Run: %v, want an error naming wB", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still runs 5s after wB was deleted")
	}
}

// TestLiveCloseWhileRunning: Close stops a Run in progress before it
// releases the rings.
func TestLiveCloseWhileRunning(t *testing.T) {
	n := newLiveNet(t)
	coll, _ := loadLive(t, "../testdata/live/live.o")
	var l *Live
	var err error
	n.In(t, n.W, func() { l, err = NewLive(LiveConfig{Program: coll.Programs["xdp_reflect"], Iface: "wA", Workers: 2}) })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	a := n.UDP(t, n.A, "10.77.0.1:4000")
	netnstest.SendUDP(t, a, "10.77.0.2:9000", netnstest.Payloads("x", 50)...)
	time.Sleep(50 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if s := l.Stats(); s.Errors() != 0 {
		t.Errorf("stats:\n%s", s)
	}
}
