package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// CORESentinel is the helper ID of an instruction that a CO-RE relocation
// could not be resolved for (libbpf's and cilium/ebpf's poison, 0xbad2310):
// RelocateCORE turns such an instruction into a call of it (an lddw keeps
// its form and loads it), and the verifier refuses a path that reaches it.
const CORESentinel = btf.COREBadRelocationSentinel

// RelocateCORE resolves the CO-RE relocations of a program's instructions
// (cilium/ebpf's, which carry them as metadata) against waggle's kernel
// BTF (KernelBTF), in place: insns must be the caller's own copy. It is
// what the kernel's loaders do against vmlinux's BTF, with waggle as the
// kernel:
//
//   - a relocation of a type waggle describes (task_struct, the syscall
//     tracepoints' contexts, ...) takes waggle's offset, size or value; one
//     of a field or value waggle lacks poisons its instruction, and
//     unresolved maps the instruction's index to the reason, naming the
//     field: the verifier refuses the program if a path reaches it (code
//     that bpf_core_field_exists guards is not refused);
//   - bpf_core_type_exists, bpf_core_field_exists and
//     bpf_core_enum_value_exists of what waggle does not describe are 0;
//   - the offsets and sizes of a type waggle does not describe at all keep
//     the object's values: such a type is memory the program lays out
//     itself (a copy of user memory, a packet header, a struct of the
//     UAPI), never a structure of waggle's, which programs reach only
//     through the types above.
func RelocateCORE(insns asm.Instructions) (unresolved map[int]string, err error) {
	var relos []*btf.CORERelocation
	var index []int
	for i := range insns {
		if r := btf.CORERelocationMetadata(&insns[i]); r != nil {
			relos = append(relos, r)
			index = append(index, i)
		}
	}
	if len(relos) == 0 {
		return nil, nil
	}
	spec, err := KernelBTF()
	if err != nil {
		return nil, fmt.Errorf("waggle's kernel BTF: %w", err)
	}
	locals, err := btf.NewBuilder(nil, nil)
	if err != nil {
		return nil, err
	}
	fixups, err := btf.CORERelocate(relos, []*btf.Spec{spec}, hostByteOrder(), locals.Add)
	if err != nil {
		return nil, fmt.Errorf("CO-RE relocations: %w", err)
	}
	for i, f := range fixups {
		ins := &insns[index[i]]
		r, err := parseRelocation(relos[i])
		if err != nil {
			return nil, err
		}
		trial := *ins
		if err := f.Apply(&trial); err != nil {
			return nil, fmt.Errorf("instruction %d: CO-RE relocation %s: %w", index[i], r, err)
		}
		if !isPoison(trial) {
			*ins = trial
			continue
		}
		if !describes(spec, r.typ) {
			continue // the program's own layout: see above
		}
		if unresolved == nil {
			unresolved = map[int]string{}
		}
		unresolved[index[i]] = r.why(spec)
		if ins.OpCode.IsDWordLoad() {
			ins.Constant = CORESentinel
		} else {
			meta := ins.Metadata
			*ins = asm.BuiltinFunc(CORESentinel).Call()
			ins.Metadata = meta
		}
	}
	return unresolved, nil
}

// RelocatedInstructions returns insns with their CO-RE relocations
// resolved (RelocateCORE) in a copy, or insns itself when it has none, and
// the unresolved instructions.
func RelocatedInstructions(insns asm.Instructions) (asm.Instructions, map[int]string, error) {
	has := false
	for i := range insns {
		if btf.CORERelocationMetadata(&insns[i]) != nil {
			has = true
			break
		}
	}
	if !has {
		return insns, nil, nil
	}
	out := slices.Clone(insns)
	unresolved, err := RelocateCORE(out)
	if err != nil {
		return nil, nil, err
	}
	return out, unresolved, nil
}

