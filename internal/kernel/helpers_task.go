package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// The task_structs of bpf_get_current_task: the current thread, its
// thread group's leader and its parent, one after the other in memory the
// program may read (read-only helper memory), laid out as waggle's kernel
// BTF says (taskPID ...), so that BPF_CORE_READ(task, real_parent, tgid)
// and BPF_CORE_READ(task, group_leader, comm), relocated against that BTF,
// read them with bpf_probe_read_kernel.
const (
	taskSelf = iota
	taskLeader
	taskParent
	taskStructs
)

// taskStructs builds the run's task_structs once per run, when the program
// first asks for them, and returns the address of the current one.
func (r *Run) currentTaskStruct() uint64 {
	if r.taskMem == nil {
		r.taskMem = make([]byte, taskStructs*taskSize)
		r.taskRegion = memory.NewRegion(r.taskMem, false, memory.KindHelper)
	}
	base := r.taskRegion.Start
	if r.taskAdded {
		return base
	}
	var pid, tgid, ppid uint32
	var comm string
	if t := r.task; t != nil {
		pid, tgid, ppid, comm = t.PID, t.TGID, t.PPID, t.Comm
	} else {
		pid, tgid, ppid = threadID(), uint32(os.Getpid()), uint32(os.Getppid())
		comm = procComm()
		if r.opts.Comm != "" {
			comm = r.opts.Comm
		}
	}
	addr := func(i int) uint64 { return base + uint64(i*taskSize) }
	leader := taskLeader
	if pid == tgid {
		leader = taskSelf
	}
	clear(r.taskMem)
	fill := func(i int, pid, tgid uint32, parent uint64, leader int, comm string) {
		b := r.taskMem[i*taskSize : (i+1)*taskSize]
		binary.NativeEndian.PutUint32(b[taskPID:], pid)
		binary.NativeEndian.PutUint32(b[taskTGID:], tgid)
		binary.NativeEndian.PutUint64(b[taskRealParent:], parent)
		binary.NativeEndian.PutUint64(b[taskGroupLeader:], addr(leader))
		copy(b[taskComm:taskComm+taskCommLen-1], comm)
	}
	fill(taskSelf, pid, tgid, addr(taskParent), leader, comm)
	fill(taskLeader, tgid, tgid, addr(taskParent), leader, comm)
	fill(taskParent, ppid, ppid, 0, taskParent, "")
	r.mem.Add(r.taskRegion)
	r.taskAdded = true
	return base
}

// getCurrentTask is bpf_get_current_task: the address of the current
// task's task_struct (see currentTaskStruct), 0 outside a run.
func getCurrentTask(c *helper.Call) (uint64, error) {
	r, _ := c.State.(*Run)
	if r == nil || r.mem == nil {
		return 0, nil
	}
	return r.currentTaskStruct(), nil
}

// The flags of bpf_get_stack.
const (
	stackSkipMask   = 0xff    // BPF_F_SKIP_FIELD_MASK
	stackUser       = 1 << 8  // BPF_F_USER_STACK
	stackUserBuild  = 1 << 11 // BPF_F_USER_BUILD_ID
	stackMaxDepth   = 127     // sysctl kernel.perf_event_max_stack's default
	buildIDSize     = 32      // sizeof(struct bpf_stack_build_id)
	buildIDStatusIP = 2       // BPF_STACK_BUILD_ID_IP
	userSpaceEnd    = 1 << 47 // TASK_SIZE_MAX on x86-64 (4-level page tables)
	frameSize       = 16      // saved rbp, return address
	stackFlagsKnown = stackSkipMask | stackUser | stackUserBuild
)

// getStack is bpf_get_stack(ctx, buf, size, flags), the kernel's
// __bpf_get_stack: the user stack of the run's task, walked by frame
// pointers from Task.Regs through Task.Memory as the kernel's
// perf_callchain_user does on x86-64 (the instruction pointer, then each
// frame's return address); the kernel stack is empty (waggle's programs run
// in no kernel). It returns the bytes written, the rest of buf zeroed, or a
// negative errno with buf zeroed.
func getStack(c *helper.Call) (uint64, error) {
	size := uint64(uint32(c.Args[2]))
	buf, err := c.Write(c.Args[1], size)
	if err != nil {
		return 0, err
	}
	flags := c.Args[3]
	fail := func(e errno.Errno) (uint64, error) {
		clear(buf)
		return neg(e), nil
	}
	user, buildID := flags&stackUser != 0, flags&stackUserBuild != 0
	if flags&^stackFlagsKnown != 0 || (buildID && !user) {
		return fail(errno.EINVAL)
	}
	elem := uint64(8)
	if buildID {
		elem = buildIDSize
	}
	if size%elem != 0 {
		return fail(errno.EINVAL)
	}
	skip := int(flags & stackSkipMask)
	num := int(size / elem)
	depth := min(num+skip, stackMaxDepth)
	var ips []uint64
	if user {
		var ok bool
		if ips, ok = userStack(currentTask(c), stackRegs(c), depth); !ok {
			return fail(errno.EFAULT)
		}
	}
	if len(ips) < skip {
		return fail(errno.EFAULT)
	}
	ips = ips[skip:]
	ips = ips[:min(len(ips), num)]
	clear(buf)
	for i, ip := range ips {
		if buildID {
			e := buf[i*buildIDSize:]
			binary.NativeEndian.PutUint32(e, buildIDStatusIP)
			binary.NativeEndian.PutUint64(e[24:], ip)
		} else {
			binary.NativeEndian.PutUint64(buf[i*8:], ip)
		}
	}
	return uint64(len(ips)) * elem, nil
}

