package main

import "golang.org/x/sys/windows"

// fdIsTerminal reports whether the handle fd is a console.
func fdIsTerminal(fd uintptr) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(fd), &mode) == nil
}
