package main

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// setVariables applies --set NAME=VALUE to the objects' global variables
// before their collections are made (so the verifier sees the values of
// `const volatile` ones, as libbpf-tools' options are): VALUE is an
// integer (decimal, 0x hexadecimal, negative) that must fit the
// variable's size, true or false, or for a char array a string that fits
// with its NUL. Every NAME must be a variable of at least one object.
func setVariables(sets []string, specs map[string]*ebpf.CollectionSpec) error {
	for _, set := range sets {
		name, value, ok := strings.Cut(set, "=")
		if !ok || name == "" {
			return &usageError{fmt.Sprintf("--set %q: expected NAME=VALUE", set)}
		}
		found := false
		paths := make([]string, 0, len(specs))
		for path := range specs {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		var known []string
		for _, path := range paths {
			vs := specs[path].Variables[name]
			for n := range specs[path].Variables {
				known = append(known, n)
			}
			if vs == nil {
				continue
			}
			found = true
			b, err := encodeVariable(vs, value)
			if err != nil {
				return fmt.Errorf("--set %s: %s: %w", set, path, err)
			}
			copy(vs.Value, b)
		}
		if !found {
			sort.Strings(known)
			return fmt.Errorf("--set %s: no global variable %q in %s (it has: %s)", set, name, strings.Join(paths, ", "), strings.Join(known, ", "))
		}
	}
	return nil
}

// encodeVariable encodes value for variable vs.
func encodeVariable(vs *ebpf.VariableSpec, value string) ([]byte, error) {
	size := int(vs.Size())
	if size == 0 {
		return nil, fmt.Errorf("variable %s has no size", vs.Name)
	}
	if vs.Value == nil {
		vs.Value = make([]byte, size)
	}
	if vs.Type != nil {
		if arr, ok := btf.UnderlyingType(vs.Type.Type).(*btf.Array); ok {
			if in, ok := btf.UnderlyingType(arr.Type).(*btf.Int); ok && in.Size == 1 {
				if len(value)+1 > size {
					return nil, fmt.Errorf("%q has %d bytes with its NUL, more than the %d of %s", value, len(value)+1, size, vs.Name)
				}
				b := make([]byte, size)
				copy(b, value)
				return b, nil
			}
		}
	}
	var u uint64
	switch value {
	case "true":
		u = 1
	case "false":
		u = 0
	default:
		if n, err := strconv.ParseInt(value, 0, 64); err == nil {
			if size < 8 && (n < -(1<<(8*size-1)) || n >= 1<<(8*size)) {
				return nil, fmt.Errorf("%d does not fit the %d bytes of %s", n, size, vs.Name)
			}
			u = uint64(n)
		} else if n, err := strconv.ParseUint(value, 0, 64); err == nil {
			if size < 8 && n >= 1<<(8*size) {
				return nil, fmt.Errorf("%d does not fit the %d bytes of %s", n, size, vs.Name)
			}
			u = n
		} else {
			return nil, fmt.Errorf("%q is not an integer, true or false", value)
		}
	}
	if size > 8 {
		return nil, fmt.Errorf("variable %s has %d bytes: only integers, booleans and char arrays can be set", vs.Name, size)
	}
	b := binary.NativeEndian.AppendUint64(nil, u)
	return b[:size], nil // little-endian: the low bytes first
}