// hostByteOrder is the host's byte order as cilium/ebpf's BTF compares
// it (binary.NativeEndian is a type of its own).
func hostByteOrder() binary.ByteOrder {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

// isPoison reports whether cilium/ebpf's COREFixup.Apply poisoned ins.
func isPoison(ins asm.Instruction) bool {
	if ins.IsBuiltinCall() && ins.Constant == CORESentinel {
		return true
	}
	return ins.OpCode.IsDWordLoad() && ins.Dst == asm.R10 && ins.Constant == CORESentinel
}

// describes reports whether waggle's kernel BTF has a type of t's name
// (without a ___flavour suffix).
func describes(spec *btf.Spec, t btf.Type) bool {
	name := essentialName(t)
	if name == "" {
		return false
	}
	_, err := spec.AnyTypesByName(name)
	return err == nil
}

func essentialName(t btf.Type) string {
	name := t.TypeName()
	if i := strings.LastIndex(name, "___"); i > 0 {
		name = name[:i]
	}
	return name
}

// relocation is what a CO-RE relocation says: its kind, the local type
// and the accessor (a path of member and array indexes).
type relocation struct {
	kind     string
	typ      btf.Type
	accessor []int
}

// coreKinds name cilium/ebpf's coreKind values (libbpf's enum
// bpf_core_relo_kind), in order.
var coreKinds = []string{"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
	"local_type_id", "target_type_id", "type_exists", "type_size", "enumval_exists", "enumval_value", "type_matches"}

// parseRelocation reads a CORERelocation, whose fields cilium/ebpf does
// not export (TestRelocateCOREReadsRelocations fails if they change).
func parseRelocation(cr *btf.CORERelocation) (relocation, error) {
	bad := errors.New("waggle cannot read cilium/ebpf's CO-RE relocations (its btf.CORERelocation changed)")
	v := reflect.ValueOf(cr).Elem()
	k, t, a := v.FieldByName("kind"), v.FieldByName("typ"), v.FieldByName("accessor")
	if !k.IsValid() || !t.IsValid() || !a.IsValid() || k.Kind() != reflect.Uint32 || a.Kind() != reflect.Slice || t.Kind() != reflect.Interface {
		return relocation{}, bad
	}
	typ, ok := reflect.NewAt(t.Type(), unsafe.Pointer(t.UnsafeAddr())).Elem().Interface().(btf.Type)
	if !ok || typ == nil {
		return relocation{}, bad
	}
	r := relocation{kind: fmt.Sprintf("kind %d", k.Uint()), typ: typ}
	if k.Uint() < uint64(len(coreKinds)) {
		r.kind = coreKinds[k.Uint()]
	}
	for i := range a.Len() {
		r.accessor = append(r.accessor, int(a.Index(i).Int()))
	}
	return r, nil
}

// String is the relocation as libbpf logs it: "byte_off of struct
// task_struct.real_parent".
func (r relocation) String() string {
	return r.kind + " of " + r.subject()
}

// subject names what the relocation is about: the field's path, the
// type, or the enum value.
func (r relocation) subject() string {
	name := typeKindName(r.typ)
	switch {
	case strings.HasPrefix(r.kind, "enumval"):
		if e, ok := btf.UnderlyingType(r.typ).(*btf.Enum); ok && len(r.accessor) == 1 && r.accessor[0] < len(e.Values) {
			return name + "::" + e.Values[r.accessor[0]].Name
		}
		return name
	case strings.HasPrefix(r.kind, "type") || strings.HasSuffix(r.kind, "type_id"):
		return name
	}
	path, _ := r.fieldPath()
	return name + path
}

// fieldPath is the accessor as C (".real_parent", ".args[1]") and the
// names of its members.
func (r relocation) fieldPath() (string, []string) {
	var b strings.Builder
	var names []string
	if len(r.accessor) > 0 && r.accessor[0] != 0 {
		fmt.Fprintf(&b, "[%d]", r.accessor[0])
	}
	t := r.typ
	for _, a := range r.accessor[min(1, len(r.accessor)):] {
		switch u := btf.UnderlyingType(t).(type) {
		case *btf.Struct:
			if a >= len(u.Members) {
				return b.String(), names
			}
			t = u.Members[a].Type
			if u.Members[a].Name != "" {
				b.WriteString("." + u.Members[a].Name)
				names = append(names, u.Members[a].Name)
			}
		case *btf.Union:
			if a >= len(u.Members) {
				return b.String(), names
			}
			t = u.Members[a].Type
			if u.Members[a].Name != "" {
				b.WriteString("." + u.Members[a].Name)
				names = append(names, u.Members[a].Name)
			}
		case *btf.Array:
			fmt.Fprintf(&b, "[%d]", a)
			t = u.Type
		default:
			return b.String(), names
		}
	}
	return b.String(), names
}

// why explains a relocation that waggle's kernel BTF cannot resolve,
// naming the missing field, type or value and what waggle has instead.
func (r relocation) why(spec *btf.Spec) string {
	msg := fmt.Sprintf("CO-RE relocation %s: ", r)
	if strings.HasPrefix(r.kind, "enumval") {
		return msg + "waggle's kernel has no such value of " + typeKindName(r.typ)
	}
	if !strings.HasPrefix(r.kind, "byte") && r.kind != "signed" && !strings.HasSuffix(r.kind, "shift_u64") && r.kind != "field_exists" {
		return msg + "waggle's kernel type " + essentialName(r.typ) + " does not match the program's"
	}
	// Walk the target along the field names to the first one missing.
	targets, err := spec.AnyTypesByName(essentialName(r.typ))
	if err != nil || len(targets) == 0 {
		return msg + "waggle's kernel has no " + typeKindName(r.typ)
	}
	_, names := r.fieldPath()
	t := targets[0]
	for _, name := range names {
		members, owner := membersOf(t)
		if members == nil {
			break
		}
		found := false
		for _, m := range members {
			if m.Name == name {
				t, found = m.Type, true
				break
			}
		}
		if !found {
			have := make([]string, 0, len(members))
			for _, m := range members {
				have = append(have, m.Name)
			}
			return msg + fmt.Sprintf("waggle does not provide field %s of %s (waggle's %s has only %s), so the program cannot read it", name, owner, owner, strings.Join(have, ", "))
		}
	}
	return msg + "the field's type in waggle's kernel differs from the program's"
}

// membersOf returns the members of a struct or union (through pointers
// and typedefs, as a field path goes) and the type's name.
func membersOf(t btf.Type) ([]btf.Member, string) {
	for range 8 {
		switch u := btf.UnderlyingType(t).(type) {
		case *btf.Pointer:
			t = u.Target
		case *btf.Array:
			t = u.Type
		case *btf.Struct:
			return u.Members, typeKindName(u)
		case *btf.Union:
			return u.Members, typeKindName(u)
		default:
			return nil, ""
		}
	}
	return nil, ""
}

// typeKindName names a type as C does: "struct task_struct".
func typeKindName(t btf.Type) string {
	switch u := t.(type) {
	case *btf.Struct:
		return "struct " + u.Name
	case *btf.Union:
		return "union " + u.Name
	case *btf.Enum:
		return "enum " + u.Name
	}
	if t.TypeName() != "" {
		return t.TypeName()
	}
	return fmt.Sprint(t)
}
