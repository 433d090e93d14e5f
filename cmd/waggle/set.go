package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// setFlags are the --set NAME=VALUE assignments of global variables, in
// the order given.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, ",") }

func (s *setFlags) Set(v string) error {
	name, _, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", v)
	}
	*s = append(*s, v)
	return nil
}

// addSetFlag adds --set to a command that loads an object.
func addSetFlag(fs *flag.FlagSet) *setFlags {
	s := &setFlags{}
	fs.Var(s, "set", "set the global variable `NAME=VALUE` of the object before loading it, such as a tool's "+
		"const volatile option (targ_pid=42, targ_failed=true); VALUE by the variable's type: a number, true or false, "+
		"an enum's name, a string for a char array; may be repeated")
	return s
}

// apply writes the assignments into spec: into its Variables and the data
// sections' contents, so that the verifier sees the values as the programs
// will run with them (a frozen .rodata's flags decide which code is dead).
func (s setFlags) apply(spec *ebpf.CollectionSpec) error {
	for _, a := range s {
		name, value, _ := strings.Cut(a, "=")
		vs, ok := spec.Variables[name]
		if !ok || vs == nil {
			return fmt.Errorf("--set %s: the object has no global variable %q%s", a, name, variableList(spec))
		}
		b, err := encodeVariable(vs, value)
		if err != nil {
			return fmt.Errorf("--set %s: %w", a, err)
		}
		vs.Value = b
		ms, ok := spec.Maps[vs.SectionName]
		if !ok || len(ms.Contents) != 1 {
			continue
		}
		data, ok := ms.Contents[0].Value.([]byte)
		if !ok || uint64(vs.Offset)+uint64(len(b)) > uint64(len(data)) {
			return fmt.Errorf("--set %s: variable %s lies outside section %s", a, name, vs.SectionName)
		}
		data = slices.Clone(data)
		copy(data[vs.Offset:], b)
		ms.Contents = []ebpf.MapKV{{Key: ms.Contents[0].Key, Value: data}}
	}
	return nil
}

// variableList lists the object's variables for an error.
func variableList(spec *ebpf.CollectionSpec) string {
	names := make([]string, 0, len(spec.Variables))
	for n := range spec.Variables {
		names = append(names, n)
	}
	if len(names) == 0 {
		return " (it has none)"
	}
	sort.Strings(names)
	return " (it has " + strings.Join(names, ", ") + ")"
}

// encodeVariable encodes value as the variable's type says, in the host's
// byte order.
func encodeVariable(vs *ebpf.VariableSpec, value string) ([]byte, error) {
	size := int(vs.Size())
	if vs.Type == nil {
		return nil, fmt.Errorf("variable %s has no BTF type, so waggle cannot tell how to write %q", vs.Name, value)
	}
	switch t := btf.UnderlyingType(vs.Type.Type).(type) {
	case *btf.Int:
		if t.Encoding&btf.Bool != 0 || (t.Size == 1 && (value == "true" || value == "false")) {
			v, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("variable %s is a bool: %q is not true, false, 1 or 0", vs.Name, value)
			}
			b := make([]byte, size)
			if v {
				b[0] = 1
			}
			return b, nil
		}
		return encodeInt(vs.Name, value, int(t.Size), t.Encoding&btf.Signed != 0)
	case *btf.Enum:
		for _, ev := range t.Values {
			if ev.Name == value {
				return encodeInt(vs.Name, strconv.FormatUint(ev.Value, 10), int(t.Size), false)
			}
		}
		return encodeInt(vs.Name, value, int(t.Size), t.Signed)
	case *btf.Array:
		if el, ok := btf.UnderlyingType(t.Type).(*btf.Int); ok && el.Size == 1 {
			if len(value) >= size {
				return nil, fmt.Errorf("variable %s is a char[%d]: %q needs %d bytes with its NUL", vs.Name, size, value, len(value)+1)
			}
			b := make([]byte, size)
			copy(b, value)
			return b, nil
		}
	}
	return nil, fmt.Errorf("variable %s is of type %s, which --set cannot write (numbers, bools, enums and char arrays only)", vs.Name, vs.Type.Type)
}

// encodeInt parses a decimal, hex (0x) or octal (0) integer that fits in
// size bytes.
func encodeInt(name, value string, size int, signed bool) ([]byte, error) {
	bits := 8 * size
	var u uint64
	if signed {
		v, err := strconv.ParseInt(value, 0, bits)
		if err != nil {
			return nil, fmt.Errorf("variable %s is a %d-bit signed integer: %q: %w", name, bits, value, errors.Unwrap(err))
		}
		u = uint64(v)
	} else {
		v, err := strconv.ParseUint(value, 0, bits)
		if err != nil {
			return nil, fmt.Errorf("variable %s is a %d-bit unsigned integer: %q: %w", name, bits, value, errors.Unwrap(err))
		}
		u = v
	}
	b := make([]byte, 8)
	binary.NativeEndian.PutUint64(b, u)
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return b[8-size:], nil
	}
	return b[:size], nil
}
