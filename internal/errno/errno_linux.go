package errno

import "golang.org/x/sys/unix"

// Errno is an error number with Linux's value: on Linux, unix.Errno.
type Errno = unix.Errno

// The error numbers waggle uses, with Linux's values.
const (
	EPERM        = unix.EPERM        // 1: operation not permitted
	ENOENT       = unix.ENOENT       // 2: no such file or directory
	E2BIG        = unix.E2BIG        // 7: argument list too long
	EAGAIN       = unix.EAGAIN       // 11: resource temporarily unavailable
	ENOMEM       = unix.ENOMEM       // 12: cannot allocate memory
	EACCES       = unix.EACCES       // 13: permission denied
	EFAULT       = unix.EFAULT       // 14: bad address
	EBUSY        = unix.EBUSY        // 16: device or resource busy
	EEXIST       = unix.EEXIST       // 17: file exists
	ENODEV       = unix.ENODEV       // 19: no such device
	EINVAL       = unix.EINVAL       // 22: invalid argument
	ENOSPC       = unix.ENOSPC       // 28: no space left on device
	ERANGE       = unix.ERANGE       // 34: numerical result out of range
	ENOSYS       = unix.ENOSYS       // 38: function not implemented
	EPROTO       = unix.EPROTO       // 71: protocol error
	EOPNOTSUPP   = unix.EOPNOTSUPP   // 95: operation not supported
	EAFNOSUPPORT = unix.EAFNOSUPPORT // 97: address family not supported by protocol
	EALREADY     = unix.EALREADY     // 114: operation already in progress
	// ENOTSUPP is the kernel-internal 524 that bpf() returns to user space
	// for operations a map type lacks (BPF_MAP_FREEZE of a ring buffer...).
	ENOTSUPP = Errno(524)
)
