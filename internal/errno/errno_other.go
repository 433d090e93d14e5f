//go:build !linux

package errno

import (
	"errors"
	"strconv"
	"syscall"
)

// Errno is an error number with Linux's value. It matches, with
// errors.Is, the host's syscall.Errno of the same name and what that
// matches (fs.ErrNotExist for ENOENT, fs.ErrPermission for EPERM, ...).
type Errno uintptr

// The error numbers waggle uses, with Linux's values.
const (
	EPERM        Errno = 1   // operation not permitted
	ENOENT       Errno = 2   // no such file or directory
	E2BIG        Errno = 7   // argument list too long
	EAGAIN       Errno = 11  // resource temporarily unavailable
	ENOMEM       Errno = 12  // cannot allocate memory
	EACCES       Errno = 13  // permission denied
	EFAULT       Errno = 14  // bad address
	EBUSY        Errno = 16  // device or resource busy
	EEXIST       Errno = 17  // file exists
	ENODEV       Errno = 19  // no such device
	EINVAL       Errno = 22  // invalid argument
	ENOSPC       Errno = 28  // no space left on device
	ERANGE       Errno = 34  // numerical result out of range
	ENOSYS       Errno = 38  // function not implemented
	EPROTO       Errno = 71  // protocol error
	EOPNOTSUPP   Errno = 95  // operation not supported
	EAFNOSUPPORT Errno = 97  // address family not supported by protocol
	EALREADY     Errno = 114 // operation already in progress
	ENOTSUPP     Errno = 524 // the kernel-internal "not supported" that bpf() returns for what a map type lacks
)

// known is Linux's text for each number (strerror), and the host's
// number of the same name.
var known = map[Errno]struct {
	text string
	host syscall.Errno
}{
	EPERM:        {"operation not permitted", syscall.EPERM},
	ENOENT:       {"no such file or directory", syscall.ENOENT},
	E2BIG:        {"argument list too long", syscall.E2BIG},
	EAGAIN:       {"resource temporarily unavailable", syscall.EAGAIN},
	ENOMEM:       {"cannot allocate memory", syscall.ENOMEM},
	EACCES:       {"permission denied", syscall.EACCES},
	EFAULT:       {"bad address", syscall.EFAULT},
	EBUSY:        {"device or resource busy", syscall.EBUSY},
	EEXIST:       {"file exists", syscall.EEXIST},
	ENODEV:       {"no such device", syscall.ENODEV},
	EINVAL:       {"invalid argument", syscall.EINVAL},
	ENOSPC:       {"no space left on device", syscall.ENOSPC},
	ERANGE:       {"numerical result out of range", syscall.ERANGE},
	ENOSYS:       {"function not implemented", syscall.ENOSYS},
	EPROTO:       {"protocol error", syscall.EPROTO},
	EOPNOTSUPP:   {"operation not supported", syscall.EOPNOTSUPP},
	EAFNOSUPPORT: {"address family not supported by protocol", syscall.EAFNOSUPPORT},
	EALREADY:     {"operation already in progress", syscall.EALREADY},
}

// Error is Linux's text for the number, as unix.Errno gives it on Linux.
func (e Errno) Error() string {
	if k, ok := known[e]; ok {
		return k.text
	}
	return "errno " + strconv.FormatUint(uint64(e), 10)
}

// Is matches the host's syscall.Errno of the same name, and what that
// matches.
func (e Errno) Is(target error) bool {
	k, ok := known[e]
	return ok && errors.Is(k.host, target)
}
