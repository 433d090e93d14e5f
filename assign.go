package waggle

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

// CollectionSpec is a cilium/ebpf CollectionSpec whose LoadAndAssign loads
// into waggle: it is what the code that `waggle gen` writes for a bpf2go
// project returns from loadXxx(), so that code written for cilium/ebpf
// (spec.Variables["x"].Set(...), spec.LoadAndAssign(&objs, nil)) runs on
// waggle unchanged. The embedded spec's fields (Programs, Maps, Variables,
// Types, ByteOrder) and its Assign, which fills *ebpf.ProgramSpec,
// *ebpf.MapSpec and *ebpf.VariableSpec fields, are cilium/ebpf's. Pass
// the embedded spec to NewCollection.
type CollectionSpec struct {
	*ebpf.CollectionSpec
}

// ReadCollectionSpec reads an object as LoadCollectionSpecFromReader does
// and returns it as a CollectionSpec, whose LoadAndAssign loads into
// waggle. The code that `waggle gen` writes calls it on the embedded
// object where bpf2go's code calls ebpf.LoadCollectionSpecFromReader.
func ReadCollectionSpec(r io.ReaderAt) (*CollectionSpec, error) {
	spec, err := LoadCollectionSpecFromReader(r)
	if err != nil {
		return nil, err
	}
	return &CollectionSpec{spec}, nil
}

// Copy returns a deep copy of the spec, still loading into waggle (the
// embedded spec's Copy would return a cilium/ebpf spec).
func (s *CollectionSpec) Copy() *CollectionSpec {
	if s == nil {
		return nil
	}
	return &CollectionSpec{s.CollectionSpec.Copy()}
}

// LoadAndAssign loads the programs, maps and variables that the fields of
// to ask for into waggle and assigns them, as cilium/ebpf's
// CollectionSpec.LoadAndAssign does in the kernel. to must be a pointer
// to a struct; a field tagged `ebpf:"name"` of type *Program, *Map or
// *Variable receives the object's program, map or variable of that name,
// and untagged fields that are structs or pointers to structs are
// searched too (the structs bpf2go generates embed one another):
//
//	struct {
//	    Count   *waggle.Program  `ebpf:"count_packets"`
//	    Stats   *waggle.Map      `ebpf:"stats"`
//	    Dropped *waggle.Variable `ebpf:"dropped"`
//	    Ignored int
//	}
//
// Only what to asks for is loaded, with what it depends on: the maps its
// programs use, the data sections of its variables, the programs and
// maps that its prog_arrays and maps of maps are initialised with. As in
// cilium/ebpf, a prog_array loaded that way with initial contents must
// be assigned too (closing it would empty it). opts may be nil. Closing
// what was assigned is the caller's (the Close methods that bpf2go
// generates); everything else that was loaded is released.
//
// It fails, naming the field, for a field of another type (cilium/ebpf's
// *ebpf.Program among them), a name the object does not have, a name
// assigned twice, a tag with a comma, a nil pointer to an embedded
// struct, and with NewCollectionWithOptions' errors.
func (s *CollectionSpec) LoadAndAssign(to any, opts *CollectionOptions) error {
	if s == nil || s.CollectionSpec == nil {
		return errors.New("load and assign: nil CollectionSpec")
	}
	fields, err := assignFields(to)
	if err != nil {
		return fmt.Errorf("load and assign: %w", err)
	}
	want := newObjectSet()
	for _, f := range fields {
		var ok bool
		switch f.kind {
		case assignProgram:
			_, ok = s.Programs[f.tag]
			want.programs[f.tag] = true
		case assignMap:
			_, ok = s.Maps[f.tag]
			want.maps[f.tag] = true
		case assignVariable:
			var vs *ebpf.VariableSpec
			vs, ok = s.Variables[f.tag]
			if ok && vs != nil {
				want.maps[vs.SectionName] = true
			}
		}
		if !ok {
			return fmt.Errorf("load and assign: %s: the object has no %s %q (it has %s)", f, f.kind, f.tag, s.names(f.kind))
		}
	}
	sub, err := s.closure(want)
	if err != nil {
		return fmt.Errorf("load and assign: %w", err)
	}
	var o CollectionOptions
	if opts != nil {
		o = *opts
	}
	if len(o.MapReplacements) > 0 {
		// Every replacement must name a map of the object, as in
		// NewCollectionWithOptions; only those loaded are used.
		if err := checkReplacements(s.Maps, o.MapReplacements); err != nil {
			return fmt.Errorf("load and assign: %w", err)
		}
		used := make(map[string]*Map, len(o.MapReplacements))
		for name, m := range o.MapReplacements {
			if _, ok := sub.Maps[name]; ok {
				used[name] = m
			}
		}
		o.MapReplacements = used
	}
	coll, err := NewCollectionWithOptions(sub, o)
	if err != nil {
		return fmt.Errorf("load and assign: %w", err)
	}
	defer coll.Close() // what is not assigned
	for _, name := range sortedKeys(sub.Maps) {
		ms := sub.Maps[name]
		if ms.Type == ebpf.ProgramArray && len(ms.Contents) > 0 && !assigned(fields, assignMap, name) {
			return fmt.Errorf("load and assign: prog_array %s, which the object initialises, must be assigned too: waggle would empty it when it closes it, and tail calls through it would fail", name)
		}
	}
	if err := coll.Assign(to); err != nil {
		return fmt.Errorf("load and assign: %w", err)
	}
	return nil
}

