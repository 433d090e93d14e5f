package metrics

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cilium/ebpf/btf"
)

// LeafKind is how a leaf's bytes read.
type LeafKind uint8

// The leaf kinds.
const (
	// Unsigned and Signed are integers of 1, 2, 4 or 8 bytes in the
	// host's byte order (also bitfields).
	Unsigned LeafKind = iota
	Signed
	// Bool is a C bool (or _Bool).
	Bool
	// Float is a float or double.
	Float
	// Enum is an enum: its enumerator's name, or its number.
	Enum
	// Text is a char array: a string up to its first NUL.
	Text
	// Bytes is any other array or an unknown type, in hexadecimal.
	Bytes
	// Addr is a 4- or 16-byte field whose name says it is an address
	// (see Layout): an IPv4 or IPv6 address in network byte order.
	Addr
	// Ints is an array of integers kept whole (in keys): the numbers
	// joined by commas.
	Ints
)

// Leaf is one field of a key or value: the part of its bytes that one
// label, column or series shows.
type Leaf struct {
	// Name is the field's path in the type: "saddr", "stats.packets",
	// "counts[2]", a global variable's name in a data section; "" for a
	// key or value that is a single scalar.
	Name string
	// Offset and Size locate the field's bytes.
	Offset, Size uint32
	// BitOffset and BitSize select a bitfield within the Size bytes at
	// Offset (BitSize 0: the whole field).
	BitOffset, BitSize uint32
	Kind               LeafKind
	// Enum is the enum of an Enum leaf.
	Enum *btf.Enum
	// ElemSize is the size of one integer of an Ints leaf.
	ElemSize uint32
	// ElemSigned says the integers of an Ints leaf are signed.
	ElemSigned bool
	// BigEndian says an integer leaf is in network byte order: its type
	// is (a typedef of) __be16, __be32 or __be64. It is read in that order
	// and shown as the number it means (port 80, not 20480).
	BigEndian bool
}

// Layout is how a map's key or value reads: its leaves, flattened from
// its BTF type.
//
// Integers are read in the host's byte order and shown in decimal, enums
// by name, char arrays as text, other byte arrays in hexadecimal. An
// integer whose type is, or is a typedef of, __be16, __be32 or __be64
// (the kernel's big-endian types) is read in network byte order, so a
// __be16 port shows as 80, not 20480. A field whose name contains "addr",
// or has "ip", "ipv4", "ipv6", "ip4" or "ip6" as an underscore-separated
// word (saddr, daddr, src_ip, ip), and that is 4 or 16 bytes (an integer
// of any type, __u32 or __be32, or an array of bytes or of 32-bit words),
// is an address in network byte order, the order it has in the packet:
// 10.0.0.1, fe80::1, ::ffff:10.0.0.1 (an IPv4-mapped one). Only the name
// makes an address: a __be32 named otherwise (a TCP sequence number) is a
// number. Nested
// structs and unions are flattened with dotted names; anonymous members
// take their fields' names.
//
// In a key layout an array is one leaf (a key field is one label); in a
// value layout an array of numbers or structs is split into its elements,
// "counts[0]", "counts[1]", ... (at most MaxArrayElems), so that each is a
// series or column of its own.
type Layout struct {
	Leaves []Leaf
	// Size is the key's or value's size in bytes.
	Size uint32
	// Scalar says the layout is one unnamed leaf: a key or value that is a
	// plain integer, enum, or a type waggle does not know.
	Scalar bool
}

// MaxArrayElems is the most elements of an array that a value layout
// splits into leaves; larger arrays stay one Bytes leaf.
const MaxArrayElems = 256

// KeyLayout is the layout of a map key of BTF type t (nil if the map has
// none) and size bytes.
func KeyLayout(t btf.Type, size uint32) *Layout { return newLayout(t, size, false) }

