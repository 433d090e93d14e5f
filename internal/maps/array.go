package maps

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// array is BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: max_entries
// preallocated, zeroed elements indexed by a u32 key in host byte order.
// Elements always exist: they cannot be deleted, and BPF_NOEXIST fails.
// Per-CPU arrays keep each element's CPU slots next to each other.
type array struct {
	base
	vals    values
	n       uint32
	size    int     // value size
	stride  uintptr // ValueStride
	cpus    int
	percpu  bool
	regions []memory.Region
}

// checkArraySpec is array_map_alloc_check.
func checkArraySpec(s *Spec) error {
	if err := checkFlags(s, arrayCreateFlags); err != nil {
		return err
	}
	if s.KeySize != 4 {
		return specErr(s, "key_size is %d, array keys are 4 bytes", s.KeySize)
	}
	if s.ValueSize == 0 {
		return specErr(s, "value_size must not be 0")
	}
	if s.Flags&FlagMmapable != 0 && s.Type != ebpf.Array {
		return specErr(s, "flags: BPF_F_MMAPABLE is only for arrays")
	}
	if s.Flags&FlagPreserveElems != 0 {
		return specErr(s, "flags: BPF_F_PRESERVE_ELEMS is only for perf event arrays")
	}
	if s.ValueSize > intMax {
		return specErrno(ErrFull, s, "value_size %d is more than an array value may have (%d, INT_MAX)", s.ValueSize, intMax)
	}
	if IsPerCPU(s.Type) && uint64(s.ValueSize) > pcpuMinUnitSize {
		return specErrno(ErrFull, s, "value_size %d is more than a per-CPU value may have (%d, PCPU_MIN_UNIT_SIZE)", s.ValueSize, pcpuMinUnitSize)
	}
	return nil
}

func newArray(s *Spec) (Map, error) {
	if err := checkArraySpec(s); err != nil {
		return nil, err
	}
	a := &array{
		n:      s.MaxEntries,
		size:   int(s.ValueSize),
		stride: uintptr(ValueStride(s.ValueSize)),
		cpus:   1,
		percpu: IsPerCPU(s.Type),
	}
	if a.percpu {
		a.cpus = s.CPUs
	}
	slot := satMul(uint64(a.stride), uint64(a.cpus))
	what := fmt.Sprintf("%s of %d bytes", plural(uint64(s.MaxEntries), "entry", "entries"), a.stride)
	if a.percpu {
		what += fmt.Sprintf(" on each of %d CPU slots", a.cpus)
	}
	if err := a.reserve(s, heapBytes(satMul(uint64(s.MaxEntries), slot)), what); err != nil {
		return nil, err
	}
	a.vals = newValues(uint64(s.MaxEntries), slot)
	a.regions = a.vals.regions()
	a.init(s, a)
	return a, nil
}

// index decodes an array key.
func arrayIndex(key []byte) uint32 { return binary.NativeEndian.Uint32(key) }

// Lookup returns the element's address on this CPU slot, or nil if the
// index is out of range.
func (a *array) Lookup(key []byte, cpu int) unsafe.Pointer {
	i := arrayIndex(key)
	if i >= a.n {
		return nil
	}
	p := a.vals.slot(i)
	if a.percpu {
		if uint(cpu) >= uint(a.cpus) {
			return nil
		}
		p = unsafe.Add(p, uintptr(cpu)*a.stride)
	}
	return p
}

// checkUpdate applies array_map_update_elem's checks.
func (a *array) checkUpdate(key []byte, flags uint64) (uint32, error) {
	if err := updateFlagsErr(flags); err != nil {
		return 0, err
	}
	i := arrayIndex(key)
	if i >= a.n {
		return 0, Errorf(ErrFull, "index %d is out of the array's %d entries", i, a.n)
	}
	if flags&UpdateNoExist != 0 {
		return 0, Errorf(ErrKeyExist, "array elements always exist (BPF_NOEXIST)")
	}
	return i, nil
}

// Update writes the element (on this CPU slot for per-CPU arrays).
func (a *array) Update(key, value []byte, flags uint64, cpu int) error {
	i, err := a.checkUpdate(key, flags)
	if err != nil {
		return err
	}
	p := a.vals.slot(i)
	if a.percpu {
		if uint(cpu) >= uint(a.cpus) {
			return Errorf(ErrInvalid, "CPU slot %d out of range", cpu)
		}
		p = unsafe.Add(p, uintptr(cpu)*a.stride)
	}
	copyToValue(p, value[:a.size])
	return nil
}

// Delete fails: array elements cannot be deleted.
func (a *array) Delete(key []byte) error {
	return Errorf(ErrInvalid, "array elements cannot be deleted")
}

// LookupUser copies the element (all CPU slots for per-CPU arrays).
func (a *array) LookupUser(key, value []byte) error {
	if err := a.checkUser(key, value); err != nil {
		return err
	}
	i := arrayIndex(key)
	if i >= a.n {
		return Errorf(ErrKeyNotExist, "index %d is out of the array's %d entries", i, a.n)
	}
	copyFromValue(value, a.vals.slot(i))
	return nil
}

// UpdateUser writes the element (all CPU slots for per-CPU arrays).
func (a *array) UpdateUser(key, value []byte, flags uint64) error {
	if err := a.checkUser(key, value); err != nil {
		return err
	}
	i, err := a.checkUpdate(key, flags)
	if err != nil {
		return err
	}
	copyToValue(a.vals.slot(i), value)
	return nil
}

// NextKey follows array_map_get_next_key: the index after key, 0 for a
// missing or out-of-range key.
func (a *array) NextKey(key, next []byte) error {
	if err := a.checkNext(key, next); err != nil {
		return err
	}
	return arrayNextKey(a.n, key, next)
}

func arrayNextKey(n uint32, key, next []byte) error {
	var i uint32
	if key != nil {
		k := arrayIndex(key)
		switch {
		case k >= n:
			i = 0
		case k == n-1:
			return ErrKeyNotExist
		default:
			i = k + 1
		}
	}
	binary.NativeEndian.PutUint32(next, i)
	return nil
}

// Regions is the array's value memory.
func (a *array) Regions() []memory.Region { return a.regions }

// ForEach walks every element in index order.
func (a *array) ForEach(cpu int, fn func(key []byte, value unsafe.Pointer) bool) int {
	if a.percpu && uint(cpu) >= uint(a.cpus) {
		return 0
	}
	if !a.percpu {
		cpu = 0
	}
	var key [4]byte
	n := 0
	for i := uint32(0); i < a.n; i++ {
		binary.NativeEndian.PutUint32(key[:], i)
		n++
		if !fn(key[:], unsafe.Add(a.vals.slot(i), uintptr(cpu)*a.stride)) {
			break
		}
	}
	return n
}

// ArrayValues describes the values of m if it is an array map: the
// address of element 0, the number of elements, the distance between two
// (between two CPU slots of one for per-CPU arrays) and for per-CPU arrays
// the number of CPU slots (0 otherwise): element i's slot c is at
// values + (i*cpus + c)*stride. Compiled code uses it to inline lookups, as
// the kernel's JIT does. The memory lives as long as the map.
func ArrayValues(m Map) (values unsafe.Pointer, n uint32, stride uintptr, cpus int, ok bool) {
	a, ok := m.(*array)
	if !ok {
		return nil, 0, 0, 0, false
	}
	if a.percpu {
		cpus = a.cpus
	}
	return a.vals.base, a.n, a.stride, cpus, true
}
