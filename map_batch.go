package waggle

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

// MapBatchCursor is where a batch lookup goes on from, as cilium/ebpf's:
// a zero MapBatchCursor starts at the beginning; pass the same cursor to
// the following calls. A cursor belongs to the first map it is used with.
type MapBatchCursor struct {
	m    *Map
	last []byte // where the next batch starts after; nil: at the start
}

// BatchOptions are the flags of the batch operations, as cilium/ebpf's.
// As in the kernel, Flags must be 0 and ElemFlags may only be BPF_F_LOCK
// (for values with a bpf_spin_lock, which waggle does not support in
// updates): anything else, BPF_NOEXIST and BPF_EXIST included, is EINVAL.
type BatchOptions = ebpf.BatchOptions

// batchable reports whether the kernel has batch operations for maps of
// type t: arrays and hashes.
func batchable(t ebpf.MapType) bool {
	switch t {
	case ebpf.Array, ebpf.PerCPUArray, ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash, ebpf.LRUCPUHash:
		return true
	}
	return false
}

// batchCheck refuses what the kernel refuses before a batch operation
// starts: a closed map, a frozen one for operations that write (EPERM),
// a type without batch operations (ENOTSUPP), flags (EINVAL).
func (m *Map) batchCheck(op string, writes bool, opts *BatchOptions) error {
	if m.closed.Load() {
		return m.errClosed(op)
	}
	if writes {
		if err := m.checkWritable(op); err != nil {
			return err
		}
	}
	if !batchable(m.typ) {
		return fmt.Errorf("%s: map %s: %s maps have no batch operations: %w", op, m.label(), m.typ, errNotSupp)
	}
	if opts != nil {
		if opts.Flags != 0 {
			return fmt.Errorf("%s: %w", op, maps.Errorf(maps.ErrInvalid, "BatchOptions.Flags is %#x, must be 0", opts.Flags))
		}
		if opts.ElemFlags&^maps.UpdateLock != 0 {
			return fmt.Errorf("%s: %w", op, maps.Errorf(maps.ErrInvalid, "BatchOptions.ElemFlags is %#x: the kernel's batch operations take no flag but BPF_F_LOCK (not even BPF_NOEXIST or BPF_EXIST)", opts.ElemFlags))
		}
		if opts.ElemFlags&maps.UpdateLock != 0 {
			return fmt.Errorf("%s: %w", op, maps.Errorf(maps.ErrInvalid, "BatchOptions.ElemFlags has BPF_F_LOCK, which needs a bpf_spin_lock in the value and is not supported"))
		}
	}
	return nil
}

// batchSlices checks the keys and values of a batch: slices (not pointers
// to them) of the same length, per-CPU values CPUs elements per key.
func (m *Map) batchSlices(keys, values any, withValues bool) (n int, kv, vv reflect.Value, err error) {
	kv = reflect.ValueOf(keys)
	if kv.Kind() != reflect.Slice {
		return 0, kv, vv, fmt.Errorf("keys: need a slice, got %T", keys)
	}
	n = kv.Len()
	if !withValues {
		return n, kv, vv, nil
	}
	vv = reflect.ValueOf(values)
	if vv.Kind() != reflect.Slice {
		return 0, kv, vv, fmt.Errorf("values: need a slice, got %T", values)
	}
	want := n
	if m.percpu {
		want = n * m.cpus
	}
	if vv.Len() != want {
		if m.percpu {
			return 0, kv, vv, fmt.Errorf("values: %d elements for %d keys of a per-CPU map with %d CPUs: want %d", vv.Len(), n, m.cpus, want)
		}
		return 0, kv, vv, fmt.Errorf("keys and values must have the same length: %d keys, %d values", n, vv.Len())
	}
	return n, kv, vv, nil
}

// elem is element i of a slice as an any that (un)marshalling takes.
func elem(s reflect.Value, i int) any { return s.Index(i).Addr().Interface() }

// isArray reports whether t is an array whose elements cannot be deleted.
func isArray(t ebpf.MapType) bool { return t == ebpf.Array || t == ebpf.PerCPUArray }

// BatchLookup copies up to len(keysOut) elements, from where cursor is,
// into keysOut and valuesOut (slices of keys and of values; for per-CPU
// maps CPUs values per key, key i's at [i*CPUs, (i+1)*CPUs)), and returns
// how many it copied, as cilium/ebpf's BatchLookup and the kernel's
// BPF_MAP_LOOKUP_BATCH do. Once it reaches the end of the map it returns
// the count of what it copied with an error matching ebpf.ErrKeyNotExist
// (ENOENT): that is how the caller knows the lookup is done. Elements
// come in NextKey order; a hash map's order is not the kernel's (whose
// seed is random) and waggle never answers ENOSPC for a bucket larger
// than the batch. Array and hash maps (all four) have batch operations;
// other types fail with the kernel's ENOTSUPP (errno 524). opts.Flags and
// opts.ElemFlags must be 0 (EINVAL). A cursor used with another map is an
// error.
func (m *Map) BatchLookup(cursor *MapBatchCursor, keysOut, valuesOut any, opts *BatchOptions) (int, error) {
	return m.batchLookup("batch lookup", false, cursor, keysOut, valuesOut, opts)
}

