//go:build !linux

package main

// ptraceAllowed: not reached off Linux (skipUnlessTrace skips first).
func ptraceAllowed() error { return nil }