// assigned reports whether a field of that kind asks for name.
func assigned(fields []assignField, kind assignKind, name string) bool {
	for _, f := range fields {
		if f.kind == kind && f.tag == name {
			return true
		}
	}
	return false
}

// names lists the object's programs, maps or variables, for messages.
func (s *CollectionSpec) names(kind assignKind) string {
	var keys []string
	switch kind {
	case assignProgram:
		keys = sortedKeys(s.Programs)
	case assignMap:
		keys = sortedKeys(s.Maps)
	case assignVariable:
		keys = sortedKeys(s.Variables)
	}
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

// objectSet is the names of the programs and maps to load.
type objectSet struct {
	programs, maps map[string]bool
}

func newObjectSet() objectSet {
	return objectSet{programs: map[string]bool{}, maps: map[string]bool{}}
}

// closure is the part of the spec that loading want needs: want, the maps
// its programs refer to, and the programs and maps named by the initial
// contents of its prog_arrays and maps of maps, until nothing is added.
// Variables are all kept: NewCollection writes and exposes those whose
// data section is loaded.
func (s *CollectionSpec) closure(want objectSet) (*ebpf.CollectionSpec, error) {
	for changed := true; changed; {
		changed = false
		add := func(set map[string]bool, name string) {
			if !set[name] {
				set[name] = true
				changed = true
			}
		}
		for _, name := range sortedKeys(want.programs) {
			ps := s.Programs[name]
			if ps == nil {
				return nil, fmt.Errorf("program %q is not in the object", name)
			}
			for _, ins := range ps.Instructions {
				if ins.IsLoadFromMap() {
					if ref := ins.Reference(); ref != "" {
						// A reference to a map the object lacks is
						// NewCollection's to explain.
						if _, ok := s.Maps[ref]; ok {
							add(want.maps, ref)
						}
					}
				}
			}
		}
		for _, name := range sortedKeys(want.maps) {
			ms := s.Maps[name]
			if ms == nil {
				return nil, fmt.Errorf("map %q is not in the object", name)
			}
			if ms.Type != ebpf.ProgramArray && ms.Type != ebpf.ArrayOfMaps && ms.Type != ebpf.HashOfMaps {
				continue
			}
			for _, kv := range ms.Contents {
				ref, ok := kv.Value.(string)
				if !ok {
					continue // NewCollection explains
				}
				if ms.Type == ebpf.ProgramArray {
					if _, ok := s.Programs[ref]; ok {
						add(want.programs, ref)
					}
				} else if _, ok := s.Maps[ref]; ok {
					add(want.maps, ref)
				}
			}
		}
	}
	sub := *s.CollectionSpec
	sub.Programs = make(map[string]*ebpf.ProgramSpec, len(want.programs))
	for name := range want.programs {
		sub.Programs[name] = s.Programs[name]
	}
	sub.Maps = make(map[string]*ebpf.MapSpec, len(want.maps))
	for name := range want.maps {
		sub.Maps[name] = s.Maps[name]
	}
	return &sub, nil
}

// Assign moves the collection's programs, maps and variables that the
// fields of to ask for into them, as cilium/ebpf's Collection.Assign
// does: to must be a pointer to a struct whose fields tagged
// `ebpf:"name"` are of type *Program, *Map or *Variable (see
// CollectionSpec.LoadAndAssign). What is assigned leaves the collection:
// Close no longer closes it, the caller does.
//
// It fails, naming the field, for a field of another type, a name the
// collection does not have, a name assigned twice, a tag with a comma or
// a nil pointer to an embedded struct; then nothing leaves the
// collection, and to may have been partly filled.
func (c *Collection) Assign(to any) error {
	fields, err := assignFields(to)
	if err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	values := make([]any, len(fields))
	for i, f := range fields {
		var v any
		switch f.kind {
		case assignProgram:
			if p := c.Programs[f.tag]; p != nil {
				v = p
			}
		case assignMap:
			if m := c.Maps[f.tag]; m != nil {
				v = m
			}
		case assignVariable:
			if vr := c.Variables[f.tag]; vr != nil {
				v = vr
			}
		}
		if v == nil {
			return fmt.Errorf("assign: %s: the collection has no %s %q", f, f.kind, f.tag)
		}
		values[i] = v
	}
	for i, f := range fields {
		if f.kind == assignVariable {
			own, err := ownVariable(values[i].(*Variable))
			if err != nil {
				return fmt.Errorf("assign: %s: %w", f, err)
			}
			values[i] = own
		}
	}
	for i, f := range fields {
		f.value.Set(reflect.ValueOf(values[i]))
	}
	for _, f := range fields {
		switch f.kind {
		case assignProgram:
			delete(c.Programs, f.tag)
		case assignMap:
			delete(c.Maps, f.tag)
		case assignVariable:
			delete(c.Variables, f.tag)
		}
	}
	return nil
}

// ownVariable is v with a reference of its own on its section's map,
// which it drops when it is garbage collected: as cilium/ebpf's Variable
// (which maps the section's memory), an assigned variable outlives the
// Close of its collection and of the section's Map, and has no Close of
// its own.
func ownVariable(v *Variable) (*Variable, error) {
	if v.m.closed.Load() || !maps.Retain(v.m.impl) {
		return nil, fmt.Errorf("variable %s: map %s: %w", v.name, v.m.name, os.ErrClosed)
	}
	m := wrapMap(v.m.impl, true)
	own := new(Variable)
	*own = *v
	own.m = m
	runtime.AddCleanup(own, func(m *Map) { m.Close() }, m)
	return own, nil
}

// assignKind is what an ebpf-tagged field holds.
type assignKind int

const (
	assignProgram assignKind = iota
	assignMap
	assignVariable
)

func (k assignKind) String() string {
	switch k {
	case assignProgram:
		return "program"
	case assignMap:
		return "map"
	}
	return "variable"
}

// assignField is a field tagged `ebpf:"name"`.
type assignField struct {
	path  string // Outer.Inner.Field
	tag   string
	kind  assignKind
	value reflect.Value
}

func (f assignField) String() string {
	return fmt.Sprintf("field %s (ebpf:%q)", f.path, f.tag)
}

var (
	programPtr  = reflect.TypeFor[*Program]()
	mapPtr      = reflect.TypeFor[*Map]()
	variablePtr = reflect.TypeFor[*Variable]()
)

// assignFields lists the ebpf-tagged fields of the struct to points to,
// searching untagged struct and pointer-to-struct fields, and checks
// their types, their tags and that no object is asked for twice.
func assignFields(to any) ([]assignField, error) {
	v := reflect.ValueOf(to)
	if !v.IsValid() {
		return nil, errors.New("the destination is nil, not a pointer to a struct")
	}
	if v.Kind() != reflect.Pointer || v.Type().Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("the destination is a %s, not a pointer to a struct", v.Type())
	}
	if v.IsNil() {
		return nil, fmt.Errorf("the destination is a nil %s", v.Type())
	}
	var fields []assignField
	if err := collectFields(v.Elem(), "", map[reflect.Type]bool{}, &fields); err != nil {
		return nil, err
	}
	seen := map[[2]string]string{}
	for _, f := range fields {
		key := [2]string{f.kind.String(), f.tag}
		if prev, ok := seen[key]; ok {
			return nil, fmt.Errorf("%s: %s %q is already assigned to field %s", f, f.kind, f.tag, prev)
		}
		seen[key] = f.path
	}
	return fields, nil
}