// BatchLookupAndDelete is BatchLookup that also deletes the elements it
// returns (BPF_MAP_LOOKUP_AND_DELETE_BATCH): for hash maps only (arrays
// cannot delete: the kernel's ENOTSUPP, errno 524), and EPERM on a frozen
// map.
func (m *Map) BatchLookupAndDelete(cursor *MapBatchCursor, keysOut, valuesOut any, opts *BatchOptions) (int, error) {
	return m.batchLookup("batch lookup and delete", true, cursor, keysOut, valuesOut, opts)
}

func (m *Map) batchLookup(op string, del bool, cursor *MapBatchCursor, keysOut, valuesOut any, opts *BatchOptions) (int, error) {
	if err := m.batchCheck(op, del, opts); err != nil {
		return 0, err
	}
	if del && isArray(m.typ) {
		return 0, fmt.Errorf("%s: map %s: %s elements cannot be deleted: %w", op, m.label(), m.typ, errNotSupp)
	}
	if cursor == nil {
		return 0, fmt.Errorf("%s: nil MapBatchCursor", op)
	}
	if cursor.m == nil {
		cursor.m = m
		if isArray(m.typ) {
			// From the second call on, cilium/ebpf gives the kernel the
			// cursor's buffer, zeroes if the first call returned nothing:
			// the kernel then goes on after index 0. Set here, it is
			// replaced by the last key returned, if any.
			defer func() {
				if cursor.last == nil {
					cursor.last = make([]byte, m.keySize)
				}
			}()
		}
	} else if cursor.m != m {
		return 0, fmt.Errorf("%s: a cursor may not be reused across maps", op)
	}
	count, kv, vv, err := m.batchSlices(keysOut, valuesOut, true)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	if count == 0 {
		return 0, nil // as the kernel answers a count of 0
	}
	buf := make([]byte, m.fullValue)
	next := make([]byte, m.keySize)
	n := 0
	key := cursor.last
	for n < count {
		err := m.impl.NextKey(key, next)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return n, fmt.Errorf("%s: map %s: no more elements: %w", op, m.label(), maps.ErrKeyNotExist)
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", op, err)
		}
		key = append(key[:0:0], next...)
		if err := m.impl.LookupUser(key, buf); errors.Is(err, ebpf.ErrKeyNotExist) {
			continue // deleted meanwhile
		} else if err != nil {
			return n, fmt.Errorf("%s: %w", op, err)
		}
		if err := unmarshalBytes(elem(kv, n), key, "key"); err != nil {
			return n, fmt.Errorf("%s: keys[%d]: %w", op, n, err)
		}
		if m.percpu {
			err = m.unmarshalPerCPU(vv.Slice(n*m.cpus, (n+1)*m.cpus).Interface(), buf)
		} else {
			err = unmarshalBytes(elem(vv, n), buf, "value")
		}
		if err != nil {
			return n, fmt.Errorf("%s: values[%d]: %w", op, n, err)
		}
		if del {
			if err := m.impl.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return n, fmt.Errorf("%s: %w", op, err)
			}
		}
		cursor.last = key
		n++
	}
	return n, nil
}

// BatchUpdate creates or replaces the values of keys (slices as for
// BatchLookup), in order, as BPF_MAP_UPDATE_BATCH does (BPF_ANY: the
// kernel takes no other flag for batches): it stops at the
// first element that fails and returns how many it updated with that
// element's error. EPERM on a frozen map.
func (m *Map) BatchUpdate(keys, values any, opts *BatchOptions) (int, error) {
	const op = "batch update"
	if err := m.batchCheck(op, true, opts); err != nil {
		return 0, err
	}
	count, kv, vv, err := m.batchSlices(keys, values, true)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	var flags uint64
	if opts != nil {
		flags = opts.ElemFlags
	}
	for i := range count {
		k, err := m.marshalKey(kv.Index(i).Interface())
		if err != nil {
			return i, fmt.Errorf("%s: keys[%d]: %w", op, i, err)
		}
		var v []byte
		if m.percpu {
			v, err = m.marshalPerCPU(vv.Slice(i*m.cpus, (i+1)*m.cpus).Interface())
		} else {
			v, err = marshalBytes(vv.Index(i).Interface(), int(m.valueSize), "value")
		}
		if err != nil {
			return i, fmt.Errorf("%s: values[%d]: %w", op, i, err)
		}
		if err := m.impl.UpdateUser(k, v, flags); err != nil {
			return i, fmt.Errorf("%s: keys[%d]: %w", op, i, err)
		}
	}
	return count, nil
}

// BatchDelete deletes keys (a slice) in order, as BPF_MAP_DELETE_BATCH
// does: it stops at the first key that fails (ebpf.ErrKeyNotExist for an
// absent key) and returns how many it deleted with that error. Arrays,
// which cannot delete, fail with the kernel's ENOTSUPP (errno 524); a
// frozen map with EPERM.
func (m *Map) BatchDelete(keys any, opts *BatchOptions) (int, error) {
	const op = "batch delete"
	if err := m.batchCheck(op, true, opts); err != nil {
		return 0, err
	}
	count, kv, _, err := m.batchSlices(keys, nil, false)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	if isArray(m.typ) {
		return 0, fmt.Errorf("%s: map %s: %s elements cannot be deleted: %w", op, m.label(), m.typ, errNotSupp)
	}
	for i := range count {
		k, err := m.marshalKey(kv.Index(i).Interface())
		if err != nil {
			return i, fmt.Errorf("%s: keys[%d]: %w", op, i, err)
		}
		if err := m.impl.Delete(k); err != nil {
			return i, fmt.Errorf("%s: keys[%d]: %w", op, i, err)
		}
	}
	return count, nil
}
