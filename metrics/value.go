package metrics

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// ValueKind is what a Value holds.
type ValueKind uint8

// The kinds of Value.
const (
	// Null is a value that could not be read (nesting too deep, a field
	// beyond the bytes).
	Null ValueKind = iota
	// Number is an integer or float: Text in decimal.
	Number
	// Boolean is a C bool: Text is "true" or "false".
	Boolean
	// String is text: an enumerator's name, a char array, an address,
	// bytes in hexadecimal.
	String
	// Struct is a struct, union or data section: Fields in order.
	Struct
	// Array is an array: Elems in order.
	Array
)

// Value is a key, value or record decoded by its BTF type, as bpftool map
// dump shows it: a tree of structs with their field names, arrays, and
// scalars formatted as Layout's leaves are (integers in decimal in host
// order, big-endian typedefs swapped, enums by name, addresses, text).
// It marshals to JSON (Struct as an object, Array as an array, Number and
// Boolean bare, String quoted) and String formats it for a person:
// {saddr: 10.0.0.1, dport: 80, pad: [0, 0]}.
type Value struct {
	Kind ValueKind
	// Text is a scalar's formatted value.
	Text string
	// Fields are a Struct's members (anonymous members' fields inline).
	Fields []Field
	// Elems are an Array's elements.
	Elems []Value
}

// Field is one member of a Struct Value.
type Field struct {
	Name  string
	Value Value
}

// Decode decodes b as a value of BTF type t. ok is false when t is nil,
// void or has no size, or b is shorter than t: the caller then has only
// the bytes.
func Decode(t btf.Type, b []byte) (v Value, ok bool) {
	if t == nil {
		return Value{}, false
	}
	if _, void := btf.UnderlyingType(t).(*btf.Void); void {
		return Value{}, false
	}
	size := sizeOf(t)
	if size == 0 || uint32(len(b)) < size {
		return Value{}, false
	}
	var d decoder
	return d.value(t, "", b, 0), true
}

// AppendJSON appends b, a value of BTF type t (a ring buffer record, a map
// value), as JSON: Decode's Value marshalled. With a nil t, or when b is
// shorter than t, the whole of b is one hexadecimal string.
func AppendJSON(dst []byte, t btf.Type, b []byte) []byte {
	v, ok := Decode(t, b)
	if !ok {
		return strconv.AppendQuote(dst, hex.EncodeToString(b))
	}
	return v.appendJSON(dst)
}

// MarshalJSON encodes the value as JSON, fields in order.
func (v Value) MarshalJSON() ([]byte, error) { return v.appendJSON(nil), nil }

func (v Value) appendJSON(dst []byte) []byte {
	switch v.Kind {
	case Number, Boolean:
		return append(dst, v.Text...)
	case String:
		q, _ := json.Marshal(v.Text)
		return append(dst, q...)
	case Struct:
		dst = append(dst, '{')
		for i, f := range v.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendQuote(dst, f.Name)
			dst = append(dst, ':')
			dst = f.Value.appendJSON(dst)
		}
		return append(dst, '}')
	case Array:
		dst = append(dst, '[')
		for i, e := range v.Elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.appendJSON(dst)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// String formats the value for a person: structs as {name: value, ...},
// arrays as [a, b], scalars bare (text included, unquoted).
func (v Value) String() string {
	var b strings.Builder
	v.format(&b)
	return b.String()
}

func (v Value) format(b *strings.Builder) {
	switch v.Kind {
	case Number, Boolean:
		b.WriteString(v.Text)
	case String:
		if v.Text == "" || strings.ContainsAny(v.Text, " ,{}[]\"") {
			b.WriteString(strconv.Quote(v.Text))
		} else {
			b.WriteString(v.Text)
		}
	case Struct:
		b.WriteByte('{')
		for i, f := range v.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name)
			b.WriteString(": ")
			f.Value.format(b)
		}
		b.WriteByte('}')
	case Array:
		b.WriteByte('[')
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.format(b)
		}
		b.WriteByte(']')
	default:
		b.WriteString("null")
	}
}

