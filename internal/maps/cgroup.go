package maps

import (
	"sync/atomic"
	"unsafe"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// CgroupArray is a cgroup array (BPF_MAP_TYPE_CGROUP_ARRAY): in the kernel
// each slot holds a cgroup that user space stored by file descriptor, for
// bpf_current_task_under_cgroup and bpf_skb_under_cgroup, the only helpers
// that take it. waggle has neither helper, so no program can use the map
// (the verifier refuses a path that calls them); it exists so that objects
// that declare one — libbpf-tools' cgroup filters, off unless asked for —
// load, and Go code may set and clear its slots. A slot keeps the value
// stored (the kernel's cgroup fd) without resolving it.
type CgroupArray struct {
	base
	slots []atomic.Uint64 // the value | 1<<32 when set
}

func newCgroupArray(s *Spec) (Map, error) {
	if s.KeySize != 4 || s.ValueSize != 4 {
		return nil, specErr(s, "cgroup arrays have 4-byte keys and values, not %d and %d", s.KeySize, s.ValueSize)
	}
	if err := checkFlags(s, FlagNUMANode|FlagRdOnly|FlagWrOnly); err != nil {
		return nil, err
	}
	c := &CgroupArray{}
	if err := c.reserve(s, heapBytes(satMul(uint64(s.MaxEntries), 8)), plural(uint64(s.MaxEntries), "slot", "slots")); err != nil {
		return nil, err
	}
	c.slots = make([]atomic.Uint64, s.MaxEntries)
	c.init(s, c)
	return c, nil
}

// Lookup has no value for programs to address.
func (c *CgroupArray) Lookup(key []byte, cpu int) unsafe.Pointer { return nil }

// Update is refused for programs, as in the kernel.
func (c *CgroupArray) Update(key, value []byte, flags uint64, cpu int) error { return ErrNotSupp }

// Delete clears a slot.
func (c *CgroupArray) Delete(key []byte) error {
	i := *(*uint32)(unsafe.Pointer(&key[0]))
	if i >= uint32(len(c.slots)) {
		return ErrKeyNotExist
	}
	if c.slots[i].Swap(0) == 0 {
		return ErrKeyNotExist
	}
	return nil
}

// LookupUser: slots hold no readable value (the kernel's ENOTSUPP).
func (c *CgroupArray) LookupUser(key, value []byte) error { return ErrNotSupp }

// UpdateUser sets a slot below max_entries to the value; flags other
// than BPF_ANY are refused, as for the kernel's fd arrays.
func (c *CgroupArray) UpdateUser(key, value []byte, flags uint64) error {
	i := *(*uint32)(unsafe.Pointer(&key[0]))
	if i >= c.spec.MaxEntries {
		return ErrFull
	}
	if flags != 0 {
		return ErrInvalid // fd arrays take BPF_ANY only
	}
	c.slots[i].Store(uint64(*(*uint32)(unsafe.Pointer(&value[0]))) | 1<<32)
	return nil
}

// NextKey walks the indexes, as for arrays.
func (c *CgroupArray) NextKey(key, next []byte) error {
	i := uint32(0)
	if key != nil {
		i = *(*uint32)(unsafe.Pointer(&key[0])) + 1
		if *(*uint32)(unsafe.Pointer(&key[0])) >= c.spec.MaxEntries {
			i = 0
		}
	}
	if i >= c.spec.MaxEntries {
		return ErrKeyNotExist
	}
	*(*uint32)(unsafe.Pointer(&next[0])) = i
	return nil
}

// Regions: programs cannot address cgroups.
func (c *CgroupArray) Regions() []memory.Region { return nil }
