package isa

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cilium/ebpf/asm"
)

// FromCilium converts instructions built or loaded with cilium/ebpf. Jumps
// and bpf-to-bpf calls to symbols are resolved as cilium/ebpf resolves them
// for the kernel; map references that no map is associated with keep their
// placeholder immediate, for a loader to resolve. insns is not modified.
func FromCilium(insns asm.Instructions) (Instructions, error) {
	var buf bytes.Buffer
	if err := slices.Clone(insns).Marshal(&buf, binary.LittleEndian); err != nil {
		return nil, fmt.Errorf("convert cilium/ebpf instructions: %w", err)
	}
	return Decode(buf.Bytes())
}
