//go:build !linux && !darwin && !windows

package main

// fdIsTerminal reports false: waggle does not ask this system.
func fdIsTerminal(fd uintptr) bool { return false }
