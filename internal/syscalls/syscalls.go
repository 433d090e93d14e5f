// Package syscalls knows the system calls of x86-64 by name and number,
// and the kernel's system call tracepoints: which tracepoint a program's
// section names (tracepoint/syscalls/sys_enter_openat, tp/raw_syscalls/
// sys_exit, raw_tracepoint/sys_enter, ...) and the record each one gives
// its programs, laid out exactly as the kernel's format files
// (/sys/kernel/tracing/events/syscalls/*/format) describe it. It is the
// one home of these layouts, for every hook that runs tracing programs on
// system calls.
package syscalls

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Count is one more than the highest system call number this package
// names.
const Count = len(names)

// Name is the name of x86-64 system call nr ("openat"), or "syscall_NR"
// for a number it does not know.
func Name(nr int) string {
	if nr >= 0 && nr < len(names) && names[nr] != "" {
		return names[nr]
	}
	return fmt.Sprintf("syscall_%d", nr)
}

// aliases are the kernel's names for system calls whose tracepoints are
// named after the kernel function (SYSCALL_DEFINE) rather than the call.
var aliases = map[string]string{
	"newstat": "stat", "newfstat": "fstat", "newlstat": "lstat", "newuname": "uname",
	"sendfile64": "sendfile", "umount": "umount2",
}

// Number is the number of the system call of that name, or of the
// kernel's tracepoint name for it ("newstat" is stat).
func Number(name string) (int, bool) {
	if a, ok := aliases[name]; ok {
		name = a
	}
	for nr, n := range names {
		if n == name && n != "" {
			return nr, true
		}
	}
	return 0, false
}

// MustNumber is Number for the names a program spells out: it panics on
// a name that is no x86-64 system call.
func MustNumber(name string) int {
	nr, ok := Number(name)
	if !ok {
		panic("syscalls: no x86-64 system call " + name)
	}
	return nr
}

// Kind tells where a tracepoint fires.
type Kind int

// The kinds of system call tracepoints.
const (
	Enter Kind = iota // on entry, with the arguments
	Exit              // on return, with the result
)

// Tracepoint is a system call tracepoint that a program attaches to.
type Tracepoint struct {
	Kind Kind
	// Nr is the system call of a syscalls/sys_enter_NAME or sys_exit_NAME
	// tracepoint; -1 for raw_syscalls and raw tracepoints, which fire on
	// every call.
	Nr int
	// Raw is a raw tracepoint (raw_tracepoint/sys_enter): the context is
	// u64 args[2] (struct pt_regs * and the number or the result), not a
	// record.
	Raw bool
}

// String names the tracepoint as a section does:
// "tracepoint/syscalls/sys_enter_openat".
func (t Tracepoint) String() string {
	dir := "enter"
	if t.Kind == Exit {
		dir = "exit"
	}
	switch {
	case t.Raw:
		return "raw_tracepoint/sys_" + dir
	case t.Nr < 0:
		return "tracepoint/raw_syscalls/sys_" + dir
	}
	return "tracepoint/syscalls/sys_" + dir + "_" + Name(t.Nr)
}

// Parse reads a program's section (or a tracepoint's name without the
// program type prefix, as "syscalls/sys_enter_openat") and returns the
// system call tracepoint it names.
func Parse(section string) (Tracepoint, error) {
	s := section
	raw := false
	switch {
	case strings.HasPrefix(s, "tracepoint/"):
		s = strings.TrimPrefix(s, "tracepoint/")
	case strings.HasPrefix(s, "tp/"):
		s = strings.TrimPrefix(s, "tp/")
	case strings.HasPrefix(s, "raw_tracepoint/"):
		s, raw = strings.TrimPrefix(s, "raw_tracepoint/"), true
	case strings.HasPrefix(s, "raw_tp/"):
		s, raw = strings.TrimPrefix(s, "raw_tp/"), true
	}
	if raw {
		switch s {
		case "sys_enter":
			return Tracepoint{Kind: Enter, Nr: -1, Raw: true}, nil
		case "sys_exit":
			return Tracepoint{Kind: Exit, Nr: -1, Raw: true}, nil
		}
		return Tracepoint{}, fmt.Errorf("section %q: the raw tracepoints of system calls are sys_enter and sys_exit", section)
	}
	group, event, ok := strings.Cut(s, "/")
	if !ok {
		return Tracepoint{}, fmt.Errorf("section %q names no system call tracepoint: expected tracepoint/syscalls/sys_enter_NAME, sys_exit_NAME, tracepoint/raw_syscalls/sys_enter or sys_exit, or raw_tracepoint/sys_enter or sys_exit", section)
	}
	switch group {
	case "raw_syscalls":
		switch event {
		case "sys_enter":
			return Tracepoint{Kind: Enter, Nr: -1}, nil
		case "sys_exit":
			return Tracepoint{Kind: Exit, Nr: -1}, nil
		}
		return Tracepoint{}, fmt.Errorf("section %q: the raw_syscalls tracepoints are sys_enter and sys_exit, not %q", section, event)
	case "syscalls":
		kind, name := Enter, ""
		switch {
		case strings.HasPrefix(event, "sys_enter_"):
			name = strings.TrimPrefix(event, "sys_enter_")
		case strings.HasPrefix(event, "sys_exit_"):
			kind, name = Exit, strings.TrimPrefix(event, "sys_exit_")
		default:
			return Tracepoint{}, fmt.Errorf("section %q: a syscalls tracepoint is sys_enter_NAME or sys_exit_NAME, not %q", section, event)
		}
		nr, ok := Number(name)
		if !ok {
			return Tracepoint{}, fmt.Errorf("section %q: %q is no x86-64 system call", section, name)
		}
		return Tracepoint{Kind: kind, Nr: nr}, nil
	}
	return Tracepoint{}, fmt.Errorf("section %q: tracepoint group %q has no system call tracepoints (syscalls and raw_syscalls do)", section, group)
}

