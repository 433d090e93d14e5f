package link

import (
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/netnstest"
	"github.com/waggle-ebpf/waggle/packet"
)

// The end-to-end tests attach in namespace W of package netnstest's
// topology and send UDP from A to B through it; without root they are
// skipped with the reason.

// attachIn attaches prog in namespace W; the link is closed when the test
// ends.
func attachIn(t *testing.T, n *netnstest.Net, prog *waggle.Program, opts PacketOptions) *PacketLink {
	t.Helper()
	var l *PacketLink
	var err error
	n.In(t, n.W, func() { l, err = AttachPacket(prog, opts) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// eventually polls done for at most 5 seconds (the counts trail the
// packets by a little) and returns its last answer.
func eventually(done func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestAttachPacket attaches packet programs to the veth ends in W, sends
// UDP from A, and checks what arrives, the link's Info, its Stats and
// what the observer saw.
func TestAttachPacket(t *testing.T) {
	const allowed, blocked = 12, 5
	for _, tc := range []struct {
		name    string
		object  string
		prog    string
		opts    PacketOptions
		setup   func(t *testing.T, coll *waggle.Collection)
		traffic func(t *testing.T, n *netnstest.Net) // sends and checks what arrives
		packets uint64                               // how many packets W receives
		target  string
		counts  []Count
		stats   func(s packet.LiveStats) bool
		seen    string // what the observer saw
	}{
		{
			name: "bridge, firewall", object: "../examples/firewall/firewall.o", prog: "firewall",
			opts: PacketOptions{Iface: "wA", Peer: "wB", Workers: 2},
			setup: func(t *testing.T, coll *waggle.Collection) {
				addr := netip.MustParseAddr("10.77.0.3").As4()
				if err := coll.Maps["blocked_addrs"].Put(addr[:], uint32(1)); err != nil {
					t.Fatal(err)
				}
			},
			traffic: func(t *testing.T, n *netnstest.Net) {
				recvB := n.UDP(t, n.B, "10.77.0.2:9000")
				netnstest.SendUDP(t, n.UDP(t, n.A, "10.77.0.3:4000"), "10.77.0.2:9000", netnstest.Payloads("blocked", blocked)...)
				netnstest.SendUDP(t, n.UDP(t, n.A, "10.77.0.1:4000"), "10.77.0.2:9000", netnstest.Payloads("allowed", allowed)...)
				got := netnstest.RecvUDP(recvB, allowed, 5*time.Second)
				got = append(got, netnstest.RecvUDP(recvB, 1, 300*time.Millisecond)...) // anything more is a blocked packet
				slices.Sort(got)
				want := netnstest.Payloads("allowed", allowed)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("B received %q, want the %d allowed packets", got, allowed)
				}
			},
			packets: allowed + blocked,
			target:  "wA <-> wB",
			counts:  []Count{{"packets", allowed + blocked}, {"dropped", blocked}, {"errors", 0}},
			stats: func(s packet.LiveStats) bool {
				return s.Forwarded == allowed && s.Dropped == blocked && s.Passed == 0 &&
					strings.Contains(s.String(), fmt.Sprintf("verdicts: drop %d, pass %d\n", blocked, allowed))
			},
			seen: fmt.Sprintf("map[drop:%d pass:%d], 0 errors", blocked, allowed),
		},
		{
			name: "monitor, XDP_TX", object: "../testdata/live/live.o", prog: "xdp_reflect",
			opts: PacketOptions{Iface: "wA", Workers: 1},
			traffic: func(t *testing.T, n *netnstest.Net) {
				a := n.UDP(t, n.A, "10.77.0.1:4000")
				netnstest.SendUDP(t, a, "10.77.0.2:9000", netnstest.Payloads("echo", allowed)...)
				if got := netnstest.RecvUDP(a, allowed, 5*time.Second); strings.Join(got, " ") != strings.Join(netnstest.Payloads("echo", allowed), " ") {
					t.Errorf("A got back %q, want %d echoes", got, allowed)
				}
			},
			packets: allowed,
			target:  "wA",
			counts:  []Count{{"packets", allowed}, {"dropped", 0}, {"errors", 0}},
			stats:   func(s packet.LiveStats) bool { return s.Transmitted == allowed && s.Forwarded == 0 },
			seen:    fmt.Sprintf("map[tx:%d], 0 errors", allowed),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := netnstest.New(t, "wgk")
			coll := loadCollection(t, tc.object)
			if tc.setup != nil {
				tc.setup(t, coll)
			}
			prog := coll.Programs[tc.prog]
			obs := &netnstest.Observer{}
			opts := tc.opts
			opts.Observer = obs
			l := attachIn(t, n, prog, opts)
			tc.traffic(t, n)

			eventually(func() bool {
				s := l.Stats()
				return s.Packets >= tc.packets && tc.stats(s)
			})
			info := l.Info()
			if info.Hook != "packet" || info.Target != tc.target || len(info.Programs) != 1 || info.Programs[0] != prog ||
				info.Runs != tc.packets || info.RunErrors != 0 || !slices.Equal(info.Counts, tc.counts) ||
				info.Attached.IsZero() || info.Duration < 0 {
				t.Errorf("Info: %+v\nwant hook packet, target %s, program %s, %d runs, counts %v",
					info, tc.target, tc.prog, tc.packets, tc.counts)
			}
			if s := l.Stats(); s.Packets != tc.packets || s.Errors() != 0 || !tc.stats(s) {
				t.Errorf("Stats:\n%s", s)
			}
			if got := obs.String(); got != tc.seen {
				t.Errorf("the observer saw %s, want %s", got, tc.seen)
			}
		})
	}
}

// TestPacketLinkClose: Close detaches (the bridge forwards no more), may
// be called again, and Wait then returns nil; Info and Stats still
// answer, with the duration frozen.
func TestPacketLinkClose(t *testing.T) {
	n := netnstest.New(t, "wgk")
	coll := loadCollection(t, "../examples/firewall/firewall.o")
	l := attachIn(t, n, coll.Programs["firewall"], PacketOptions{Iface: "wA", Peer: "wB", Workers: 2})
	a := n.UDP(t, n.A, "10.77.0.1:4000")
	recvB := n.UDP(t, n.B, "10.77.0.2:9000")
	netnstest.SendUDP(t, a, "10.77.0.2:9000", "before")
	if got := netnstest.RecvUDP(recvB, 1, 5*time.Second); len(got) != 1 {
		t.Fatalf("B received %q while attached, want the packet", got)
	}
	for i := range 3 {
		if err := l.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	if err := l.Wait(); err != nil {
		t.Errorf("Wait after Close: %v", err)
	}
	before := l.Stats()
	netnstest.SendUDP(t, a, "10.77.0.2:9000", netnstest.Payloads("after", 5)...)
	if got := netnstest.RecvUDP(recvB, 1, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("B received %q after Close: nothing bridges", got)
	}
	if after := l.Stats(); after.Packets != before.Packets || before.Forwarded != 1 {
		t.Errorf("stats: at Close\n%safter\n%s", before, after)
	}
	if i1, i2 := l.Info(), l.Info(); i1.Duration != i2.Duration {
		t.Errorf("the duration of a closed link moves: %v, then %v", i1.Duration, i2.Duration)
	}
}

// TestPacketLinkCloseRacesWait: several goroutines wait while several
// close, with packets flowing. Run with -race.
func TestPacketLinkCloseRacesWait(t *testing.T) {
	n := netnstest.New(t, "wgk")
	coll := loadCollection(t, "../testdata/live/live.o")
	l := attachIn(t, n, coll.Programs["xdp_reflect"], PacketOptions{Iface: "wA", Workers: 2})
	a := n.UDP(t, n.A, "10.77.0.1:4000")
	netnstest.SendUDP(t, a, "10.77.0.2:9000", netnstest.Payloads("x", 50)...)
	const goroutines = 4
	var wg sync.WaitGroup
	errs := make(chan error, 3*goroutines)
	for range goroutines {
		wg.Add(3)
		go func() {
			defer wg.Done()
			errs <- l.Wait()
		}()
		go func() {
			defer wg.Done()
			errs <- l.Close()
		}()
		go func() {
			defer wg.Done()
			_ = l.Info()
			errs <- nil
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if s := l.Stats(); s.Errors() != 0 {
		t.Errorf("stats:\n%s", s)
	}
}

// TestPacketLinkFails: when an attached interface is removed, Wait
// returns an error naming it, before any Close.
func TestPacketLinkFails(t *testing.T) {
	n := netnstest.New(t, "wgk")
	coll := loadCollection(t, "../testdata/live/live.o")
	l := attachIn(t, n, coll.Programs["xdp_reflect"], PacketOptions{Iface: "wA", Peer: "wB", Workers: 2})
	done := make(chan error, 1)
	go func() { done <- l.Wait() }()
	if out, err := exec.Command("ip", "-n", n.W, "link", "del", "wB").CombinedOutput(); err != nil {
		t.Fatalf("ip link del wB: %v: %s", err, out)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "wB was removed") {
			t.Errorf("Wait: %v, want an error naming wB", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait still waits 10s after wB was deleted")
	}
}

// TestAttachPacketErrors: what AttachPacket refuses, with an error that
// names what is wrong. These need no root: they fail before any socket.
func TestAttachPacketErrors(t *testing.T) {
	fw := loadPrograms(t, "../examples/firewall/firewall.o")["firewall"]
	syscallProg := loadPrograms(t, "../testdata/progs/hash_maps.o")["hash_ops"]
	for _, tc := range []struct {
		name string
		prog *waggle.Program
		opts PacketOptions
		want []string
	}{
		{"no program", nil, PacketOptions{Iface: "lo"}, []string{"no program"}},
		{"not a packet program", syscallProg, PacketOptions{Iface: "lo"},
			[]string{`program "hash_ops" is of type Syscall`, "packets run through XDP, tc"}},
		{"no interface", fw, PacketOptions{}, []string{"no interface"}},
		{"missing interface", fw, PacketOptions{Iface: "waggle-nope0"}, []string{"interface waggle-nope0"}},
		{"missing peer", fw, PacketOptions{Iface: "lo", Peer: "waggle-nope1"}, []string{"interface waggle-nope1"}},
		{"peer is the interface", fw, PacketOptions{Iface: "lo", Peer: "lo"}, []string{"the peer is the interface itself (lo)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := AttachPacket(tc.prog, tc.opts)
			if err == nil {
				l.Close()
				t.Fatal("attached")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
