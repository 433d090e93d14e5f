package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/notify"
)

// No time-of-check/time-of-use hole: a policy that reads the path of
// open, openat, creat, unlink or unlinkat from the thread's memory decides
// on bytes that another thread of the command could rewrite between the
// decision and the kernel's own read of them, if the call simply went on.
// So the supervisor reads the path once, before the policy runs, serves
// the policy's reads of it from that copy, and when the policy allows the
// call, makes the call itself with that copy — in the thread's working
// directory (or its dirfd, taken with pidfd_getfd), with its umask,
// filesystem user and group IDs and groups — and installs the opened file
// in the thread (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND) or
// returns the call's result. Whatever the memory holds afterwards changes
// nothing.

// pathMax is PATH_MAX: the longest path with its NUL.
const pathMax = 4096

// readPath reads the NUL-terminated string at addr of process pid, a page
// at a time: the bytes with their NUL.
func readPath(pid int, addr uint64) ([]byte, error) {
	if addr == 0 {
		return nil, unix.EFAULT
	}
	mem := notify.Memory{PID: pid}
	var out []byte
	for len(out) < pathMax {
		page := 4096 - int((addr+uint64(len(out)))%4096)
		chunk := make([]byte, min(page, pathMax-len(out)))
		n, _ := mem.ReadAt(chunk, int64(addr)+int64(len(out)))
		if i := bytes.IndexByte(chunk[:n], 0); i >= 0 {
			return append(out, chunk[:i+1]...), nil
		}
		out = append(out, chunk[:n]...)
		if n < len(chunk) {
			return nil, unix.EFAULT
		}
	}
	return nil, unix.ENAMETOOLONG
}

// snapshot is the copy of a path that the policy's reads see.
type snapshot struct {
	addr uint64
	data []byte // with the NUL
}

// emulation is a path call that the policy allowed, for a worker to make.
type emulation struct {
	id    uint64
	pid   uint32
	call  pathCall
	args  [6]uint64
	path  string
	start time.Time
	nr    int
	exits bool // run the exit programs on the result
}

// emulate hands an allowed path call to a worker, starting one when none
// is idle (a call may block: opening a FIFO waits for its other end).
func (s *supervisor) emulate(e *emulation) {
	s.emuPending.Add(1)
	select {
	case s.emuJobs <- e:
		return
	default:
	}
	if s.emuWorkers.Add(1) <= maxEmuWorkers {
		s.emuWG.Add(1)
		go s.emuWorker()
	} else {
		s.emuWorkers.Add(-1)
	}
	s.emuJobs <- e
}

// maxEmuWorkers bounds the threads that make path calls at once.
const maxEmuWorkers = 32

// emuWorker makes path calls on an OS thread of its own, which has its
// own working directory and umask (unshare(CLONE_FS)) and takes each
// thread's filesystem IDs for the call. The thread is never given back to
// Go's scheduler: the goroutine returns locked, so the runtime ends it.
func (s *supervisor) emuWorker() {
	runtime.LockOSThread()
	defer s.emuWG.Done()
	defer s.emuWorkers.Add(-1)
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		// Without a working directory of its own the worker cannot
		// make calls safely: refuse what it is given.
		var h handling
		for e := range s.emuJobs {
			s.finish(e, 0, fmt.Errorf("unshare the worker's working directory: %w", err), &h)
		}
		return
	}
	var h handling
	for e := range s.emuJobs {
		fd, err := s.perform(e)
		s.finish(e, fd, err, &h)
	}
}

