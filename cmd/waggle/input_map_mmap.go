//go:build linux || darwin

package main

import (
	"bytes"
	"os"
	"syscall"
)

// mapInput is readInput for a command that reads an ELF object only while
// it loads it (verify): a regular file that is an ELF object is mapped
// into memory rather than copied, so that only the pages the reader needs
// are touched (of a Cilium object's 1.5 MB, two thirds are DWARF, which
// the reader skips). release unmaps it: call it once nothing reads data
// any more. Reads of data must run under guardMapped. Anything else (the
// standard input, a pipe, an empty file, a file that is not an ELF
// object, a file mmap refuses) is read as readInput reads it.
func mapInput(name string, e *env) (data []byte, release func(), err error) {
	release = func() {}
	if name == "-" {
		data, err = readInput(name, e)
		return data, release, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); info.Mode().IsRegular() && n == len(magic) && bytes.Equal(magic[:], elfMagic) && info.Size() == int64(int(info.Size())) {
		if m, err := syscall.Mmap(int(f.Fd()), 0, int(info.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE); err == nil {
			return m, func() { syscall.Munmap(m) }, nil //nolint:errcheck // nothing to do about it
		}
	}
	f.Close()
	data, err = readInput(name, e)
	return data, release, err
}
