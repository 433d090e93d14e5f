package metrics

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"

	"github.com/cilium/ebpf/btf"
)

// AppendJSON appends b, a value of BTF type t (a ring buffer record, a map
// value), as JSON: structs and unions as objects with their fields in
// order (anonymous members' fields inline), arrays as arrays, integers as
// numbers, bools as true/false, enums by name (their number if no
// enumerator matches), char arrays as strings, other byte arrays in
// hexadecimal, and addresses (named as Layout says) as strings like
// "10.0.0.1". With a nil t, or when b is shorter than t, the whole of b is
// one hexadecimal string.
func AppendJSON(dst []byte, t btf.Type, b []byte) []byte {
	if t == nil || uint32(len(b)) < sizeOf(t) || sizeOf(t) == 0 {
		return strconv.AppendQuote(dst, hex.EncodeToString(b))
	}
	j := jsonWriter{dst: dst}
	j.value(t, "", b, 0)
	return j.dst
}

type jsonWriter struct {
	dst   []byte
	depth int
}

// value writes the value of type t named name at b[off:].
func (j *jsonWriter) value(t btf.Type, name string, b []byte, off uint32) {
	if j.depth > 16 {
		j.dst = append(j.dst, "null"...)
		return
	}
	j.depth++
	defer func() { j.depth-- }()
	size := sizeOf(t)
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		j.dst = append(j.dst, '{')
		j.members(u.Members, b, off, true)
		j.dst = append(j.dst, '}')
	case *btf.Union:
		j.dst = append(j.dst, '{')
		j.members(u.Members, b, off, true)
		j.dst = append(j.dst, '}')
	case *btf.Datasec:
		j.dst = append(j.dst, '{')
		first := true
		for _, v := range u.Vars {
			if vr, ok := v.Type.(*btf.Var); ok {
				if !first {
					j.dst = append(j.dst, ',')
				}
				first = false
				j.dst = strconv.AppendQuote(j.dst, vr.Name)
				j.dst = append(j.dst, ':')
				j.value(vr.Type, vr.Name, b, off+v.Offset)
			}
		}
		j.dst = append(j.dst, '}')
	case *btf.Array:
		j.array(u, name, b, off, size)
	default:
		j.leaf(t, name, b, off, 0)
	}
}

// members writes the fields of a struct or union.
func (j *jsonWriter) members(ms []btf.Member, b []byte, off uint32, first bool) bool {
	for _, m := range ms {
		if m.Name == "" {
			// Anonymous struct or union: its fields inline.
			switch u := btf.UnderlyingType(m.Type).(type) {
			case *btf.Struct:
				first = j.members(u.Members, b, off+uint32(m.Offset)/8, first)
				continue
			case *btf.Union:
				first = j.members(u.Members, b, off+uint32(m.Offset)/8, first)
				continue
			}
		}
		if !first {
			j.dst = append(j.dst, ',')
		}
		first = false
		j.dst = strconv.AppendQuote(j.dst, m.Name)
		j.dst = append(j.dst, ':')
		if m.BitfieldSize > 0 {
			j.leaf(m.Type, m.Name, b, off*8+uint32(m.Offset), uint32(m.BitfieldSize))
			continue
		}
		j.value(m.Type, m.Name, b, off+uint32(m.Offset)/8)
	}
	return first
}

func (j *jsonWriter) array(a *btf.Array, name string, b []byte, off, size uint32) {
	if in, ok := btf.UnderlyingType(a.Type).(*btf.Int); ok && in.Size == 1 || isAddrName(name) && (size == 4 || size == 16) {
		// Text, an address or bytes: as in a layout.
		var bld layoutBuilder
		bld.array(a, name, 0, size)
		if len(bld.leaves) == 1 {
			j.dst = appendJSONString(j.dst, bld.leaves[0].Format(b[off:off+size]))
			return
		}
	}
	esize := sizeOf(a.Type)
	j.dst = append(j.dst, '[')
	for i := range a.Nelems {
		if i > 0 {
			j.dst = append(j.dst, ',')
		}
		j.value(a.Type, name, b, off+i*esize)
	}
	j.dst = append(j.dst, ']')
}

// leaf writes a scalar: at byte offset off, or, with bits > 0, the
// bitfield at bit offset off.
func (j *jsonWriter) leaf(t btf.Type, name string, b []byte, off, bits uint32) {
	var bld layoutBuilder
	bld.add(t, name, off, bits)
	if len(bld.leaves) != 1 {
		j.dst = append(j.dst, "null"...)
		return
	}
	f := &bld.leaves[0]
	switch f.Kind {
	case Unsigned, Signed:
		j.dst = append(j.dst, f.Format(b)...)
	case Bool:
		j.dst = append(j.dst, f.Format(b)...)
	case Float:
		v, _ := f.Number(b)
		if math.IsInf(v, 0) || math.IsNaN(v) {
			j.dst = appendJSONString(j.dst, strconv.FormatFloat(v, 'g', -1, 64))
		} else {
			j.dst = strconv.AppendFloat(j.dst, v, 'g', -1, 64)
		}
	default:
		j.dst = appendJSONString(j.dst, f.Format(b))
	}
}

func appendJSONString(dst []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(dst, q...)
}