// finish answers an emulated call: installs the file it opened, or
// returns its result or error.
func (s *supervisor) finish(e *emulation, fd int, err error, h *handling) {
	defer s.emuPending.Done()
	var answer error
	var errno syscall.Errno
	// The exit programs run before the thread goes on, as the kernel's
	// sys_exit tracepoints do: with them, the file is installed first
	// (its number is the result), the call answered after.
	exits := func(ret int64) {
		if !e.exits {
			return
		}
		n := notify.Notif{PID: e.pid}
		for i, a := range e.args {
			binary.NativeEndian.PutUint64(n.Data[16+8*i:], a)
		}
		s.runExits(e.pid, e.nr, &n, ret, h)
	}
	switch {
	case err == nil && !e.call.unlink:
		cloexec := e.call.flags >= 0 && int(e.args[e.call.flags])&unix.O_CLOEXEC != 0
		if e.exits {
			var theirs int
			if theirs, answer = s.lis.AddFD(e.id, fd, cloexec); answer == nil {
				exits(int64(theirs))
				answer = s.lis.Return(e.id, int64(theirs))
			}
		} else {
			_, answer = s.lis.SendFD(e.id, fd, cloexec)
		}
		unix.Close(fd)
	case err == nil:
		exits(0)
		answer = s.lis.Return(e.id, 0)
	case errors.As(err, &errno):
		exits(-int64(errno))
		answer = s.lis.Fail(e.id, errno)
	default:
		// Something of waggle's failed (reading /proc, the worker's
		// setup): the call fails closed.
		exits(-int64(unix.EACCES))
		answer = s.lis.Fail(e.id, unix.EACCES)
	}
	if errors.Is(answer, notify.ErrGone) {
		s.gone.Add(1)
	} else if answer == nil {
		s.emulated.Add(1)
	}
	s.handling.Add(int64(time.Since(e.start)))
}

// creds are a thread's filesystem identity and umask.
type creds struct {
	fsuid, fsgid int
	groups       []int
	umask        int
}

// readCreds reads /proc/PID/status for the filesystem IDs, groups and
// umask of thread pid.
func readCreds(pid uint32) (creds, error) {
	var c creds
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status")
	if err != nil {
		return c, err
	}
	field := func(name string) ([]string, error) {
		v, ok := statusField(b, name)
		if !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, name)
		}
		return strings.Fields(v), nil
	}
	uids, err := field("Uid")
	if err != nil || len(uids) != 4 {
		return c, fmt.Errorf("/proc/%d/status: Uid: %v", pid, err)
	}
	gids, err := field("Gid")
	if err != nil || len(gids) != 4 {
		return c, fmt.Errorf("/proc/%d/status: Gid: %v", pid, err)
	}
	umask, err := field("Umask")
	if err != nil || len(umask) != 1 {
		return c, fmt.Errorf("/proc/%d/status: Umask: %v", pid, err)
	}
	groups, err := field("Groups")
	if err != nil {
		return c, err
	}
	if c.fsuid, err = strconv.Atoi(uids[3]); err != nil {
		return c, err
	}
	if c.fsgid, err = strconv.Atoi(gids[3]); err != nil {
		return c, err
	}
	u, err := strconv.ParseUint(umask[0], 8, 32)
	if err != nil {
		return c, err
	}
	c.umask = int(u)
	for _, g := range groups {
		n, err := strconv.Atoi(g)
		if err != nil {
			return c, err
		}
		c.groups = append(c.groups, n)
	}
	return c, nil
}

