package waggle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

// MapEntry is one element of a map as Dump returns it.
type MapEntry struct {
	Key []byte
	// Value is the value, for maps with one value per key.
	Value []byte
	// PerCPU holds a per-CPU map's values, one per CPU slot.
	PerCPU [][]byte
}

// Dump returns every element of the map, sorted by key. Ring buffers give
// their unread records and queues and stacks their elements, in the order a
// reader gets them, with a 4-byte index as key: for these, dumping consumes
// the elements, as reading them does; so do perf event arrays, whose
// records come in the order they were written. Prog arrays and maps of maps give
// nothing (their values are objects: see Objects), bloom filters
// cannot be listed, and cgroup arrays hold nothing a reader can see.
func (m *Map) Dump() ([]MapEntry, error) {
	if m.impl == nil {
		return nil, m.errClosed("dump")
	}
	impl := m.impl
	spec := impl.Spec()
	switch spec.Type {
	case ebpf.ProgramArray, ebpf.ArrayOfMaps, ebpf.HashOfMaps, ebpf.BloomFilter, ebpf.CGroupArray:
		return nil, nil
	case ebpf.RingBuf:
		ring := impl.(maps.RingBuffer)
		done := make(chan struct{})
		close(done)
		var out []MapEntry
		for {
			rec, err := ring.Read(done)
			if err != nil {
				if errors.Is(err, maps.ErrCanceled) || errors.Is(err, maps.ErrClosed) {
					return out, nil
				}
				return out, err
			}
			out = append(out, MapEntry{Key: binary.NativeEndian.AppendUint32(nil, uint32(len(out))), Value: rec})
		}
	case ebpf.PerfEventArray:
		samples, _ := impl.(*maps.PerfEventArray).ReadSamples()
		out := make([]MapEntry, len(samples))
		for i, s := range samples {
			out[i] = MapEntry{Key: binary.NativeEndian.AppendUint32(nil, uint32(i)), Value: s.Data}
		}
		return out, nil
	case ebpf.Queue, ebpf.Stack:
		pop := impl.(maps.LookupAndDeleter)
		var out []MapEntry
		for {
			v := make([]byte, spec.ValueSize)
			if err := pop.LookupAndDeleteUser(nil, v); err != nil {
				if errors.Is(err, maps.ErrKeyNotExist) {
					return out, nil
				}
				return out, err
			}
			out = append(out, MapEntry{Key: binary.NativeEndian.AppendUint32(nil, uint32(len(out))), Value: v})
		}
	}

	perCPU := maps.IsPerCPU(spec.Type)
	stride := int(maps.ValueStride(spec.ValueSize))
	bufSize := int(spec.ValueSize)
	if perCPU {
		bufSize = stride * spec.CPUs
	}
	var out []MapEntry
	var key []byte
	for {
		next := make([]byte, spec.KeySize)
		if err := impl.NextKey(key, next); err != nil {
			if errors.Is(err, maps.ErrKeyNotExist) {
				break
			}
			return nil, err
		}
		key = next
		buf := make([]byte, bufSize)
		if err := impl.LookupUser(key, buf); err != nil {
			if errors.Is(err, maps.ErrKeyNotExist) {
				continue // deleted meanwhile
			}
			return nil, err
		}
		e := MapEntry{Key: key}
		if perCPU {
			for c := range spec.CPUs {
				e.PerCPU = append(e.PerCPU, buf[c*stride:c*stride+int(spec.ValueSize)])
			}
		} else {
			e.Value = buf
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out, nil
}

// MapObject is an element of a prog array or of a map of maps, as Objects
// returns it.
type MapObject struct {
	Key []byte
	// Name is the name of the program (prog arrays) or of the inner map
	// (maps of maps) that the key holds.
	Name string
}

// Objects returns the elements of a prog array (the programs in its
// slots, by name) or of an array or hash of maps (the inner maps, by
// name), sorted by key, as bpftool map dump lists a prog array's program
// IDs. Other maps give nothing (see Dump).
func (m *Map) Objects() ([]MapObject, error) {
	if m.impl == nil {
		return nil, m.errClosed("dump")
	}
	om, ok := m.impl.(maps.ObjectMap)
	if !ok {
		return nil, nil
	}
	var out []MapObject
	var key []byte
	for {
		next := make([]byte, m.keySize)
		if err := om.NextKey(key, next); err != nil {
			if errors.Is(err, maps.ErrKeyNotExist) {
				break
			}
			return nil, err
		}
		key = next
		var name string
		switch obj := om.LookupObject(key).(type) {
		case nil:
			continue
		case *programLife:
			name = obj.name
		case maps.Map:
			name = obj.Spec().Name
		default:
			name = fmt.Sprintf("%T", obj)
		}
		out = append(out, MapObject{Key: key, Name: name})
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out, nil
}
