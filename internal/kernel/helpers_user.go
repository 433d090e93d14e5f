package kernel

import (
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
)

// copyFromUser is bpf_copy_from_user(dst, size, user_ptr) (helper 148), a
// sleepable helper: the kernel's copy_from_user, which zeroes dst and
// returns -EFAULT when it cannot read all of user_ptr's size bytes, and 0
// when it could. waggle has no user address space behind a program (as for
// bpf_probe_read_user: the program's own memory is "kernel" memory, which
// copy_from_user refuses), so every read of at least one byte fails that
// way; a size of 0 copies nothing and returns 0, as in the kernel.
//
// The kernel lets only sleepable programs call it; among waggle's program
// types those are syscall programs (the verifier says "helper call might
// sleep in a non-sleepable prog" for the others).
func copyFromUser(c *helper.Call) (uint64, error) {
	n := uint64(uint32(c.Args[1]))
	if n == 0 {
		return 0, nil
	}
	dst, err := c.Write(c.Args[0], n)
	if err != nil {
		return 0, err
	}
	clear(dst)
	return neg(errno.EFAULT), nil
}
