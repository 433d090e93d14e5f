package waggle

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestSockConstants checks the Linux numbers of sock_programs_test.go
// against golang.org/x/sys/unix's, which come from Linux's headers.
func TestSockConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"AF_INET", afInet, unix.AF_INET},
		{"AF_INET6", afInet6, unix.AF_INET6},
		{"SOCK_STREAM", sockStream, unix.SOCK_STREAM},
		{"SOCK_DGRAM", sockDgram, unix.SOCK_DGRAM},
		{"SOCK_RAW", sockRaw, unix.SOCK_RAW},
		{"IPPROTO_ICMP", ipprotoICMP, unix.IPPROTO_ICMP},
		{"IPPROTO_TCP", ipprotoTCP, unix.IPPROTO_TCP},
		{"IPPROTO_UDP", ipprotoUDP, unix.IPPROTO_UDP},
		{"BPF_SOCK_OPS_TIMEOUT_INIT", sockOpsTimeoutInit, unix.BPF_SOCK_OPS_TIMEOUT_INIT},
		{"BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB", sockOpsActiveEstablishedCB, unix.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB},
		{"BPF_SOCK_OPS_RTT_CB", sockOpsRTTCB, unix.BPF_SOCK_OPS_RTT_CB},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d; Linux's is %d", c.name, c.got, c.want)
		}
	}
}