// ValueLayout is the layout of a map value of BTF type t (nil if the map
// has none) and size bytes.
func ValueLayout(t btf.Type, size uint32) *Layout { return newLayout(t, size, true) }

func newLayout(t btf.Type, size uint32, split bool) *Layout {
	l := &Layout{Size: size}
	if t != nil {
		if _, void := btf.UnderlyingType(t).(*btf.Void); !void {
			if n, err := btf.Sizeof(t); err == nil && uint32(n) == size {
				b := layoutBuilder{split: split}
				b.add(t, "", 0, 0)
				l.Leaves = b.leaves
			}
		}
	}
	if len(l.Leaves) == 0 {
		// No usable type: a number if it has an integer's size, else bytes.
		kind := Bytes
		switch size {
		case 1, 2, 4, 8:
			kind = Unsigned
		}
		l.Leaves = []Leaf{{Offset: 0, Size: size, Kind: kind}}
	}
	l.Scalar = len(l.Leaves) == 1 && l.Leaves[0].Name == ""
	return l
}

type layoutBuilder struct {
	split  bool
	leaves []Leaf
	depth  int
}

// add appends the leaves of type t at byte offset off (bitfield of bits
// bits at bit offset bitOff when bits > 0), named name.
func (b *layoutBuilder) add(t btf.Type, name string, off uint32, bits uint32) {
	if b.depth > 16 || len(b.leaves) > 4096 {
		return
	}
	b.depth++
	defer func() { b.depth-- }()
	size := sizeOf(t)
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		leaf := Leaf{Name: name, Offset: off, Size: u.Size, Kind: Unsigned}
		switch {
		case u.Encoding == btf.Bool:
			leaf.Kind = Bool
		case u.Encoding == btf.Signed:
			leaf.Kind = Signed
		}
		switch {
		case bits > 0:
			leaf.BitOffset, leaf.BitSize = off%8, bits
			leaf.Offset = off / 8
			leaf.Size = (leaf.BitOffset + bits + 7) / 8
		case isAddrName(name) && (u.Size == 4 || u.Size == 16):
			leaf.Kind = Addr
		case isBigEndian(t):
			leaf.BigEndian = true
		}
		b.leaves = append(b.leaves, leaf)
	case *btf.Enum:
		leaf := Leaf{Name: name, Offset: off, Size: u.Size, Kind: Enum, Enum: u}
		if bits > 0 {
			leaf.BitOffset, leaf.BitSize = off%8, bits
			leaf.Offset = off / 8
			leaf.Size = (leaf.BitOffset + bits + 7) / 8
		}
		b.leaves = append(b.leaves, leaf)
	case *btf.Float:
		b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: u.Size, Kind: Float})
	case *btf.Pointer:
		b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: 8, Kind: Unsigned})
	case *btf.Struct:
		b.members(u.Members, name, off)
	case *btf.Union:
		b.members(u.Members, name, off)
	case *btf.Datasec:
		for _, v := range u.Vars {
			if vr, ok := v.Type.(*btf.Var); ok {
				b.add(vr.Type, join(name, vr.Name), off+v.Offset, 0)
			}
		}
	case *btf.Array:
		b.array(u, name, off, size)
	default:
		if size > 0 {
			b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: size, Kind: Bytes})
		}
	}
}

func (b *layoutBuilder) members(ms []btf.Member, name string, off uint32) {
	for _, m := range ms {
		if m.BitfieldSize > 0 {
			// Bitfields: offsets in bits, counted from the struct's start.
			b.add(m.Type, join(name, m.Name), off*8+uint32(m.Offset), uint32(m.BitfieldSize))
			continue
		}
		b.add(m.Type, join(name, m.Name), off+uint32(m.Offset)/8, 0)
	}
}

