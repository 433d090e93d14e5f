//go:build !unix

package jit

import (
	"errors"
	"fmt"
	"runtime"
)

// ErrNoExecutableMemory is the error of a Compile that could not map its
// code executable (a system that forbids it, or no memory): the program
// can still be interpreted.
var ErrNoExecutableMemory = errors.New("no executable memory")

// codeMemory is machine code mapped read+execute.
type codeMemory struct {
	mem []byte
}

// mmap stands for unix.Mmap, which this system lacks: the JIT's runtime
// is not enabled here (Supported is false), so there is no executable
// memory to map.
var mmap = func(fd int, offset int64, length, prot, flags int) ([]byte, error) {
	return nil, fmt.Errorf("%s has no mmap: %w", runtime.GOOS, errors.ErrUnsupported)
}

// mapCode fails: see mmap.
func mapCode(code []byte) (*codeMemory, error) {
	if _, err := mmap(-1, 0, len(code), 0, 0); err != nil {
		return nil, fmt.Errorf("map %d bytes for machine code: %w (%w)", len(code), ErrNoExecutableMemory, err)
	}
	return nil, fmt.Errorf("map %d bytes for machine code: %w", len(code), ErrNoExecutableMemory)
}
