package waggle

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

// withVariables returns the collection's map specs with the values of
// spec.Variables written into the data sections that hold them, as
// cilium/ebpf does when it loads a collection: a variable set with
// VariableSpec.Set (or whose Value was edited) reaches the programs, and
// the verifier sees the .rodata the programs will run with. As in
// cilium/ebpf, a variable's value wins over an edit of the same bytes in
// MapSpec.Contents. The specs of sections that hold variables are copies;
// spec itself is not modified.
func withVariables(spec *ebpf.CollectionSpec) (map[string]*ebpf.MapSpec, error) {
	out := make(map[string]*ebpf.MapSpec, len(spec.Maps))
	for name, ms := range spec.Maps {
		out[name] = ms
	}
	for _, name := range sortedKeys(spec.Variables) {
		vs := spec.Variables[name]
		if vs == nil || vs.Value == nil {
			continue
		}
		ms, ok := out[vs.SectionName]
		if !ok {
			// As in cilium/ebpf: nothing to write it into (a program
			// that uses the section fails to load, naming it).
			continue
		}
		if ms == spec.Maps[vs.SectionName] {
			data, err := sectionBytes(ms)
			if err != nil {
				return nil, fmt.Errorf("variable %s: section %s: %w", name, vs.SectionName, err)
			}
			ms = ms.Copy()
			ms.Contents = []ebpf.MapKV{{Key: uint32(0), Value: slices.Clone(data)}}
			out[vs.SectionName] = ms
		}
		data := ms.Contents[0].Value.([]byte)
		if end := uint64(vs.Offset) + uint64(len(vs.Value)); end > uint64(len(data)) {
			return nil, fmt.Errorf("variable %s: its %d bytes at offset %d are past the end of section %s (%d bytes)", name, len(vs.Value), vs.Offset, vs.SectionName, len(data))
		}
		copy(data[vs.Offset:], vs.Value)
	}
	if err := kconfigMap(spec, out); err != nil {
		return nil, err
	}
	return out, nil
}

// sectionBytes is the contents of a data section's map: one element, key
// 0, whose value is the section's bytes.
func sectionBytes(ms *ebpf.MapSpec) ([]byte, error) {
	if len(ms.Contents) != 1 {
		return nil, fmt.Errorf("a data section's map has one element, this one has %d", len(ms.Contents))
	}
	kv := ms.Contents[0]
	if k, ok := kv.Key.(uint32); !ok || k != 0 {
		return nil, fmt.Errorf("a data section's element has key uint32(0), not %v (%T)", kv.Key, kv.Key)
	}
	b, ok := kv.Value.([]byte)
	if !ok {
		return nil, fmt.Errorf("a data section's element is a []byte, not %T", kv.Value)
	}
	if len(b) != int(ms.ValueSize) {
		return nil, fmt.Errorf("the element has %d bytes, the map's values %d", len(b), ms.ValueSize)
	}
	return b, nil
}

// Variable is a global variable of a loaded collection, in the data
// section (.data, .bss, .rodata, .data.*) that programs read it from, as
// cilium/ebpf's Variable. Get and Set reach the memory the programs use,
// at once; programs may write the variable at the same time, as in the
// kernel, so a value that a program changes concurrently may be read torn.
type Variable struct {
	name     string
	m        *Map
	offset   uint32
	size     uint32
	typ      *btf.Var
	readOnly bool
}

// collectionVariables describes the variables of spec in the collection's
// data section maps.
func collectionVariables(spec *ebpf.CollectionSpec, coll *Collection) map[string]*Variable {
	vars := make(map[string]*Variable, len(spec.Variables))
	for name, vs := range spec.Variables {
		m, ok := coll.Maps[vs.SectionName]
		if !ok || vs.Value == nil {
			continue
		}
		vars[name] = &Variable{
			name:     name,
			m:        m,
			offset:   vs.Offset,
			size:     uint32(len(vs.Value)),
			typ:      vs.Type,
			readOnly: m.flags&readOnlyProg != 0,
		}
	}
	return vars
}

// Size is the variable's size in bytes.
func (v *Variable) Size() uint32 { return v.size }

// ReadOnly reports whether the variable is in a section that programs may
// not write and that is frozen at load (.rodata): set such a variable in
// CollectionSpec.Variables before NewCollection.
func (v *Variable) ReadOnly() bool { return v.readOnly }

// Type is the variable's BTF type, or nil if the object had no BTF.
func (v *Variable) Type() *btf.Var { return v.typ }

func (v *Variable) String() string {
	return fmt.Sprintf("%s (type=%v, section=%s, offset=%d, size=%d)", v.name, v.typ, v.m.name, v.offset, v.size)
}

// Set writes in, marshalled as a map value is (see Map), to the
// variable. It fails with an error matching ebpf.ErrReadOnly for a
// variable of .rodata, unix.EPERM once the section's map is frozen
// (Map.Freeze), and os.ErrClosed once the section's map is closed.
func (v *Variable) Set(in any) error {
	if v.readOnly {
		return fmt.Errorf("set variable %s: it is in %s, which is frozen at load (set it in CollectionSpec.Variables instead): %w", v.name, v.m.name, ebpf.ErrReadOnly)
	}
	if err := v.m.checkWritable("set variable " + v.name); err != nil {
		return err
	}
	b, err := marshalBytes(in, int(v.size), "value")
	if err != nil {
		return fmt.Errorf("set variable %s: %w", v.name, err)
	}
	p, err := v.addr()
	if err != nil {
		return fmt.Errorf("set variable %s: %w", v.name, err)
	}
	maps.WriteValue(p, b)
	return nil
}

// Get reads the variable into out, unmarshalled as a map value is (see
// Map).
func (v *Variable) Get(out any) error {
	p, err := v.addr()
	if err != nil {
		return fmt.Errorf("get variable %s: %w", v.name, err)
	}
	b := make([]byte, v.size)
	maps.ReadValue(b, p)
	if err := unmarshalBytes(out, b, "value"); err != nil {
		return fmt.Errorf("get variable %s: %w", v.name, err)
	}
	return nil
}

// addr is the address of the variable in its section's value.
func (v *Variable) addr() (unsafe.Pointer, error) {
	if v.m.closed.Load() {
		return nil, fmt.Errorf("map %s: %w", v.m.name, os.ErrClosed)
	}
	p := v.m.impl.Lookup(make([]byte, 4), 0)
	if p == nil {
		return nil, errors.New("its section's map has no element 0")
	}
	return unsafe.Add(p, v.offset), nil
}
