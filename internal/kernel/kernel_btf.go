package kernel

import (
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle/helper"
)

// waggle's kernel BTF: the types of the "kernel" that waggle is to the
// programs it runs, against which their CO-RE relocations are resolved
// (RelocateCORE), as the kernel's loader resolves them against vmlinux's
// BTF. It describes only what waggle materializes, field by field:
//
//   - struct task_struct, as bpf_get_current_task gives it (taskStruct):
//     pid, tgid, real_parent, group_leader, comm — nothing else, so a
//     program reading another field (fs, mm, cred, ...) is refused at load
//     with the field's name instead of reading what is not there;
//   - the contexts of the syscall tracepoints, laid out as the kernel's
//     format files (events/syscalls/sys_{enter,exit}_NAME/format,
//     events/raw_syscalls/sys_{enter,exit}/format): struct trace_entry,
//     syscall_trace_enter, syscall_trace_exit, trace_event_raw_sys_enter,
//     trace_event_raw_sys_exit;
//   - struct bpf_ringbuf, whose existence (bpf_core_type_exists) tells a
//     program that ring buffer maps exist, as libbpf-tools' compat.bpf.h
//     asks before choosing a ring buffer over a perf event array;
//   - enum bpf_func_id with the helpers waggle implements, so that
//     bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_x) tells
//     whether waggle has helper x.

// The layout of waggle's struct task_struct: the offsets of its fields,
// which the BTF and the memory bpf_get_current_task returns share.
const (
	taskPID         = 0  // int pid (pid_t)
	taskTGID        = 4  // int tgid (pid_t)
	taskRealParent  = 8  // struct task_struct *real_parent
	taskGroupLeader = 16 // struct task_struct *group_leader
	taskComm        = 24 // char comm[16] (TASK_COMM_LEN)
	taskCommLen     = 16
	taskSize        = taskComm + taskCommLen
)

// kernelBTF builds the types of waggle's kernel once.
var kernelBTF = sync.OnceValues(func() (*btf.Spec, error) {
	b, err := btf.NewBuilder(kernelTypes(), nil)
	if err != nil {
		return nil, err
	}
	return b.Spec()
})

// KernelBTF is waggle's kernel BTF: the types CO-RE relocations are
// resolved against (see the comment above taskPID).
func KernelBTF() (*btf.Spec, error) { return kernelBTF() }

func kernelTypes() []btf.Type {
	i8 := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed | btf.Char}
	u8 := &btf.Int{Name: "unsigned char", Size: 1}
	u16 := &btf.Int{Name: "unsigned short", Size: 2}
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	i64 := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	u64 := &btf.Int{Name: "unsigned long", Size: 8}
	pid := &btf.Typedef{Name: "pid_t", Type: &btf.Typedef{Name: "__kernel_pid_t", Type: i32}}
	arr := func(t btf.Type, n uint32) btf.Type {
		return &btf.Array{Index: &btf.Int{Name: "__ARRAY_SIZE_TYPE__", Size: 4}, Type: t, Nelems: n}
	}
	m := func(name string, t btf.Type, off uint32) btf.Member {
		return btf.Member{Name: name, Type: t, Offset: btf.Bits(8 * off)}
	}

	task := &btf.Struct{Name: "task_struct", Size: taskSize}
	taskPtr := &btf.Pointer{Target: task}
	task.Members = []btf.Member{
		m("pid", pid, taskPID),
		m("tgid", pid, taskTGID),
		m("real_parent", taskPtr, taskRealParent),
		m("group_leader", taskPtr, taskGroupLeader),
		m("comm", arr(i8, taskCommLen), taskComm),
	}

	entry := &btf.Struct{Name: "trace_entry", Size: 8, Members: []btf.Member{
		m("type", u16, 0), m("flags", u8, 2), m("preempt_count", u8, 3), m("pid", i32, 4),
	}}
	enter := &btf.Struct{Name: "syscall_trace_enter", Size: 64, Members: []btf.Member{
		m("ent", entry, 0), m("nr", i32, 8), m("args", arr(u64, 6), 16),
	}}
	exit := &btf.Struct{Name: "syscall_trace_exit", Size: 24, Members: []btf.Member{
		m("ent", entry, 0), m("nr", i32, 8), m("ret", i64, 16),
	}}
	rawEnter := &btf.Struct{Name: "trace_event_raw_sys_enter", Size: 64, Members: []btf.Member{
		m("ent", entry, 0), m("id", i64, 8), m("args", arr(u64, 6), 16), m("__data", arr(i8, 0), 64),
	}}
	rawExit := &btf.Struct{Name: "trace_event_raw_sys_exit", Size: 24, Members: []btf.Member{
		m("ent", entry, 0), m("id", i64, 8), m("ret", i64, 16), m("__data", arr(i8, 0), 24),
	}}
	ringbuf := &btf.Struct{Name: "bpf_ringbuf"}

	funcs := &btf.Enum{Name: "bpf_func_id", Size: 4}
	funcs.Values = append(funcs.Values, btf.EnumValue{Name: "BPF_FUNC_unspec", Value: 0})
	for _, d := range defs {
		name := strings.TrimPrefix(helper.Name(int32(d.id)), "bpf_")
		funcs.Values = append(funcs.Values, btf.EnumValue{Name: "BPF_FUNC_" + name, Value: uint64(d.id)})
	}
	return []btf.Type{task, entry, enter, exit, rawEnter, rawExit, ringbuf, funcs}
}
