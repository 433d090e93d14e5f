package kernel

import "github.com/cilium/ebpf"

// Seccomp is a program type of waggle's own, outside the kernel's range of
// program types: a system call policy, SEC("seccomp"). Its context is the
// kernel's struct seccomp_data (<linux/seccomp.h>: the syscall number, the
// audit architecture, the instruction pointer and the six arguments),
// read-only, and it returns a SECCOMP_RET_* action (ALLOW, ERRNO | errno,
// KILL_PROCESS, KILL_THREAD, TRAP, LOG), as a classic seccomp filter does.
const Seccomp ebpf.ProgramType = 0x7761_0002

// seccompDataSize is sizeof(struct seccomp_data).
const seccompDataSize = 64

// seccompType is Seccomp: the context is plain read-only memory of a
// struct seccomp_data, which a run gets as RunOptions.Context.
var seccompType = ProgramType{
	Name:     "seccomp",
	Types:    []ebpf.ProgramType{Seccomp},
	Sections: []string{"seccomp", "seccomp/"},
	Context:  CtxDesc{Name: "struct seccomp_data", Size: seccompDataSize, Memory: true},
	CTypes:   []string{"seccomp_data"},
	helpers:  tSeccomp,
	context:  memoryKind{name: "seccomp"},
}
