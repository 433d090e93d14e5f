//go:build !linux

package packet

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Live would run a program on the packets of network interfaces; it needs
// Linux's AF_PACKET rings, so on this system NewLive fails and there is
// never a Live. Programs run on capture files everywhere (ProcessPcap).
type Live struct{}

// errLiveNeedsLinux is NewLive's error on this system.
var errLiveNeedsLinux = fmt.Errorf("waggle: live interfaces need Linux (AF_PACKET rings), this is %s; run programs on capture files with ProcessPcap (waggle run --pcap): %w",
	runtime.GOOS, errors.ErrUnsupported)

// NewLive fails: live interfaces need Linux.
func NewLive(cfg LiveConfig) (*Live, error) { return nil, errLiveNeedsLinux }

// Interfaces returns nil: there are no attached interfaces.
func (l *Live) Interfaces() []string { return nil }

// Run fails: live interfaces need Linux.
func (l *Live) Run(ctx context.Context) error { return errLiveNeedsLinux }

// Close does nothing: nothing was opened.
func (l *Live) Close() error { return nil }

// Stats returns zero counts.
func (l *Live) Stats() LiveStats { return LiveStats{} }
