//go:build unix

package jit

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// ErrNoExecutableMemory is the error of a Compile that could not map its
// code executable (a system that forbids it, or no memory): the program
// can still be interpreted.
var ErrNoExecutableMemory = errors.New("no executable memory")

// codeMemory is machine code mapped read+execute: written while mapped
// read+write, then switched, never both.
type codeMemory struct {
	mem []byte
}

// mmap is unix.Mmap; tests make it fail.
var mmap = unix.Mmap

// mapCode copies code into new executable memory.
func mapCode(code []byte) (*codeMemory, error) {
	size := (len(code) + unix.Getpagesize() - 1) &^ (unix.Getpagesize() - 1)
	mem, err := mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("map %d bytes for machine code: %w (%w)", size, ErrNoExecutableMemory, err)
	}
	copy(mem, code)
	if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		_ = unix.Munmap(mem)
		return nil, fmt.Errorf("make machine code executable: %w (%w)", ErrNoExecutableMemory, err)
	}
	syncInstructionCache(mem)
	cm := &codeMemory{mem: mem}
	runtime.AddCleanup(cm, func(mem []byte) { _ = unix.Munmap(mem) }, mem)
	return cm, nil
}