func (b *layoutBuilder) array(a *btf.Array, name string, off, size uint32) {
	elem := btf.UnderlyingType(a.Type)
	esize := sizeOf(a.Type)
	if esize == 0 || a.Nelems == 0 {
		return
	}
	if in, ok := elem.(*btf.Int); ok {
		switch {
		case in.Size == 1 && (in.Encoding == btf.Char || in.Name == "char"):
			b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: size, Kind: Text})
			return
		case isAddrName(name) && (size == 4 || size == 16) && (in.Size == 1 || in.Size == 4):
			b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: size, Kind: Addr})
			return
		case in.Size == 1:
			b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: size, Kind: Bytes})
			return
		case !b.split:
			b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: size, Kind: Ints, ElemSize: in.Size, ElemSigned: in.Encoding == btf.Signed})
			return
		}
	}
	if !b.split || a.Nelems > MaxArrayElems {
		b.leaves = append(b.leaves, Leaf{Name: name, Offset: off, Size: size, Kind: Bytes})
		return
	}
	for i := range a.Nelems {
		b.add(a.Type, name+"["+strconv.FormatUint(uint64(i), 10)+"]", off+i*esize, 0)
	}
}

func sizeOf(t btf.Type) uint32 {
	n, err := btf.Sizeof(t)
	if err != nil || n < 0 {
		return 0
	}
	return uint32(n)
}

func join(prefix, name string) string {
	switch {
	case name == "":
		return prefix
	case prefix == "":
		return name
	}
	return prefix + "." + name
}

// isBigEndian says whether t is, or is a typedef (or qualified type) of,
// the kernel's __be16, __be32 or __be64.
func isBigEndian(t btf.Type) bool {
	for range 16 {
		switch u := t.(type) {
		case *btf.Typedef:
			switch u.Name {
			case "__be16", "__be32", "__be64":
				return true
			}
			t = u.Type
		case *btf.Const:
			t = u.Type
		case *btf.Volatile:
			t = u.Type
		case *btf.Restrict:
			t = u.Type
		case *btf.TypeTag:
			t = u.Type
		default:
			return false
		}
	}
	return false
}

// isAddrName says whether a field's name says it holds an address.
func isAddrName(path string) bool {
	name := strings.ToLower(path[strings.LastIndexByte(path, '.')+1:])
	if strings.Contains(name, "addr") {
		return true
	}
	for w := range strings.SplitSeq(name, "_") {
		switch w {
		case "ip", "ipv4", "ipv6", "ip4", "ip6":
			return true
		}
	}
	return false
}

// bytes returns the leaf's bytes of b, or nil if b is too short.
func (f *Leaf) bytes(b []byte) []byte {
	end := uint64(f.Offset) + uint64(f.Size)
	if end > uint64(len(b)) {
		return nil
	}
	return b[f.Offset:end]
}

// uint reads an integer leaf: the bitfield, or the whole field.
func (f *Leaf) uint(b []byte) (uint64, bool) {
	v := f.bytes(b)
	if v == nil {
		return 0, false
	}
	if f.BitSize > 0 {
		// Bitfields as little-endian hosts (x86-64, arm64) lay them out:
		// counted from the lowest bit.
		var buf [8]byte
		copy(buf[:], v)
		x := binary.LittleEndian.Uint64(buf[:]) >> f.BitOffset
		if f.BitSize < 64 {
			x &= 1<<f.BitSize - 1
		}
		return x, true
	}
	if f.BigEndian {
		return readUintBE(v), true
	}
	return readUint(v), true
}

func readUintBE(v []byte) uint64 {
	var x uint64
	for _, c := range v {
		x = x<<8 | uint64(c)
	}
	return x
}

func readUint(v []byte) uint64 {
	switch len(v) {
	case 1:
		return uint64(v[0])
	case 2:
		return uint64(binary.NativeEndian.Uint16(v))
	case 4:
		return uint64(binary.NativeEndian.Uint32(v))
	case 8:
		return binary.NativeEndian.Uint64(v)
	}
	return 0
}