func collectFields(v reflect.Value, prefix string, visiting map[reflect.Type]bool, out *[]assignField) error {
	t := v.Type()
	if visiting[t] {
		return fmt.Errorf("type %s contains itself", t)
	}
	visiting[t] = true
	defer delete(visiting, t)
	for i := range t.NumField() {
		sf := t.Field(i)
		fv := v.Field(i)
		path := prefix + sf.Name
		tag, tagged := sf.Tag.Lookup("ebpf")
		if tagged && tag != "" {
			f := assignField{path: path, tag: tag, value: fv}
			if strings.Contains(tag, ",") {
				return fmt.Errorf("%s: the tag has a comma; it is the name of one program, map or variable", f)
			}
			switch sf.Type {
			case programPtr:
				f.kind = assignProgram
			case mapPtr:
				f.kind = assignMap
			case variablePtr:
				f.kind = assignVariable
			default:
				return fmt.Errorf("%s: type %s cannot be assigned; waggle assigns *waggle.Program, *waggle.Map and *waggle.Variable%s", f, sf.Type, ciliumHint(sf.Type))
			}
			if !fv.CanSet() {
				return fmt.Errorf("%s: the field is not exported, so it cannot be set", f)
			}
			*out = append(*out, f)
			continue
		}
		switch sf.Type.Kind() {
		case reflect.Struct:
			if err := collectFields(fv, path+".", visiting, out); err != nil {
				return err
			}
		case reflect.Pointer:
			if sf.Type.Elem().Kind() != reflect.Struct {
				continue
			}
			if fv.IsNil() {
				return fmt.Errorf("field %s: nil pointer to %s: point it to a struct to fill", path, sf.Type.Elem())
			}
			if err := collectFields(fv.Elem(), path+".", visiting, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// ciliumHint explains a field of one of cilium/ebpf's types.
func ciliumHint(t reflect.Type) string {
	if t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "github.com/cilium/ebpf" {
		switch t.Elem().Name() {
		case "Program", "Map", "Variable":
			return " (this is cilium/ebpf's: convert code that bpf2go generated with `waggle gen`)"
		case "ProgramSpec", "MapSpec", "VariableSpec":
			return " (specs are assigned by CollectionSpec.Assign, before loading)"
		}
	}
	return ""
}
