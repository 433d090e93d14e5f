// Package errno holds the error numbers that eBPF programs and waggle's
// API give, with the values of Linux, whatever the host: a helper returns
// -EINVAL to a program as the kernel does, and a map error carries
// ENOENT, on every system. They are part of eBPF's semantics, not the
// host's.
//
// On Linux, Errno is unix.Errno and the constants are unix's, so errors
// match unix.E2BIG and the rest with errors.Is exactly as before. On other
// systems Errno is a type of this package with Linux's numbers and texts,
// and it matches with errors.Is the host's syscall.Errno of the same name
// (and what that matches: fs.ErrNotExist for ENOENT, ...), so that
// errors.Is(err, syscall.ENOENT) works everywhere.
package errno
