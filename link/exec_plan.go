package link

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/seccomp"
	"github.com/waggle-ebpf/waggle/internal/syscalls"
	"github.com/waggle-ebpf/waggle/isa"
)

// What a supervised link's programs make of the system calls, on every
// system: which calls the pre-filter decides in the kernel, which it sends
// to waggle, and which programs run on each. Prefilter shows it; the
// supervisor (exec_supervise_linux.go) runs it.

// plan is the pre-filter of a supervised link and the programs that run
// on each system call.
type plan struct {
	filter     seccomp.Filter
	policy     *waggle.Program
	needStatus bool // a program reads the task's IDs or name
	traces     []*traceProg
	enter      [seccomp.TableSize][]*traceProg // by number, the entry programs (raw ones included)
	enterOther []*traceProg                    // the raw entry programs, for numbers past the table
	exit       [seccomp.TableSize][]*traceProg // by number, the exit programs (raw ones included)
	// emulateExit: path calls with exit programs under a policy, which
	// waggle makes (whether the policy read the path or not) to give the
	// exit programs the result.
	emulateExit [seccomp.TableSize]bool
	// guardExecs: the policy decides execve or execveat in waggle, where
	// it may read their path, which the kernel reads again after the
	// decision: the command runs ptraced with exec events, and the exec
	// guard checks what each exec loaded (exec_guard_linux.go).
	guardExecs bool
	// ptraced: waggle is the command's ptrace tracer: exit programs name
	// calls that stop for it (the pre-filter's SECCOMP_RET_TRACE), or
	// guardExecs.
	ptraced bool
}

// traceProg is a tracing program and its tracepoint.
type traceProg struct {
	prog *waggle.Program
	tp   syscalls.Tracepoint
	i    int // its index in plan.traces, and in the supervisor's counts
}

// pathCall is a system call whose path waggle can resolve and use itself.
type pathCall struct {
	name   string
	dirfd  int // the argument holding the directory fd, -1 for AT_FDCWD
	path   int // the argument holding the path
	flags  int // the argument holding the flags, -1 for none
	mode   int // the argument holding the mode, -1 for none
	unlink bool
	creat  bool // creat(2): O_CREAT|O_WRONLY|O_TRUNC
}

// pathCalls are the path calls by x86-64 number.
var pathCalls = map[int]pathCall{
	syscalls.MustNumber("open"):     {name: "open", dirfd: -1, path: 0, flags: 1, mode: 2},
	syscalls.MustNumber("creat"):    {name: "creat", dirfd: -1, path: 0, flags: -1, mode: 1, creat: true},
	syscalls.MustNumber("openat"):   {name: "openat", dirfd: 0, path: 1, flags: 2, mode: 3},
	syscalls.MustNumber("unlink"):   {name: "unlink", dirfd: -1, path: 0, flags: -1, mode: -1, unlink: true},
	syscalls.MustNumber("unlinkat"): {name: "unlinkat", dirfd: 0, path: 1, flags: 2, mode: -1, unlink: true},
}

// identityCalls are the system calls that change a thread's name or IDs,
// or create threads that may reuse the ID of one that exited: while a
// program reads the task's status, they reach the supervisor, which
// forgets what it cached.
var identityCalls = func() (m [seccomp.TableSize]bool) {
	for _, name := range []string{"execve", "execveat", "prctl", "clone", "clone3", "fork", "vfork",
		"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups"} {
		m[syscalls.MustNumber(name)] = true
	}
	return m
}()

// Helper IDs whose answers come from the task's /proc/PID/status.
var statusHelpers = map[int64]bool{14: true, 15: true, 16: true} // get_current_pid_tgid, uid_gid, comm

func callsAny(insns isa.Instructions, ids map[int64]bool) bool {
	for _, ins := range insns {
		if ins.IsHelperCall() && ids[ins.Imm] {
			return true
		}
	}
	return false
}

