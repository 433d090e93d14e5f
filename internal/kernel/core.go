package kernel

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// ctxTypesObject is internal/kernel/ctxbtf/ctx_types.o: BTF of the
// program contexts of linux/bpf.h (__sk_buff, xdp_md, bpf_sock,
// bpf_sock_addr, bpf_sock_ops).
//
//go:embed ctxbtf/ctx_types.o
var ctxTypesObject []byte

var ctxTypes = sync.OnceValues(func() (*btf.Spec, error) {
	return btf.LoadSpecFromReader(bytes.NewReader(ctxTypesObject))
})

// RelocateContexts applies the CO-RE relocations of insns that refer to
// the program contexts (a structure such as struct bpf_sock_ops declared
// with preserve_access_index, perhaps with only some of its fields), as
// the kernel's loader does against its own BTF: an access to a field
// moves to the field's offset in the kernel's structure, which is
// waggle's. It returns insns when there is nothing to relocate, else a
// copy. Relocations against other types (kernel structures a tracing
// program reads) are left as they are: waggle has no kernel BTF to
// relocate them against.
func RelocateContexts(insns asm.Instructions) (asm.Instructions, error) {
	var idx []int
	for i := range insns {
		if btf.CORERelocationMetadata(&insns[i]) != nil {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return insns, nil
	}
	target, err := ctxTypes()
	if err != nil {
		return nil, fmt.Errorf("waggle's context types: %w", err)
	}
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		return nil, err
	}
	out := make(asm.Instructions, len(insns))
	copy(out, insns)
	for _, i := range idx {
		relo := btf.CORERelocationMetadata(&out[i])
		fixups, err := btf.CORERelocate([]*btf.CORERelocation{relo}, []*btf.Spec{target}, binary.LittleEndian, b.Add)
		if err != nil || len(fixups) != 1 {
			continue // not a context: left as it is
		}
		ins := out[i]
		if err := fixups[0].Apply(&ins); err != nil {
			return nil, fmt.Errorf("instruction %d: CO-RE relocation %s: %w", i, relo, err)
		}
		if ins.IsBuiltinCall() && ins.Constant == btf.COREBadRelocationSentinel ||
			ins.IsConstantLoad(asm.DWord) && ins.Dst == asm.R10 && ins.Constant == btf.COREBadRelocationSentinel {
			continue // no such type among the contexts: left as it is
		}
		out[i] = ins
	}
	return out, nil
}