// signExtend sign-extends the low bits bits of x.
func signExtend(x uint64, bits uint32) int64 {
	if bits == 0 || bits >= 64 {
		return int64(x)
	}
	shift := 64 - bits
	return int64(x<<shift) >> shift
}

func (f *Leaf) bits() uint32 {
	if f.BitSize > 0 {
		return f.BitSize
	}
	return 8 * f.Size
}

// Number reads a numeric leaf (Unsigned, Signed, Bool, Float, Enum) of
// b; ok is false for other kinds and when b is too short.
func (f *Leaf) Number(b []byte) (v float64, ok bool) {
	switch f.Kind {
	case Unsigned, Bool:
		x, ok := f.uint(b)
		return float64(x), ok
	case Signed:
		x, ok := f.uint(b)
		return float64(signExtend(x, f.bits())), ok
	case Enum:
		x, ok := f.uint(b)
		if f.Enum != nil && f.Enum.Signed {
			return float64(signExtend(x, f.bits())), ok
		}
		return float64(x), ok
	case Float:
		raw := f.bytes(b)
		switch len(raw) {
		case 4:
			return float64(math.Float32frombits(binary.NativeEndian.Uint32(raw))), true
		case 8:
			return math.Float64frombits(binary.NativeEndian.Uint64(raw)), true
		}
	}
	return 0, false
}

// Numeric says whether the leaf is a number (Number reads it).
func (f *Leaf) Numeric() bool {
	switch f.Kind {
	case Unsigned, Signed, Bool, Float, Enum:
		return true
	}
	return false
}

// Format formats the leaf of b as a label or a table cell: integers in
// decimal, enums by name, bools as true/false, addresses as IP
// addresses, text up to its NUL, bytes in hexadecimal; "?" if b is too
// short.
func (f *Leaf) Format(b []byte) string {
	raw := f.bytes(b)
	if raw == nil {
		return "?"
	}
	switch f.Kind {
	case Unsigned:
		x, _ := f.uint(b)
		return strconv.FormatUint(x, 10)
	case Signed:
		x, _ := f.uint(b)
		return strconv.FormatInt(signExtend(x, f.bits()), 10)
	case Bool:
		x, _ := f.uint(b)
		return strconv.FormatBool(x != 0)
	case Enum:
		x, _ := f.uint(b)
		if f.Enum != nil {
			for _, ev := range f.Enum.Values {
				if ev.Value == x || (f.Enum.Signed && int64(ev.Value) == signExtend(x, f.bits())) {
					return ev.Name
				}
			}
			if f.Enum.Signed {
				return strconv.FormatInt(signExtend(x, f.bits()), 10)
			}
		}
		return strconv.FormatUint(x, 10)
	case Float:
		v, _ := f.Number(b)
		return strconv.FormatFloat(v, 'g', -1, 64)
	case Addr:
		if a, ok := netip.AddrFromSlice(raw); ok {
			return a.String()
		}
	case Text:
		if s, ok := text(raw); ok {
			return s
		}
	case Ints:
		parts := make([]string, 0, len(raw)/int(max(f.ElemSize, 1)))
		for i := 0; f.ElemSize > 0 && i+int(f.ElemSize) <= len(raw); i += int(f.ElemSize) {
			x := readUint(raw[i : i+int(f.ElemSize)])
			if f.ElemSigned {
				parts = append(parts, strconv.FormatInt(signExtend(x, 8*f.ElemSize), 10))
			} else {
				parts = append(parts, strconv.FormatUint(x, 10))
			}
		}
		return strings.Join(parts, ",")
	}
	return hex.EncodeToString(raw)
}

// text returns a char array's string up to its first NUL, if it is
// printable UTF-8.
func text(raw []byte) (string, bool) {
	if i := strings.IndexByte(string(raw), 0); i >= 0 {
		raw = raw[:i]
	}
	s := string(raw)
	if !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", false
		}
	}
	return s, true
}
