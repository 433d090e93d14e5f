package kernel

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// ctxTypesObject is internal/kernel/ctxbtf/ctx_types.o: the BTF of the
// program contexts of linux/bpf.h, built by clang from the UAPI header.
//
//go:embed ctxbtf/ctx_types.o
var ctxTypesObject []byte

// contextTypeNames are the contexts of waggle's kernel BTF, taken from
// ctx_types.o: a program that declares its own (partial) definition of one
// with preserve_access_index, as cilium/ebpf's tcprtt_sockops example
// declares struct bpf_sock_ops, reads the fields where the kernel's
// structure, and so waggle's context, has them.
var contextTypeNames = []string{"__sk_buff", "xdp_md", "bpf_sock", "bpf_sock_addr", "bpf_sock_ops"}

// contextTypes returns the contexts' types for waggle's kernel BTF.
func contextTypes() ([]btf.Type, error) {
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(ctxTypesObject))
	if err != nil {
		return nil, fmt.Errorf("the contexts' BTF: %w", err)
	}
	out := make([]btf.Type, 0, len(contextTypeNames))
	for _, name := range contextTypeNames {
		var s *btf.Struct
		if err := spec.TypeByName(name, &s); err != nil {
			return nil, fmt.Errorf("the contexts' BTF: struct %s: %w", name, err)
		}
		out = append(out, s)
	}
	return out, nil
}