// perform makes the call on the worker's thread as the calling thread
// would: its root must be the supervisor's; the working directory, umask
// and filesystem IDs become the thread's for the call.
func (s *supervisor) perform(e *emulation) (int, error) {
	pid := e.pid
	proc := "/proc/" + strconv.FormatUint(uint64(pid), 10)
	// A thread in another root (chroot) would resolve absolute paths
	// elsewhere: waggle does not follow it there.
	if root, err := os.Readlink(proc + "/root"); err != nil || root != "/" {
		return -1, fmt.Errorf("thread %d runs in another root (%q, %v)", pid, root, err)
	}
	// Nor in another mount namespace, where the same path names another
	// file.
	theirs, err1 := os.Readlink(proc + "/ns/mnt")
	ours, err2 := os.Readlink("/proc/self/ns/mnt")
	if err1 != nil || err2 != nil || theirs != ours {
		return -1, fmt.Errorf("thread %d runs in another mount namespace (%s, not %s)", pid, theirs, ours)
	}
	c, err := readCreds(pid)
	if err != nil {
		return -1, err
	}
	dirfd := unix.AT_FDCWD
	if strings.HasPrefix(e.path, "/") {
		// The directory does not matter.
	} else if e.call.dirfd < 0 || int32(e.args[e.call.dirfd]) == unix.AT_FDCWD {
		cwd, err := unix.Open(proc+"/cwd", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("the working directory of thread %d: %w", pid, err)
		}
		defer unix.Close(cwd)
		dirfd = cwd
	} else {
		tgid := int(pid)
		if st, err := os.ReadFile(proc + "/status"); err == nil {
			if t, ok := statusTgid(st); ok {
				tgid = t
			}
		}
		pidfd, err := unix.PidfdOpen(tgid, 0)
		if err != nil {
			return -1, fmt.Errorf("pidfd of process %d: %w", tgid, err)
		}
		fd, err := unix.PidfdGetfd(pidfd, int(int32(e.args[e.call.dirfd])), 0)
		unix.Close(pidfd)
		if errors.Is(err, unix.EBADF) {
			return -1, unix.EBADF // the thread's dirfd is not open: its call fails so
		}
		if err != nil {
			return -1, fmt.Errorf("directory fd %d of process %d: %w", int32(e.args[e.call.dirfd]), tgid, err)
		}
		defer unix.Close(fd)
		dirfd = fd
	}
	// The thread's identity for the call, then ours back.
	uid, gid := os.Getuid(), os.Getgid()
	unix.Umask(c.umask)
	if c.fsgid != gid || c.fsuid != uid || !sameGroups(c.groups) {
		if errno := setgroups(c.groups); errno != 0 {
			return -1, fmt.Errorf("take the groups of thread %d: %w", pid, errno)
		}
		unix.RawSyscall(unix.SYS_SETFSGID, uintptr(c.fsgid), 0, 0)
		unix.RawSyscall(unix.SYS_SETFSUID, uintptr(c.fsuid), 0, 0)
		defer func() {
			unix.RawSyscall(unix.SYS_SETFSUID, uintptr(uid), 0, 0)
			unix.RawSyscall(unix.SYS_SETFSGID, uintptr(gid), 0, 0)
			own, _ := os.Getgroups()
			setgroups(own)
		}()
	}
	if e.call.unlink {
		flags := 0
		if e.call.flags >= 0 {
			flags = int(e.args[e.call.flags])
		}
		return -1, unlinkat(dirfd, e.path, flags)
	}
	flags := unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
	if !e.call.creat {
		flags = int(int32(e.args[e.call.flags]))
	}
	mode := uint32(e.args[e.call.mode]) & 0o7777
	// The file is opened here, close-on-exec and never the supervisor's
	// controlling terminal; SendFD gives the thread its own flags.
	fd, err := openat(dirfd, e.path, flags|unix.O_CLOEXEC|unix.O_NOCTTY, mode)
	return fd, err
}

func openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, path, flags, mode)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

func unlinkat(dirfd int, path string, flags int) error {
	for {
		err := unix.Unlinkat(dirfd, path, flags)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

// sameGroups reports whether groups are the supervisor's.
func sameGroups(groups []int) bool {
	own, err := os.Getgroups()
	if err != nil || len(own) != len(groups) {
		return false
	}
	a, b := slices.Clone(own), slices.Clone(groups)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// setgroups sets the supplementary groups of the calling thread only (the
// raw system call; Go's syscall.Setgroups sets every thread's).
func setgroups(groups []int) syscall.Errno {
	g := make([]uint32, len(groups)+1) // never empty: &g[0] is valid
	for i, v := range groups {
		g[i] = uint32(v)
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(&g[0])), 0)
	runtime.KeepAlive(g)
	return errno
}
