package netnstest

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// SendUDP sends each payload from c to the address to ("10.77.0.2:9000").
func SendUDP(t testing.TB, c *net.UDPConn, to string, payloads ...string) {
	t.Helper()
	dst := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(to))
	for _, p := range payloads {
		if _, err := c.WriteToUDP([]byte(p), dst); err != nil {
			t.Fatal(err)
		}
	}
}

// RecvUDP reads datagrams on c until it has want of them or timeout
// passes, and returns their payloads.
func RecvUDP(c *net.UDPConn, want int, timeout time.Duration) []string {
	var got []string
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 2048)
	for len(got) < want {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
	}
	return got
}

// Payloads are n payloads "prefix-0", "prefix-1", ...
func Payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// Observer counts the runs a hook reports, by verdict, from every worker
// at once (a link.Observer and a packet.LiveObserver).
type Observer struct {
	mu     sync.Mutex
	runs   map[string]int
	errors int
}

// ObserveRun counts a run that gave verdict.
func (o *Observer) ObserveRun(verdict string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runs == nil {
		o.runs = map[string]int{}
	}
	o.runs[verdict]++
}

// ObserveError counts a failed run.
func (o *Observer) ObserveError(time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errors++
}

// Counts returns the runs by verdict and the failed runs so far.
func (o *Observer) Counts() (map[string]int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.runs))
	for k, v := range o.runs {
		out[k] = v
	}
	return out, o.errors
}

// String is "map[drop:2 pass:5], 0 errors", the verdicts in order.
func (o *Observer) String() string {
	runs, errors := o.Counts()
	keys := make([]string, 0, len(runs))
	for k := range runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, runs[k])
	}
	return fmt.Sprintf("map[%s], %d errors", strings.Join(parts, " "), errors)
}
