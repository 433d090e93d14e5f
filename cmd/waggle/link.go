package main

import (
	"context"

	"github.com/waggle-ebpf/waggle/link"
)

// This file holds what the commands that attach a program to a hook
// (attach; the next hooks' commands) share: running the link until it
// ends or is interrupted, and the header of its --watch frames.

// runLink runs a link until it ends by itself, fails or ctx is done, and
// closes it: the error is the link's failure, or Close's.
func runLink(ctx context.Context, l link.Link) error {
	detach := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer detach()
	err := l.Wait()
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return err
}

// linkHeader gives the first line of each --watch frame of a command
// that runs link l: "waggle CMD: PROG on TARGET — 12s, COUNTS".
func linkHeader(cmd string, l link.Link) func() string {
	return func() string { return "waggle " + cmd + ": " + l.Info().String() }
}
