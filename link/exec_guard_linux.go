//go:build linux

package link

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle/internal/syscalls"
)

// The execve guard: waggle cannot make an execve for the command as it
// makes an open (exec_emulate.go), and the kernel reads the path again
// after the policy allowed the call, when another thread (or a process
// that shares the memory, as a vfork child does its parent's) may have
// rewritten it. So when a policy that read execve's path allows the call,
// waggle notes which file that path named (its device and inode, found
// from the thread's working directory or dirfd), and the command runs
// ptraced with exec events: at the exec's stop, before the new program
// runs a single instruction, the file the kernel loaded
// (/proc/PID/exe) must be that one — or, for a script, which the kernel
// runs through its interpreter, the script's path in the new argv must be
// the path the policy read. Otherwise the process is killed. What the
// memory held after the check changes what runs only into a killed
// process.

// execCall says where execve's and execveat's arguments are.
type execCall struct {
	dirfd, path, flags int // argument indices; -1: none
}

// execCalls are execve and execveat by x86-64 number.
var execCalls = map[int]execCall{
	syscalls.MustNumber("execve"):   {dirfd: -1, path: 0, flags: -1},
	syscalls.MustNumber("execveat"): {dirfd: 0, path: 1, flags: 4},
}

// execExpectation is the program an allowed execve must load: the file
// the policy's path named or, for a script, its interpreter, and then the
// arguments the kernel gives the interpreter before the caller's own: the
// optional argument of the "#!" line and the script's path as read.
type execExpectation struct {
	dev, ino uint64
	args     []string // nil for a binary
}

// execGuard holds the expectations of the allowed execs by thread ID.
type execGuard struct {
	mu     sync.Mutex
	want   map[int]execExpectation
	caught atomic.Uint64 // processes killed at their exec
}

func newExecGuard() *execGuard { return &execGuard{want: map[int]execExpectation{}} }

// expect notes which file the path that the policy read names for thread
// tid's allowed call; an error is the errno the call fails with instead:
// the file cannot be found as the kernel would find it (ENOENT...), or
// the thread runs in another root (EACCES, as for the path calls).
func (g *execGuard) expect(tid int, call execCall, args [6]uint64, path string) error {
	proc := "/proc/" + strconv.Itoa(tid)
	if root, err := os.Readlink(proc + "/root"); err != nil || root != "/" {
		return unix.EACCES
	}
	at := unix.AT_FDCWD
	flags := 0
	if call.dirfd >= 0 {
		at = int(int32(args[call.dirfd]))
		flags = int(args[call.flags])
	}
	name := path
	switch {
	case path == "" && flags&unix.AT_EMPTY_PATH != 0 && at != unix.AT_FDCWD:
		name = proc + "/fd/" + strconv.Itoa(at)
	case path == "":
		return unix.ENOENT
	case filepath.IsAbs(path):
	case at == unix.AT_FDCWD:
		name = proc + "/cwd/" + path
	default:
		name = proc + "/fd/" + strconv.Itoa(at) + "/" + path
	}
	var st unix.Stat_t
	stat := unix.Stat
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		stat = unix.Lstat
	}
	if err := stat(name, &st); err != nil {
		return err
	}
	w := execExpectation{dev: st.Dev, ino: st.Ino}
	if interp, arg, ok := shebang(name); ok {
		// A script: the kernel runs its interpreter with the optional
		// argument and the script's path, then the caller's arguments.
		if !filepath.IsAbs(interp) {
			interp = proc + "/cwd/" + interp
		}
		if err := unix.Stat(interp, &st); err != nil {
			return err
		}
		w = execExpectation{dev: st.Dev, ino: st.Ino, args: []string{path}}
		if arg != "" {
			w.args = []string{arg, path}
		}
	}
	g.mu.Lock()
	g.want[tid] = w
	g.mu.Unlock()
	return nil
}

// forget drops thread tid's expectation: its exec was not decided on its
// path, was denied, or the thread is gone.
func (g *execGuard) forget(tid int) {
	g.mu.Lock()
	delete(g.want, tid)
	g.mu.Unlock()
}

// loaded reports, at the exec stop of thread tid (former: its ID before
// the exec, which a non-leader thread's exec changes), whether the
// program the kernel loaded is the one the policy allowed; true when the
// exec was not decided on its path.
func (g *execGuard) loaded(tid, former int) bool {
	g.mu.Lock()
	w, ok := g.want[former]
	delete(g.want, former)
	g.mu.Unlock()
	if !ok {
		return true
	}
	proc := "/proc/" + strconv.Itoa(tid)
	var st unix.Stat_t
	if err := unix.Stat(proc+"/exe", &st); err != nil {
		return false
	}
	if st.Dev != w.dev || st.Ino != w.ino {
		return false
	}
	if w.args == nil {
		return true
	}
	// The interpreter runs what its arguments say: they must be those of
	// the script the policy allowed. At this stop the process is a new
	// one, alone in a new address space: its memory holds what the kernel
	// wrote (an interpreter whose arguments are the same runs the same
	// thing, whatever the path the kernel read was).
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return false
	}
	argv := strings.Split(string(cmdline), "\x00")
	return len(argv) > len(w.args) && slices.Equal(argv[1:1+len(w.args)], w.args)
}

// shebang reads the "#!" line of the file at name, as the kernel's
// binfmt_script does: the interpreter and its one optional argument.
func shebang(name string) (interp, arg string, ok bool) {
	f, err := os.Open(name)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	var buf [256]byte // BINPRM_BUF_SIZE
	n, _ := f.Read(buf[:])
	line := buf[:n]
	if !bytes.HasPrefix(line, []byte("#!")) {
		return "", "", false
	}
	line = line[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := strings.TrimSpace(strings.ReplaceAll(string(line), "\t", " "))
	interp, arg, _ = strings.Cut(fields, " ")
	return interp, strings.TrimSpace(arg), interp != ""
}

// errnoOf is err's errno, EACCES when it has none.
func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return unix.EACCES
}
