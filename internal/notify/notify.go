//go:build linux

// Package notify is the supervisor's side of seccomp user notification
// (seccomp_unotify(2)): a Listener receives the system calls that a
// filter sent to user space (SECCOMP_RET_USER_NOTIF), answers them (let
// the call run, fail it with an errno, or give it a result the
// supervisor made, such as a file descriptor installed in the thread),
// and describes the thread that made the call: its IDs and name from
// /proc and its memory through process_vm_readv.
package notify

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DataSize is sizeof(struct seccomp_data).
const DataSize = 64

// Notif is one system call waiting for an answer (struct seccomp_notif).
type Notif struct {
	ID    uint64
	PID   uint32 // the thread's ID, in the listener's PID namespace
	Flags uint32
	Data  [DataSize]byte // struct seccomp_data
}

// Nr is the system call's number.
func (n *Notif) Nr() int32 { return int32(*(*uint32)(unsafe.Pointer(&n.Data[0]))) }

// Arch is the system call's AUDIT_ARCH_*.
func (n *Notif) Arch() uint32 { return *(*uint32)(unsafe.Pointer(&n.Data[4])) }

// Arg is the system call's argument i (0 to 5).
func (n *Notif) Arg(i int) uint64 { return *(*uint64)(unsafe.Pointer(&n.Data[16+8*i])) }

// resp is struct seccomp_notif_resp.
type resp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// addfd is struct seccomp_notif_addfd.
type addfd struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

// ErrGone means the notification is no longer valid: the thread that
// made the call was killed or interrupted, so nothing waits for an
// answer.
var ErrGone = errors.New("notify: the system call is no longer waiting (its thread was interrupted or has died)")

// ErrClosed means the listener has no filter left: every thread that ran
// under it has exited.
var ErrClosed = errors.New("notify: no process runs under the filter any more")

// Listener is a seccomp filter's listener file descriptor.
type Listener struct {
	fd int
}

// NewListener wraps a listener file descriptor, which the Listener then
// owns.
func NewListener(fd int) *Listener { return &Listener{fd: fd} }

// FD is the listener's file descriptor.
func (l *Listener) FD() int { return l.fd }

// Close closes the listener: system calls waiting for it, and every later
// call the filter sends to user space, fail with ENOSYS.
func (l *Listener) Close() error { return unix.Close(l.fd) }

func (l *Listener) ioctl(req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(l.fd), req, uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}

// Receive waits for the next system call (SECCOMP_IOCTL_NOTIF_RECV). It
// returns ErrClosed once no thread runs under the filter, and ErrGone
// when the call it was woken for went away before it was read.
func (l *Listener) Receive(n *Notif) error {
	*n = Notif{}
	err := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		// No notification: the filter has no users left, or the one we
		// were woken for was withdrawn. Poll tells them apart.
		if l.hungUp() {
			return ErrClosed
		}
		return ErrGone
	case errors.Is(err, unix.EBADF):
		return ErrClosed
	}
	return fmt.Errorf("notify: receive: %w", err)
}

// hungUp reports whether the filter has no users left (POLLHUP).
func (l *Listener) hungUp() bool {
	fds := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n == 1 && fds[0].Revents&unix.POLLHUP != 0
}

// Wait blocks until a notification is pending or the filter has no users
// left (it returns ErrClosed then), or wake becomes readable (it returns
// false, nil then).
func (l *Listener) Wait(wake int) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}, {Fd: int32(wake), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("notify: poll the listener: %w", err)
		}
		switch {
		case fds[1].Revents != 0:
			return false, nil
		case fds[0].Revents&unix.POLLIN != 0:
			return true, nil
		case fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0:
			return false, ErrClosed
		}
	}
}

func (l *Listener) send(r *resp) error {
	err := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
	if errors.Is(err, unix.ENOENT) {
		return ErrGone
	}
	if err != nil {
		return fmt.Errorf("notify: answer: %w", err)
	}
	return nil
}

// Continue lets the system call run in the kernel as if no filter had
// sent it here (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
func (l *Listener) Continue(id uint64) error {
	return l.send(&resp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE})
}

// Fail makes the system call fail with errno without running it.
func (l *Listener) Fail(id uint64, errno syscall.Errno) error {
	return l.send(&resp{ID: id, Error: -int32(errno)})
}

// Return makes the system call return val without running it.
func (l *Listener) Return(id uint64, val int64) error {
	return l.send(&resp{ID: id, Val: val})
}

// Valid reports whether the notification still waits for an answer
// (SECCOMP_IOCTL_NOTIF_ID_VALID): after reading the thread's memory, it
// tells that the memory was the caller's and not that of a process that
// took its PID.
func (l *Listener) Valid(id uint64) bool {
	return l.ioctl(unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

// SendFD installs a copy of fd in the calling thread's process and makes
// the system call return its number, atomically
// (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND, Linux 5.14);
// cloexec sets O_CLOEXEC on the new descriptor.
func (l *Listener) SendFD(id uint64, fd int, cloexec bool) (int, error) {
	return l.addFD(addfd{ID: id, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, SrcFD: uint32(fd)}, cloexec)
}

// AddFD installs a copy of fd in the calling thread's process without
// answering the call (SECCOMP_IOCTL_NOTIF_ADDFD, Linux 5.9) and returns
// its number there; Return then answers.
func (l *Listener) AddFD(id uint64, fd int, cloexec bool) (int, error) {
	return l.addFD(addfd{ID: id, SrcFD: uint32(fd)}, cloexec)
}

func (l *Listener) addFD(a addfd, cloexec bool) (int, error) {
	if cloexec {
		a.NewFDFlags = unix.O_CLOEXEC
	}
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(l.fd), unix.SECCOMP_IOCTL_NOTIF_ADDFD, uintptr(unsafe.Pointer(&a)))
		switch errno {
		case unix.EINTR:
			continue
		case 0:
			return int(r), nil
		case unix.ENOENT:
			return -1, ErrGone
		}
		return -1, fmt.Errorf("notify: install the file descriptor in the caller (SECCOMP_IOCTL_NOTIF_ADDFD): %w", errno)
	}
}

