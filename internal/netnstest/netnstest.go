// Package netnstest builds, for end-to-end tests, network namespaces
// joined by veth pairs:
//
//	netns A: vA 10.77.0.1/24 (and 10.77.0.3/24) ── veth ── wA ┐ netns W: waggle
//	netns B: vB 10.77.0.2/24 ─────────────────── veth ── wB ┘ (no addresses)
//
// with static neighbour entries (no ARP) and IPv6 off (no stray packets),
// so that UDP from A to B crosses W, where the test attaches waggle. It
// needs Linux, root and the ip command (iproute2); without them the test
// is skipped with a message saying what is missing.
package netnstest

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// The MAC addresses of vA and vB.
const (
	MACA = "02:77:00:00:00:0a"
	MACB = "02:77:00:00:00:0b"
)

// Net is the namespaces of one test, by name; they are removed when the
// test ends.
type Net struct {
	A, W, B string
}

// New builds the topology for t, naming its namespaces after prefix, the
// process and the test.
func New(t *testing.T, prefix string) *Net {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("skipped: network namespaces, veth pairs and AF_PACKET need Linux, this is %s", runtime.GOOS)
	}
	if emu := kerneltest.Emulator(); emu != "" {
		t.Skipf("skipped: the tests run under user-mode emulation (%s=%s), which does not carry network namespaces and AF_PACKET rings", kerneltest.EmulatedEnv, emu)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (CAP_NET_ADMIN for network namespaces and veth pairs, CAP_NET_RAW for AF_PACKET)")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("skipped: needs the ip command (iproute2) to create network namespaces and veth pairs")
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		t.Skipf("skipped: the kernel has no network namespaces: %v", err)
	}
	base := fmt.Sprintf("%s%d-%s", prefix, os.Getpid(), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(base) > 40 {
		base = base[:40]
	}
	n := &Net{A: base + "-a", W: base + "-w", B: base + "-b"}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{n.A, n.W, n.B} {
		if out, err := exec.Command(ipCmd, "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("skipped: cannot create a network namespace (ip netns add): %v: %s", err, bytes.TrimSpace(out))
		}
		t.Cleanup(func() { _ = exec.Command(ipCmd, "netns", "del", ns).Run() })
		// No IPv6: no router solicitations or DAD probes in the counts.
		n.In(t, ns, func() {
			for _, f := range []string{"default", "all"} {
				_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("1"), 0)
			}
		})
	}
	run("link", "add", "vA", "netns", n.A, "address", MACA, "type", "veth", "peer", "name", "wA", "netns", n.W)
	run("link", "add", "vB", "netns", n.B, "address", MACB, "type", "veth", "peer", "name", "wB", "netns", n.W)
	run("-n", n.A, "addr", "add", "10.77.0.1/24", "dev", "vA")
	run("-n", n.A, "addr", "add", "10.77.0.3/24", "dev", "vA")
	run("-n", n.B, "addr", "add", "10.77.0.2/24", "dev", "vB")
	run("-n", n.A, "neigh", "replace", "10.77.0.2", "lladdr", MACB, "dev", "vA", "nud", "permanent")
	run("-n", n.B, "neigh", "replace", "10.77.0.1", "lladdr", MACA, "dev", "vB", "nud", "permanent")
	run("-n", n.B, "neigh", "replace", "10.77.0.3", "lladdr", MACA, "dev", "vB", "nud", "permanent")
	for _, l := range [][2]string{{n.A, "vA"}, {n.A, "lo"}, {n.B, "vB"}, {n.B, "lo"}, {n.W, "wA"}, {n.W, "wB"}, {n.W, "lo"}} {
		run("-n", l[0], "link", "set", l[1], "up")
	}
	return n
}

// In runs fn with the calling goroutine's thread in namespace ns: sockets
// that fn creates belong to ns.
func (n *Net) In(t *testing.T, ns string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("setns %s: %v", ns, err)
	}
	defer func() {
		if err := setns(orig); err != nil {
			// Leave the thread locked: Go ends it with the goroutine.
			t.Errorf("setns back: %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	fn()
}

// UDP opens a UDP socket on addr in namespace ns, closed when the test
// ends.
func (n *Net) UDP(t *testing.T, ns, addr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	var err error
	n.In(t, ns, func() { c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
