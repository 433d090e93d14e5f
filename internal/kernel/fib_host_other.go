//go:build !linux

package kernel

import (
	"errors"
	"fmt"
	"runtime"
)

// HostFIB reads the host's forwarding information through netlink, which
// only Linux has: here it says so.
func HostFIB() (*FIB, error) {
	return nil, fmt.Errorf("read the host's forwarding information: it needs Linux (netlink), this is %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
