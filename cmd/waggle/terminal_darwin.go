package main

import "golang.org/x/sys/unix"

// fdIsTerminal reports whether the file descriptor fd is a terminal.
func fdIsTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), unix.TIOCGETA)
	return err == nil
}