// Field is one field of a tracepoint's record, as its format file lists
// it.
type Field struct {
	Name         string
	Offset, Size int
	Signed       bool
}

// The common fields that start every record (the kernel's struct
// trace_entry); programs may not read them.
var commonFields = []Field{
	{"common_type", 0, 2, false}, {"common_flags", 2, 1, false},
	{"common_preempt_count", 3, 1, false}, {"common_pid", 4, 4, true},
}

// Record sizes: syscalls/sys_enter_NAME holds the number and up to six
// arguments; the exits and raw_syscalls' records are fixed.
const (
	// EnterArgs is the offset of the first argument of a sys_enter
	// record; argument i is the 8 bytes at EnterArgs + 8*i.
	EnterArgs = 16
	// ExitRet is the offset of the result in sys_exit records.
	ExitRet = 16
	// RecordSize is the largest record: a number and six arguments.
	RecordSize = EnterArgs + 6*8
)

// Fields lays out the tracepoint's record: the common fields, then
// "__syscall_nr" (int, at 8) and the arguments "arg0".."arg5" (8 bytes
// each from 16; the kernel's format names them after the call's
// parameters and lists only as many as the call has) or "ret" (long, at
// 16) for syscalls/*; "id" (long, at 8) and "args" (unsigned long[6]) or
// "ret" for raw_syscalls. A raw tracepoint has no record: Fields returns
// its two u64 arguments.
func (t Tracepoint) Fields() []Field {
	if t.Raw {
		second := "id"
		if t.Kind == Exit {
			second = "ret"
		}
		return []Field{{"regs", 0, 8, false}, {second, 8, 8, true}}
	}
	f := append([]Field(nil), commonFields...)
	if t.Nr < 0 {
		f = append(f, Field{"id", 8, 8, true})
		if t.Kind == Enter {
			return append(f, Field{"args", 16, 48, false})
		}
		return append(f, Field{"ret", 16, 8, true})
	}
	f = append(f, Field{"__syscall_nr", 8, 4, true})
	if t.Kind == Exit {
		return append(f, Field{"ret", ExitRet, 8, true})
	}
	for i := range 6 {
		f = append(f, Field{fmt.Sprintf("arg%d", i), EnterArgs + 8*i, 8, false})
	}
	return f
}

// Call is what a tracepoint reports of one system call.
type Call struct {
	PID  uint32 // the thread (common_pid)
	Nr   int32
	Args [6]uint64
	Ret  int64 // the result, for exits
}

// Context writes the context a program of the tracepoint gets for call
// into buf (which must hold RecordSize bytes) and returns it: the record
// laid out as Fields says, or for a raw tracepoint the u64 arguments
// (regs, which waggle cannot give, is 0).
func (t Tracepoint) Context(buf []byte, c *Call) []byte {
	b := buf[:RecordSize]
	clear(b)
	le := binary.NativeEndian
	if t.Raw {
		if t.Kind == Enter {
			le.PutUint64(b[8:], uint64(int64(c.Nr)))
		} else {
			le.PutUint64(b[8:], uint64(c.Ret))
		}
		return b[:16]
	}
	le.PutUint32(b[4:], c.PID)
	if t.Nr < 0 {
		le.PutUint64(b[8:], uint64(int64(c.Nr)))
	} else {
		le.PutUint32(b[8:], uint32(c.Nr))
	}
	if t.Kind == Exit {
		le.PutUint64(b[ExitRet:], uint64(c.Ret))
		return b[:ExitRet+8]
	}
	for i, a := range c.Args {
		le.PutUint64(b[EnterArgs+8*i:], a)
	}
	return b
}
