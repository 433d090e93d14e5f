package isa

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/asm"
)

// FromCilium converts instructions built or loaded with cilium/ebpf. Map
// references and other symbols that cilium/ebpf has not resolved are encoded
// as they stand (usually with a zero or -1 immediate): a loader resolves them
// first.
func FromCilium(insns asm.Instructions) (Instructions, error) {
	var buf bytes.Buffer
	for i, ins := range insns {
		if _, err := ins.Marshal(&buf, binary.LittleEndian); err != nil {
			return nil, fmt.Errorf("convert cilium/ebpf instruction %d (%v): %w", i, ins, err)
		}
	}
	return Decode(buf.Bytes())
}
