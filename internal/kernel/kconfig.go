package kernel

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// KconfigName is the name of the map that holds the values of an object's
// .kconfig externs (extern ... __kconfig), as libbpf and cilium/ebpf name
// it.
const KconfigName = ".kconfig"

// kconfigValues are the .kconfig externs waggle gives, as libbpf gives
// them from the running kernel's configuration. LINUX_HAS_BPF_COOKIE is
// true: bpf_get_attach_cookie is a helper of the tracing programs, so
// libbpf's usdt.bpf.h finds a USDT site's argument spec by the attach
// cookie.
var kconfigValues = map[string]uint64{
	"LINUX_HAS_BPF_COOKIE": 1,
}

// KconfigSpec is the map of the .kconfig externs that ds (the object's
// .kconfig section in its BTF) lays out: a read-only array of one element
// holding their values. An extern waggle does not give is an error that
// names it and lists those it gives.
func KconfigSpec(ds *btf.Datasec) (*ebpf.MapSpec, error) {
	if ds.Size == 0 || ds.Size > 1<<16 {
		return nil, fmt.Errorf("section .kconfig: its BTF gives it %d bytes", ds.Size)
	}
	data := make([]byte, ds.Size)
	var missing []string
	for _, v := range ds.Vars {
		vr, ok := v.Type.(*btf.Var)
		if !ok {
			return nil, fmt.Errorf("section .kconfig: a member of type %T, not a variable", v.Type)
		}
		if uint64(v.Offset)+uint64(v.Size) > uint64(len(data)) {
			return nil, fmt.Errorf("extern %s (__kconfig): its %d bytes at offset %d are past the end of .kconfig (%d bytes)", vr.Name, v.Size, v.Offset, len(data))
		}
		val, ok := kconfigValues[vr.Name]
		if !ok {
			missing = append(missing, vr.Name)
			continue
		}
		switch v.Size {
		case 1, 2, 4, 8:
			storeLE(data[v.Offset:v.Offset+v.Size], uint64(v.Size), val)
		default:
			return nil, fmt.Errorf("extern %s (__kconfig): %d bytes; waggle gives it as an integer of 1, 2, 4 or 8 bytes", vr.Name, v.Size)
		}
	}
	if len(missing) > 0 {
		known := make([]string, 0, len(kconfigValues))
		for k := range kconfigValues {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("extern %s (__kconfig): waggle does not give it (the .kconfig externs it gives: %s)", strings.Join(missing, ", "), strings.Join(known, ", "))
	}
	return &ebpf.MapSpec{
		Name: KconfigName, Type: ebpf.Array, KeySize: 4, ValueSize: ds.Size, MaxEntries: 1,
		Flags:    bpfFRdonlyProg,
		Key:      &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed},
		Value:    ds,
		Contents: []ebpf.MapKV{{Key: uint32(0), Value: data}},
	}, nil
}

// bpfFRdonlyProg is BPF_F_RDONLY_PROG: programs may only read the map.
const bpfFRdonlyProg = 1 << 7

// KconfigLoad reports whether ins loads a .kconfig extern, with the
// .kconfig section's BTF and the extern's offset in it. cilium/ebpf's
// reader marks such a load (a map value load that names no map) with
// metadata of an unexported type, kconfigMeta{Map *MapSpec; Offset
// uint32}, read here by reflection (TestKconfigExtern, in the root package, fails if
// cilium/ebpf changes it).
func KconfigLoad(ins asm.Instruction) (ds *btf.Datasec, off uint32, ok bool) {
	if !ins.IsLoadFromMap() || ins.Reference() != "" {
		return nil, 0, false
	}
	for e := reflect.ValueOf(&ins.Metadata).Elem().FieldByName("head"); e.IsValid() && e.Kind() == reflect.Pointer && !e.IsNil(); e = e.Elem().FieldByName("next") {
		key, val := e.Elem().FieldByName("key"), e.Elem().FieldByName("value")
		if !key.IsValid() || !val.IsValid() || key.Kind() != reflect.Interface || val.Kind() != reflect.Interface || key.IsNil() || val.IsNil() {
			continue
		}
		if key.Elem().Type().Name() != "kconfigMetaKey" {
			continue
		}
		m := val.Elem()
		if m.Kind() != reflect.Pointer || m.IsNil() || m.Elem().Kind() != reflect.Struct {
			return nil, 0, false
		}
		mp, o := m.Elem().FieldByName("Map"), m.Elem().FieldByName("Offset")
		if !mp.IsValid() || !o.IsValid() || o.Kind() != reflect.Uint32 || mp.Type() != reflect.TypeFor[*ebpf.MapSpec]() || mp.IsNil() {
			return nil, 0, false
		}
		spec := (*ebpf.MapSpec)(unsafe.Pointer(mp.Pointer()))
		ds, isDS := spec.Value.(*btf.Datasec)
		if !isDS {
			return nil, 0, false
		}
		return ds, uint32(o.Uint()), true
	}
	return nil, 0, false
}
