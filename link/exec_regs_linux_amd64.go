package link

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// callOf reads a system call from a thread's registers at its seccomp
// stop: the number, the instruction pointer and the six arguments.
func callOf(r *unix.PtraceRegs) (nr int, ip uint64, args [6]uint64) {
	return int(int64(r.Orig_rax)), r.Rip, [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}
}

// skipCall makes a stopped call not run and return -errno.
func skipCall(r *unix.PtraceRegs, errno syscall.Errno) {
	r.Orig_rax = ^uint64(0)
	r.Rax = uint64(-int64(errno))
}

// resultOf is a call's result at its syscall-exit stop.
func resultOf(r *unix.PtraceRegs) int64 { return int64(r.Rax) }
