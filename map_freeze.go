package waggle

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// errNotSupp is the kernel's ENOTSUPP (524), which BPF_MAP_FREEZE answers
// for a map whose value holds a bpf_spin_lock (cilium/ebpf's
// sys.ENOTSUPP; it is not EOPNOTSUPP).
const errNotSupp = errno.ENOTSUPP

// Freeze makes the map read-only to Go, as BPF_MAP_FREEZE (cilium/ebpf's
// Map.Freeze) makes it read-only to system calls: afterwards Update, Put,
// Delete, LookupAndDelete, the batch operations that write and
// Variable.Set fail with an error matching unix.EPERM, before they look
// at their arguments, as in the kernel. Lookups and iteration go on.
// Programs are unaffected: what they may write is set by the map's flags
// (BPF_F_RDONLY_PROG), as in the kernel. A map cannot be thawed.
//
// Freezing a frozen map (.rodata is frozen at load) fails with unix.EPERM,
// as in Linux 6.18, which refuses to freeze a map that system calls may
// not write before it looks at whether the map is frozen (EBUSY there is
// for a map mapped writable, which waggle's maps never are); a map whose
// value holds a bpf_spin_lock fails with the kernel's ENOTSUPP (errno
// 524).
func (m *Map) Freeze() error {
	if m.closed.Load() {
		return m.errClosed("freeze")
	}
	if s := m.impl.Spec(); s.HasSpinLock {
		return fmt.Errorf("freeze: map %s: its value holds a bpf_spin_lock, which the kernel does not let a frozen map have: %w", m.label(), errNotSupp)
	}
	if !maps.TryFreeze(m.impl) {
		return fmt.Errorf("freeze: map %s is frozen already, so not writable: %w", m.label(), errno.EPERM)
	}
	return nil
}

// IsFrozen reports whether the map is frozen (by Freeze, or at load for
// .rodata).
func (m *Map) IsFrozen() bool { return maps.Frozen(m.impl) }

// checkWritable refuses op on a frozen map with EPERM, as the kernel's
// system calls that write a map do.
func (m *Map) checkWritable(op string) error {
	if maps.Frozen(m.impl) {
		return fmt.Errorf("%s: map %s is frozen: %w", op, m.label(), errno.EPERM)
	}
	return nil
}

// label names the map in errors: its name, or for an unnamed map its type
// and handle.
func (m *Map) label() string {
	if m.name != "" {
		return m.name
	}
	return m.String()
}
