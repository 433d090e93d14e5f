package waggle

import (
	"fmt"
	"sync/atomic"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// programLife keeps a loaded program and the maps it uses alive, as the
// kernel's reference counts do: its user holds a reference until
// Program.Close (or until the *Program is garbage collected), and so does
// every prog_array slot that holds the program. While any reference is
// left, the program holds a reference on each of its maps, so a map that
// its creator closed stays usable by the program; the last reference drops
// them. It is what a prog_array stores (a maps.ProgramEntry): tail calls
// enter Code.
//
// It never refers to the *Program, so that an unreferenced Program can be
// collected while prog_arrays still hold its code.
type programLife struct {
	refs       atomic.Int64
	userClosed atomic.Bool
	code       engine.Code
	maps       []maps.Map // the maps the program uses, each retained
	// name is the program's, for dumps of the prog arrays that hold it.
	name string
}

// newProgramLife takes a reference on each of the maps a program uses;
// name is the program's.
func newProgramLife(name string, code engine.Code, used []maps.Map) (*programLife, error) {
	l := &programLife{code: code, name: name}
	l.refs.Store(1)
	for _, m := range used {
		if !maps.Retain(m) {
			l.Release()
			return nil, fmt.Errorf("map %s is closed", m.Spec().Name)
		}
		l.maps = append(l.maps, m)
	}
	return l, nil
}

// Retain takes a reference for a prog_array slot; it fails once the last
// reference is gone.
func (l *programLife) Retain() bool {
	for {
		n := l.refs.Load()
		if n <= 0 {
			return false
		}
		if l.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release drops a reference; the last one releases the maps. The slice
// stays: compiled code may still run in a tail call that entered it, and
// the maps' memory must not be collected under it.
func (l *programLife) Release() {
	if l.refs.Add(-1) != 0 {
		return
	}
	for _, m := range l.maps {
		maps.Release(m)
	}
}

// Code is the code a tail call enters.
func (l *programLife) Code() any { return l.code }

// closeUser drops the user's reference once: the cleanup of a Program
// that was collected without Close.
func (l *programLife) closeUser() {
	if l.userClosed.CompareAndSwap(false, true) {
		l.Release()
	}
}
