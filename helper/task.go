package helper

import "io"

// Task is the thread that a run acts for, as the kernel's "current" task:
// the traced thread whose system call, function or sample the program
// sees. The helpers that ask about the current task
// (bpf_get_current_pid_tgid, bpf_get_current_uid_gid,
// bpf_get_current_comm, bpf_get_current_task's task_struct) answer from
// it, bpf_probe_read_user and bpf_probe_read_user_str read its memory, and
// bpf_get_stack and bpf_get_stackid walk its user stack. A run without a
// Task acts for the waggle process itself, and reads of user memory and
// user stacks fail with -EFAULT.
type Task struct {
	// PID is the thread's ID (the kernel's pid, gettid(2)); TGID is its
	// process's ID (the kernel's tgid, getpid(2)).
	PID, TGID uint32
	// UID and GID are its real user and group IDs.
	UID, GID uint32
	// Comm is its name (/proc/PID/comm), at most 15 bytes are used.
	Comm string
	// PPID is the ID of its parent process (getppid(2), the kernel's
	// real_parent->tgid), which the task_struct of
	// bpf_get_current_task gives.
	PPID uint32
	// Regs are its user-space registers (at the system call, the sample,
	// the probe), from which bpf_get_stack and bpf_get_stackid walk its
	// user stack by frame pointers through Memory (kprobe and perf_event
	// programs start from their context's registers instead when those
	// are user-mode ones); nil: the user stack cannot be walked, and they
	// fail with -EFAULT.
	Regs *UserRegs
	// Memory reads the thread's address space at the offsets of its
	// virtual addresses; nil means none can be read. A read that stops
	// short (n < len(p)) makes the probe read fail with -EFAULT, as a
	// fault does in the kernel.
	Memory io.ReaderAt
}

// UserRegs are the registers of a thread's user-space context that a
// stack walk needs, on x86-64.
type UserRegs struct {
	IP uint64 // rip: the instruction, the stack's first frame
	SP uint64 // rsp
	BP uint64 // rbp: the frame pointer the walk follows
}
