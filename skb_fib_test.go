package waggle

import (
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/netnstest"
)

// TestFIBLookupAgainstKernel: bpf_fib_lookup in waggle, with the FIB that
// HostFIB reads, gives what the kernel's gives in the same network
// namespace, for the routes and cases of testdata/skb/fib.txt.
func TestFIBLookupAgainstKernel(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skipf("the kernel cannot run the programs here: %v", err)
	}
	n := netnstest.New(t, "fib")
	// netnstest turns IPv6 off; these routes need it on vA, and forwarding.
	n.In(t, n.A, func() {
		for _, f := range []string{"ipv6/conf/all/disable_ipv6", "ipv6/conf/vA/disable_ipv6"} {
			if err := os.WriteFile("/proc/sys/net/"+f, []byte("0"), 0); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"ipv4/conf/vA/forwarding", "ipv6/conf/vA/forwarding"} {
			if err := os.WriteFile("/proc/sys/net/"+f, []byte("1"), 0); err != nil {
				t.Fatal(err)
			}
		}
	})
	setupWords := map[string]bool{"route": true, "neigh": true, "addr": true}
	_, setups := loadSkbFile(t, "testdata/skb/fib.txt", map[string]uint64{"vA": 0, "lo": 0}, setupWords)
	for _, s := range setups {
		args := append([]string{"-n", n.A, s[0], "add"}, s[1:]...)
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	n.In(t, n.A, func() {
		vA, err := net.InterfaceByName("vA")
		if err != nil {
			t.Fatal(err)
		}
		cases, _ := loadSkbFile(t, "testdata/skb/fib.txt", map[string]uint64{"vA": uint64(vA.Index), "lo": 1}, setupWords)
		fib, err := HostFIB()
		if err != nil {
			t.Fatal(err)
		}
		if len(fib.Routes) == 0 || len(fib.Neighbours) == 0 {
			t.Fatalf("HostFIB read %d routes and %d neighbours in a namespace that has both", len(fib.Routes), len(fib.Neighbours))
		}
		kernel := newKernelSkb(t)
		runners := map[Engine]skbRunner{}
		for _, e := range skbEngines(t) {
			w := newWaggleSkb(t, e)
			w.fib = fib
			runners[e] = w
		}
		compareSkb(t, "fib.txt", cases, kernel, runners)
	})
}
