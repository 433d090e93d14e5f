//go:build !linux

package packet

import (
	"errors"
	"strings"
	"testing"
)

// TestNewLiveNeedsLinux checks that, off Linux, NewLive says what is
// missing and matches errors.ErrUnsupported.
func TestNewLiveNeedsLinux(t *testing.T) {
	l, err := NewLive(LiveConfig{Iface: "eth0"})
	if l != nil || err == nil || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "need Linux") {
		t.Fatalf("NewLive = %v, %v; want an error saying live interfaces need Linux", l, err)
	}
}