type decoder struct {
	depth int
}

// value decodes the value of type t named name at b[off:].
func (d *decoder) value(t btf.Type, name string, b []byte, off uint32) Value {
	if d.depth > 16 {
		return Value{}
	}
	d.depth++
	defer func() { d.depth-- }()
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		return Value{Kind: Struct, Fields: d.members(nil, u.Members, b, off)}
	case *btf.Union:
		return Value{Kind: Struct, Fields: d.members(nil, u.Members, b, off)}
	case *btf.Datasec:
		v := Value{Kind: Struct}
		for _, vs := range u.Vars {
			if vr, ok := vs.Type.(*btf.Var); ok {
				v.Fields = append(v.Fields, Field{vr.Name, d.value(vr.Type, vr.Name, b, off+vs.Offset)})
			}
		}
		return v
	case *btf.Array:
		return d.array(u, name, b, off, sizeOf(t))
	}
	return d.leaf(t, name, b, off, 0)
}

// members decodes the fields of a struct or union, appending them to fs.
func (d *decoder) members(fs []Field, ms []btf.Member, b []byte, off uint32) []Field {
	for _, m := range ms {
		if m.Name == "" {
			// Anonymous struct or union: its fields inline.
			switch u := btf.UnderlyingType(m.Type).(type) {
			case *btf.Struct:
				fs = d.members(fs, u.Members, b, off+uint32(m.Offset)/8)
				continue
			case *btf.Union:
				fs = d.members(fs, u.Members, b, off+uint32(m.Offset)/8)
				continue
			}
		}
		if m.BitfieldSize > 0 {
			fs = append(fs, Field{m.Name, d.leaf(m.Type, m.Name, b, off*8+uint32(m.Offset), uint32(m.BitfieldSize))})
			continue
		}
		fs = append(fs, Field{m.Name, d.value(m.Type, m.Name, b, off+uint32(m.Offset)/8)})
	}
	return fs
}

func (d *decoder) array(a *btf.Array, name string, b []byte, off, size uint32) Value {
	if in, ok := btf.UnderlyingType(a.Type).(*btf.Int); ok && in.Size == 1 || isAddrName(name) && (size == 4 || size == 16) {
		// Text, an address or bytes: one leaf, as in a layout.
		var bld layoutBuilder
		bld.array(a, name, 0, size)
		if len(bld.leaves) == 1 && off+size <= uint32(len(b)) {
			return Value{Kind: String, Text: bld.leaves[0].Format(b[off : off+size])}
		}
	}
	esize := sizeOf(a.Type)
	v := Value{Kind: Array, Elems: make([]Value, 0, a.Nelems)}
	for i := range a.Nelems {
		v.Elems = append(v.Elems, d.value(a.Type, name, b, off+i*esize))
	}
	return v
}

// leaf decodes a scalar: at byte offset off, or, with bits > 0, the
// bitfield at bit offset off.
func (d *decoder) leaf(t btf.Type, name string, b []byte, off, bits uint32) Value {
	var bld layoutBuilder
	bld.add(t, name, off, bits)
	if len(bld.leaves) != 1 || bld.leaves[0].bytes(b) == nil {
		return Value{}
	}
	f := &bld.leaves[0]
	switch f.Kind {
	case Unsigned, Signed:
		return Value{Kind: Number, Text: f.Format(b)}
	case Bool:
		return Value{Kind: Boolean, Text: f.Format(b)}
	case Float:
		x, _ := f.Number(b)
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return Value{Kind: String, Text: strconv.FormatFloat(x, 'g', -1, 64)}
		}
		return Value{Kind: Number, Text: strconv.FormatFloat(x, 'g', -1, 64)}
	}
	return Value{Kind: String, Text: f.Format(b)}
}