// SetSyncWakeUp asks the kernel to wake the thread that waits for an
// answer on the supervisor's CPU (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
// Linux 6.6), which shortens the round trip when one thread supervises.
func (l *Listener) SetSyncWakeUp() error {
	flags := uint64(unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	return l.ioctl(unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, unsafe.Pointer(&flags))
}

// Memory reads a process's memory at its virtual addresses with
// process_vm_readv (no file to open). It implements io.ReaderAt for
// helper.Task.Memory.
type Memory struct{ PID int }

// ReadAt reads len(p) bytes at address off of the process. A read that
// reaches unmapped memory stops there: n < len(p) and an error.
func (m Memory) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		local := []unix.Iovec{{Base: &p[done]}}
		local[0].SetLen(len(p) - done)
		remote := []unix.RemoteIovec{{Base: uintptr(off) + uintptr(done), Len: len(p) - done}}
		n, err := unix.ProcessVMReadv(m.PID, local, remote, 0)
		if n <= 0 {
			if err == nil {
				err = unix.EFAULT
			}
			return done, fmt.Errorf("read memory of process %d at %#x: %w", m.PID, uint64(off)+uint64(done), err)
		}
		done += n
	}
	return done, nil
}

// Status is what /proc/PID/status says of a thread.
type Status struct {
	TGID, PPID, UID, GID uint32
	Comm                 string
}

// ReadStatus reads a thread's process ID, its parent's, the real user
// and group IDs and the name from /proc/PID/status.
func ReadStatus(pid uint32) (Status, error) {
	var st Status
	path := "/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var buf [4096]byte // the fields read come in the first lines
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil {
		return st, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return parseStatus(pid, buf[:max(n, 0)])
}

// parseStatus reads Name, Tgid, PPid, Uid and Gid (the real IDs) from
// the text of /proc/PID/status.
func parseStatus(pid uint32, b []byte) (Status, error) {
	var st Status
	seen := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":\t")
		if !ok {
			continue
		}
		switch name {
		case "Name":
			st.Comm = value
			seen |= 1
		case "Tgid":
			v, err := strconv.ParseUint(value, 10, 32)
			if err != nil {
				return st, fmt.Errorf("/proc/%d/status: Tgid %q: %w", pid, value, err)
			}
			st.TGID = uint32(v)
			seen |= 2
		case "PPid":
			v, err := strconv.ParseUint(value, 10, 32)
			if err != nil {
				return st, fmt.Errorf("/proc/%d/status: PPid %q: %w", pid, value, err)
			}
			st.PPID = uint32(v)
			seen |= 16
		case "Uid", "Gid":
			first, _, _ := strings.Cut(value, "\t")
			v, err := strconv.ParseUint(first, 10, 32)
			if err != nil {
				return st, fmt.Errorf("/proc/%d/status: %s %q: %w", pid, name, value, err)
			}
			if name == "Uid" {
				st.UID = uint32(v)
				seen |= 4
			} else {
				st.GID = uint32(v)
				seen |= 8
			}
		}
	}
	if seen != 31 {
		return st, fmt.Errorf("/proc/%d/status lacks one of Name, Tgid, PPid, Uid and Gid", pid)
	}
	return st, nil
}

// TakeListener copies the seccomp listener that process pid holds into
// this process (pidfd_getfd, Linux 5.6): it looks for the descriptor
// whose link in /proc/PID/fd is "anon_inode:seccomp notify". found is
// false while the process has none yet. It needs the right to ptrace the
// process (PTRACE_MODE_ATTACH_REALCREDS: the same user and a ptrace_scope
// that allows it, or CAP_SYS_PTRACE).
func TakeListener(pidfd, pid int) (l *Listener, found bool, err error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, err
	}
	for _, e := range entries {
		target, err := os.Readlink(dir + "/" + e.Name())
		if err != nil || target != "anon_inode:seccomp notify" {
			continue
		}
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			return nil, true, fmt.Errorf("take the seccomp listener of process %d (pidfd_getfd): %w%s", pid, err, ptraceHint(err))
		}
		return NewListener(fd), true, nil
	}
	return nil, false, nil
}

// ptraceHint explains an EPERM from an operation that needs the right to
// ptrace.
func ptraceHint(err error) string {
	if !errors.Is(err, unix.EPERM) {
		return ""
	}
	scope, _ := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	s := strings.TrimSpace(string(scope))
	if s == "" {
		s = "unknown"
	}
	return fmt.Sprintf(" (waggle must be allowed to ptrace the command: kernel.yama.ptrace_scope is %s; 2 needs CAP_SYS_PTRACE, 3 forbids it)", s)
}
