package kernel

import "github.com/cilium/ebpf"

// syscallType: syscall programs (sleepable), whose context is writable
// memory of the caller's, copied back after the run.
var syscallType = ProgramType{
	Name:      "syscall",
	Types:     []ebpf.ProgramType{ebpf.Syscall},
	Sections:  []string{"syscall"},
	Context:   CtxDesc{Name: "syscall program context", Size: 0xffff, Memory: true, Writable: true},
	Sleepable: true,
	helpers:   tSyscall,
	context:   memoryKind{name: "syscall", writable: true, maxSize: 0xffff},
}