// newPlan checks the programs and builds the pre-filter.
func newPlan(policy *waggle.Program, opts ExecOptions) (*plan, error) {
	p := &plan{policy: policy}
	table := make([]uint32, seccomp.TableSize)
	other := uint32(seccomp.RetAllow)
	for i := range table {
		table[i] = seccomp.RetAllow
	}
	if policy != nil {
		t := seccomp.Triage(policy.Instructions())
		for nr := range table {
			if t.Constant[nr] {
				table[nr] = t.Table[nr]
			} else {
				table[nr] = seccomp.RetUserNotif
			}
		}
		other = seccomp.RetUserNotif
		if t.OtherConstant {
			other = t.Other
		}
		p.needStatus = callsAny(policy.Instructions(), statusHelpers)
	}
	exits := false
	// A traced call leaves the kernel unless the policy refuses it
	// there: the kernel's tracepoints do not see calls seccomp refused.
	name := func(nr int) {
		if table[nr] == seccomp.RetAllow || table[nr] == seccomp.RetLog {
			table[nr] = seccomp.RetUserNotif
		}
	}
	for _, tr := range opts.Traces {
		if tr.Program == nil {
			return nil, fmt.Errorf("trace %q: no program", tr.Section)
		}
		if typ := tr.Program.Type(); typ != ebpf.TracePoint && typ != ebpf.RawTracepoint {
			return nil, fmt.Errorf("trace %s: a program of type %s; system call tracing takes tracepoint and raw tracepoint programs", tr.Program.Name(), typ)
		}
		tp, err := syscalls.Parse(tr.Section)
		if err != nil {
			return nil, fmt.Errorf("trace %s: %w", tr.Program.Name(), err)
		}
		if tp.Raw != (tr.Program.Type() == ebpf.RawTracepoint) {
			return nil, fmt.Errorf("trace %s: section %q does not fit a program of type %s", tr.Program.Name(), tr.Section, tr.Program.Type())
		}
		t := &traceProg{prog: tr.Program, tp: tp, i: len(p.traces)}
		p.traces = append(p.traces, t)
		if callsAny(tr.Program.Instructions(), statusHelpers) {
			p.needStatus = true
		}
		if tp.Nr >= seccomp.TableSize {
			return nil, fmt.Errorf("trace %s: system call %d is past the pre-filter's table", tr.Program.Name(), tp.Nr)
		}
		if tp.Kind == syscalls.Exit {
			exits = true
			if tp.Nr >= 0 {
				p.exit[tp.Nr] = append(p.exit[tp.Nr], t)
				continue
			}
			for nr := range table {
				p.exit[nr] = append(p.exit[nr], t)
			}
			continue
		}
		if tp.Nr >= 0 {
			name(tp.Nr)
			p.enter[tp.Nr] = append(p.enter[tp.Nr], t)
			continue
		}
		for nr := range table {
			name(nr)
			p.enter[nr] = append(p.enter[nr], t)
		}
		p.enterOther = append(p.enterOther, t)
		if other == seccomp.RetAllow || other == seccomp.RetLog {
			other = seccomp.RetUserNotif
		}
	}
	// The programs are checked; the pre-filter and the supervisor's
	// registers are x86-64's.
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("supervised system calls: waggle knows x86-64's system calls and registers, not %s's", runtime.GOARCH)
	}
	// The calls with exit programs stop for the tracer instead: policy,
	// entry and exit programs all run there.
	// Except the path calls of a policy: waggle makes them (no TOCTOU
	// hole, see exec_emulate_linux.go) and so knows their results, which the
	// exit programs get without ptrace.
	exits = false
	for nr := range table {
		if len(p.exit[nr]) == 0 || (table[nr] != seccomp.RetAllow && table[nr] != seccomp.RetLog && table[nr] != seccomp.RetUserNotif) {
			continue
		}
		if _, path := pathCalls[nr]; path && policy != nil && !opts.ContinuePathCalls {
			table[nr] = seccomp.RetUserNotif
			p.emulateExit[nr] = true
			continue
		}
		table[nr] = seccomp.RetTrace
		exits = true
	}
	if opts.NotifyAll {
		for nr := range table {
			if table[nr] != seccomp.RetTrace {
				table[nr] = seccomp.RetUserNotif
			}
		}
		other = seccomp.RetUserNotif
	}
	if policy != nil && !opts.ContinuePathCalls {
		for _, name := range []string{"execve", "execveat"} {
			if nr := syscalls.MustNumber(name); table[nr] == seccomp.RetUserNotif || table[nr] == seccomp.RetTrace {
				p.guardExecs = true
			}
		}
	}
	p.ptraced = exits || p.guardExecs
	if p.needStatus {
		for nr, id := range identityCalls {
			if id && (table[nr] == seccomp.RetAllow || table[nr] == seccomp.RetLog) {
				table[nr] = seccomp.RetUserNotif
			}
		}
	}
	f, err := seccomp.Prefilter(table, other)
	if err != nil {
		return nil, err
	}
	p.filter = f
	return p, nil
}

// Prefilter is the classic filter that a supervised link with these
// programs would install, and the system calls it sends to waggle (by
// name, "other" for calls past the table or of another architecture;
// "NAME (ptrace)" for those that stop for the tracer because exit
// programs name them), for --explain. It only computes, so it works on
// every system, but it knows x86-64's system calls only: on other
// architectures it fails, as AttachExec does for a supervised link.
func Prefilter(policy *waggle.Program, traces []Trace) (seccomp.Filter, []string, error) {
	p, err := newPlan(policy, ExecOptions{Traces: traces})
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for nr := range seccomp.TableSize {
		var d [seccomp.DataSize]byte
		binary.NativeEndian.PutUint32(d[0:], uint32(nr))
		binary.NativeEndian.PutUint32(d[4:], seccomp.AuditArchX86_64)
		a, err := p.filter.Run(&d)
		switch {
		case err != nil:
		case a == seccomp.RetUserNotif:
			out = append(out, syscalls.Name(nr))
		case a == seccomp.RetTrace:
			out = append(out, syscalls.Name(nr)+" (ptrace)")
		}
	}
	var d [seccomp.DataSize]byte
	if a, err := p.filter.Run(&d); err == nil && a == seccomp.RetUserNotif {
		out = append(out, "other")
	}
	return p.filter, out, nil
}
