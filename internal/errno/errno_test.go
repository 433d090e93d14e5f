package errno

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// TestLinuxValues checks that every number is Linux's, with Linux's text,
// whatever the host.
func TestLinuxValues(t *testing.T) {
	for _, c := range []struct {
		e    Errno
		n    uintptr
		text string
	}{
		{EPERM, 1, "operation not permitted"},
		{ENOENT, 2, "no such file or directory"},
		{E2BIG, 7, "argument list too long"},
		{EAGAIN, 11, "resource temporarily unavailable"},
		{ENOMEM, 12, "cannot allocate memory"},
		{EACCES, 13, "permission denied"},
		{EFAULT, 14, "bad address"},
		{EBUSY, 16, "device or resource busy"},
		{EEXIST, 17, "file exists"},
		{ENODEV, 19, "no such device"},
		{EINVAL, 22, "invalid argument"},
		{ENOSPC, 28, "no space left on device"},
		{ERANGE, 34, "numerical result out of range"},
		{ENOSYS, 38, "function not implemented"},
		{EPROTO, 71, "protocol error"},
		{EOPNOTSUPP, 95, "operation not supported"},
		{EAFNOSUPPORT, 97, "address family not supported by protocol"},
		{EALREADY, 114, "operation already in progress"},
		{ENOTSUPP, 524, "errno 524"},
	} {
		if uintptr(c.e) != c.n {
			t.Errorf("%s is %d, Linux's is %d", c.text, uintptr(c.e), c.n)
		}
		if got := c.e.Error(); got != c.text {
			t.Errorf("errno %d says %q, want %q", c.n, got, c.text)
		}
	}
}

// TestMatchesHost checks that a wrapped errno matches the host's errno of
// the same name and the fs errors, and not another errno.
func TestMatchesHost(t *testing.T) {
	for _, c := range []struct {
		e      Errno
		target error
		want   bool
	}{
		{ENOENT, syscall.ENOENT, true},
		{ENOENT, fs.ErrNotExist, true},
		{EEXIST, fs.ErrExist, true},
		{EPERM, fs.ErrPermission, true},
		{EOPNOTSUPP, syscall.EOPNOTSUPP, true},
		{EAGAIN, syscall.EAGAIN, true},
		{E2BIG, syscall.E2BIG, true},
		{EINVAL, syscall.EINVAL, true},
		{EINVAL, syscall.E2BIG, false},
		{ENOENT, fs.ErrExist, false},
		{ENOTSUPP, syscall.EOPNOTSUPP, false},
	} {
		err := fmt.Errorf("wrapped: %w", c.e)
		if got := errors.Is(err, c.target); got != c.want {
			t.Errorf("errors.Is(%v, %v) = %v, want %v", c.e, c.target, got, c.want)
		}
	}
}