// The x86-64 struct pt_regs: where a kprobe's context and a perf event's
// (struct bpf_perf_event_data starts with one) keep the registers a stack
// walk starts from.
const (
	ptRegsBP = 32
	ptRegsIP = 128
	ptRegsCS = 136
	ptRegsSP = 152
)

// stackRegs are the user registers a stack walk starts from, as the
// kernel's get_perf_callchain takes them: a kprobe's or perf event's
// context's registers when they are user-mode ones (cs & 3 == 3, as a
// uprobe's or a user-space sample's are), else the task's (Task.Regs, the
// kernel's task_pt_regs(current)); nil when there are none.
func stackRegs(c *helper.Call) *helper.UserRegs {
	t := currentTask(c)
	var regs *helper.UserRegs
	if t != nil {
		regs = t.Regs
	}
	r, _ := c.State.(*Run)
	if r == nil || (r.pt != &kprobeType && r.pt != &perfEventType) {
		return regs
	}
	word := func(off uint64) (uint64, bool) {
		b, err := c.Read(c.Args[0]+off, 8)
		if err != nil {
			return 0, false
		}
		return binary.NativeEndian.Uint64(b), true
	}
	cs, ok := word(ptRegsCS)
	if !ok || cs&3 != 3 {
		return regs
	}
	ip, ok1 := word(ptRegsIP)
	sp, ok2 := word(ptRegsSP)
	bp, ok3 := word(ptRegsBP)
	if !ok1 || !ok2 || !ok3 {
		return regs
	}
	return &helper.UserRegs{IP: ip, SP: sp, BP: bp}
}

// userStack walks the task's user stack by frame pointers from regs: the
// instruction pointer, then the return address of each frame, at most
// depth addresses; false when there are no user registers to start from.
func userStack(t *helper.Task, regs *helper.UserRegs, depth int) ([]uint64, bool) {
	if regs == nil {
		return nil, false
	}
	ips := make([]uint64, 0, depth)
	if depth == 0 {
		return ips, true
	}
	ips = append(ips, regs.IP)
	fp := regs.BP
	var frame [frameSize]byte
	for len(ips) < depth && t != nil && t.Memory != nil {
		if fp >= userSpaceEnd-frameSize {
			break
		}
		n, err := t.Memory.ReadAt(frame[:], int64(fp))
		if n < frameSize || (err != nil && !errors.Is(err, io.EOF)) {
			break
		}
		ips = append(ips, binary.NativeEndian.Uint64(frame[8:]))
		fp = binary.NativeEndian.Uint64(frame[:])
	}
	return ips, true
}

// getStackID is bpf_get_stackid(ctx, map, flags): the stack of getStack
// (the user stack with BPF_F_USER_STACK, else the empty kernel stack),
// at most value_size/entry frames after the skipped ones, stored in the
// stack trace map (maps.StackTrace.StackID); its ID, or a negative errno.
func getStackID(c *helper.Call) (uint64, error) {
	m, err := mapOf(c.Args[1])
	if err != nil {
		return 0, err
	}
	st, ok := m.(*maps.StackTrace)
	if !ok {
		return 0, fmt.Errorf("map %s of type %s is not a stack trace map", m.Spec().Name, m.Spec().Type)
	}
	flags := c.Args[2]
	if flags&^stackIDFlags != 0 {
		return neg(errno.EINVAL), nil
	}
	skip := int(flags & stackSkipMask)
	depth := min(int(m.Spec().ValueSize)/st.Elem()+skip, stackMaxDepth)
	var ips []uint64
	if flags&stackUser != 0 {
		if ips, ok = userStack(currentTask(c), stackRegs(c), depth); !ok {
			return neg(errno.EFAULT), nil
		}
	}
	if len(ips) <= skip {
		return neg(errno.EFAULT), nil
	}
	id, e := st.StackID(ips[skip:], flags)
	if e != nil {
		return neg(e.Errno), nil
	}
	return uint64(id), nil
}

// stackIDFlags are bpf_get_stackid's flags: the skip field,
// BPF_F_USER_STACK, BPF_F_FAST_STACK_CMP, BPF_F_REUSE_STACKID.
const stackIDFlags = stackSkipMask | stackUser | 1<<9 | 1<<10

// getAttachCookie is bpf_get_attach_cookie: the cookie of the attachment
// that runs the program (Input.Cookie).
func getAttachCookie(c *helper.Call) (uint64, error) {
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	return r.attachCookie, nil
}
